//! Over-current protection on the hardware path: `hil run --rig` against `hil bench up` in another process arms
//! each channel's protection at the rig's `ocp_amps` before switching it on (read back from the twin instrument
//! over SCPI, and recorded as `supply.ocp`), and a trip level beyond the channel's limit is refused at its line.

mod common;
use common::*;

#[test]
fn a_rig_run_arms_each_channel_s_protection_at_its_ocp_amps() {
    let fx = Fixture::new();
    let up = fx.path("up.toml");
    let bench = start_bench_up(&up, &[]);
    let up_text = std::fs::read_to_string(&up).unwrap();
    let address = rig_field(&up_text, "address");
    assert_eq!(
        scpi(&address, ":OUTP:OCP? CH1"),
        "OFF",
        "disarmed before the run"
    );
    let with_ocp = |amps: f64| {
        edit_rig(&up_text, |rig| {
            let channel = rig["supply"]["twin"]["channels"]["1"]
                .as_table_mut()
                .unwrap();
            assert_eq!(channel["max_amps"].as_float(), Some(1.0), "{up_text}");
            channel.insert("ocp_amps".into(), amps.into());
        })
    };
    let rig = fx.write("lab.toml", &with_ocp(0.8));
    let scenario = fx.write(
        "ocp.toml",
        "name = \"ocp\"\nduration = \"12s\"\n[firmware]\nsleep = \"4s\"\n[supply]\ncurrent_limit = 0.4\n\
         profile = [{ at = \"0s\", volts = 12.6 }]\n[expect]\nconnack = 0\n",
    );

    let bad = fx.write("bad.toml", &with_ocp(1.5));
    let refused = hil(
        &[
            "validate",
            "--rig",
            bad.to_str().unwrap(),
            scenario.to_str().unwrap(),
        ],
        &[],
    );
    let said = text(&refused);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(
        said.contains("bad.toml:")
            && said.contains("ocp_amps 1.5 must be more than 0 and at most its max_amps 1"),
        "{said}"
    );

    let report = fx.path("report");
    let out = hil_on_rig(&rig, &scenario, &report, &fx.path("state"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = std::fs::read_to_string(report.join("ocp/events.jsonl")).unwrap();
    let armed = log
        .find("\"kind\":\"supply.ocp\",\"supply\":\"twin:1\",\"trip\":\"level\",\"amps\":0.8}")
        .unwrap_or_else(|| panic!("no supply.ocp at 0.8 A:\n{log}"));
    let on = log
        .find("\"kind\":\"supply.set\",\"supply\":\"twin:1\",\"output\":true")
        .unwrap_or_else(|| panic!("the output never went on:\n{log}"));
    assert!(armed < on, "armed before the output went on");
    assert!(!log.contains("supply.ocp_trip"), "{log}");
    assert_eq!(scpi(&address, ":OUTP:OCP? CH1"), "ON");
    assert_eq!(scpi(&address, ":OUTP:OCP:VAL? CH1"), "0.8000");
    assert_eq!(scpi(&address, ":OUTP:OCP:QUES? CH1"), "NO");

    stop_bench(bench);
}
