//! `hil run --rig` through each kind of supply driver, against `hil bench up --supply …`: a DP832 on its RS-232
//! port (SCPI on a pty), a Korad KA3005P and a Riden RD6006 (Modbus RTU), each on a pty. The run passes, the
//! profile's step reaches the instrument and the samples read it back through the same driver.

mod common;
use common::*;

fn run_through(supply: &str) {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let bench = start_bench_up(&rig, &["--supply", supply]);
    let rig_text = std::fs::read_to_string(&rig).unwrap();
    assert!(
        rig_field(&rig_text, "address").starts_with("serial:///dev/"),
        "{rig_text}"
    );
    let scenario = fx.write(
        "through.toml",
        "name = \"through\"\nduration = \"20s\"\n[firmware]\nsleep = \"5s\"\n[supply]\n\
         profile = [{ at = \"0s\", volts = 12.6 }, { at = \"10s\", volts = 12.2 }]\n\
         [expect]\nreadings = { within_volts = 0.15, min_count = 2 }\nconnack = 0\n",
    );
    let report = fx.path("report");
    let out = hil(&rig_run_args(&rig, &scenario, &report), &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{supply}: {all}");
    let log = std::fs::read_to_string(report.join("through/events.jsonl")).unwrap();
    let samples: Vec<f64> = log
        .lines()
        .filter(|l| l.contains("\"kind\":\"supply.sample\""))
        .filter_map(|l| {
            let v = l.split("\"volts\":").nth(1)?;
            v.split([',', '}']).next()?.parse().ok()
        })
        .collect();
    assert!(
        samples.iter().any(|v| (v - 12.6).abs() < 0.05)
            && samples.iter().any(|v| (v - 12.2).abs() < 0.05),
        "{supply}: samples must read back both steps: {samples:?}"
    );
    assert!(
        !log.contains("\"kind\":\"supply.error\""),
        "{supply}: {log}"
    );
    stop_bench(bench);
}

#[test]
fn a_run_drives_a_dp832_over_rs232() {
    run_through("scpi-serial");
}

#[test]
fn a_run_drives_a_korad_ka3005p() {
    run_through("korad");
}

#[test]
fn a_run_drives_a_riden_rd6006() {
    run_through("riden");
}
