//! The hardware path end to end, against `hil bench up`'s twin lab in another process: `hil run --rig` drives
//! the SCPI supply, flashes and deploys the board over its pty (ROM loader, raw REPL, reset lines on a side
//! channel), uses the rig's broker and secrets, holds the bench's lock against a second run, and leaves the
//! supply's output off, as read back from the instrument itself.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn hil_run_with_a_rig_file_drives_a_bench_in_another_process() {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let bench = start_bench_up(&rig, &[]);
    let rig_text = std::fs::read_to_string(&rig).unwrap();
    let address = rig_field(&rig_text, "address");

    // Real time: 30 s with 8 s sleeps.
    let scenario = fx.write(
        "rigrun.toml",
        "name = \"rigrun\"\nduration = \"30s\"\n[firmware]\nsleep = \"8s\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
         [expect]\nreadings = { within_volts = 0.15, min_count = 3 }\nperiod = { nominal = \"10s\", tolerance = \"30%\" }\nconnack = 0\n",
    );
    let report = fx.path("report");
    let first = spawn_hil(
        &rig_run_args(&rig, &scenario, &report),
        &[("HIL_STATE_DIR", fx.path("state").to_str().unwrap())],
    );
    let events = report.join("rigrun/events.jsonl");
    wait_for_file(&events, Duration::from_secs(30));
    let second = hil_on_rig(&rig, &scenario, &fx.path("r2"), &fx.path("state"));
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(
        text(&second).contains("is in use: pid"),
        "the second run says who holds the bench:\n{}",
        text(&second)
    );

    let out = first.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = std::fs::read_to_string(&events).unwrap();
    for kind in [
        "\"kind\":\"board.flash\"",
        "\"kind\":\"board.deploy\"",
        "\"kind\":\"reading\"",
    ] {
        assert!(log.contains(kind), "no {kind} in the log");
    }
    let output = scpi(&address, ":OUTP? CH1");
    assert!(
        output.eq_ignore_ascii_case("OFF") || output == "0",
        "the supply output must be off after the run: {output:?}"
    );

    stop_bench(bench);
}

/// Two scenario channels on a rig with two: each board is driven and judged on its own channel (a board judged
/// against the other's 1 V-different channel would fail readings.accuracy), and both end in the rig's safe
/// state, here `safe_volts`: on at that voltage.
#[test]
fn a_two_channel_scenario_drives_each_rig_channel_and_leaves_them_at_safe_volts() {
    let fx = Fixture::new();
    let up = fx.path("up.toml");
    let bench = start_bench_up(&up, &["--boards", "2", "--channels", "2"]);
    let up_text = std::fs::read_to_string(&up).unwrap();
    let address = rig_field(&up_text, "address");
    assert!(up_text.contains("supply = \"twin:2\""), "{up_text}");
    let rig = fx.write(
        "lab.toml",
        &edit_rig(&up_text, |rig| {
            let twin = rig["supply"]["twin"].as_table_mut().unwrap();
            twin.insert("safe_volts".into(), 12.0.into());
        }),
    );

    let scenario = fx.write(
        "channels.toml",
        "name = \"channels\"\nduration = \"25s\"\n[firmware]\nsleep = \"8s\"\n[supply]\ncurrent_limit = 0.4\n\
         [[supply.channel]]\nboards = 1\nprofile = [{ at = \"0s\", volts = 13.4 }]\n\
         [[supply.channel]]\nboards = 1\nprofile = [{ at = \"0s\", volts = 12.2 }]\n\
         [expect]\nreadings = { within_volts = 0.15, min_count = 2 }\nconnack = 0\n",
    );
    let report = fx.path("report");
    let out = hil(&rig_run_args(&rig, &scenario, &report), &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = std::fs::read_to_string(report.join("channels/events.jsonl")).unwrap();
    for (board, supply, volts) in [("twin-0", "twin:1", 13.4), ("twin-1", "twin:2", 12.2)] {
        let entry = log
            .split(&format!("\"name\":\"{board}\""))
            .nth(1)
            .and_then(|rest| rest.split('}').next())
            .unwrap_or_else(|| panic!("{board} not in the log:\n{log}"));
        assert!(
            entry.contains(&format!("\"supply\":\"{supply}\"")),
            "{board} on {supply}: {entry}"
        );
        assert!(
            log.contains(&format!(
                "\"kind\":\"supply.set\",\"supply\":\"{supply}\",\"volts\":{volts}"
            )),
            "{supply} set to {volts} V:\n{log}"
        );
    }
    for channel in [1, 2] {
        let output = scpi(&address, &format!(":OUTP? CH{channel}"));
        let volts = scpi(&address, &format!(":SOUR{channel}:VOLT?"));
        assert!(
            (output.eq_ignore_ascii_case("ON") || output == "1") && volts.parse() == Ok(12.0),
            "CH{channel} must be on at safe_volts = 12.0 after the run: {output:?} {volts:?}"
        );
    }

    stop_bench(bench);
}
