//! Awake windows read off the twin supply's current trace (through its SCPI server) match the twin boards' true
//! awake time within the supply's refresh plus one sample period, and the awake check uses them.

mod common;
use common::*;
use model::checks::current::awake_windows;
use serde_json::Value;

/// The twin supply refreshes its readings every 0.4 s of device time (as a DP832 does, ~2.5 Hz), the rig samples
/// every 0.2 s, and event stamping adds a few wall-clock milliseconds (× the speed).
const ALLOWED_ERROR_S: f64 = 0.4 + 0.2 + 0.1;

#[test]
fn current_trace_windows_match_the_twin_ground_truth() {
    let fx = Fixture::new();
    let scenario = fx.write(
        "awake.toml",
        &short_scenario("awake", 12.8, 0, "")
            .replace("connack = 0", "connack = 0\nawake = { max = \"8s\" }"),
    );
    let report = fx.path("report");
    let out = run_hil(&scenario, &report, &[], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("from the supply current")
            || std::fs::read_to_string(report.join("awake/events.jsonl"))
                .unwrap()
                .contains("from the supply current")
    );

    let events: Vec<Value> = std::fs::read_to_string(report.join("awake/events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let trace: Vec<(f64, f64)> = events
        .iter()
        .filter(|e| e["kind"] == "supply.sample")
        .map(|e| (e["t"].as_f64().unwrap(), e["amps"].as_f64().unwrap()))
        .collect();
    let mut truth = Vec::new();
    let mut woke = None;
    for e in events.iter().filter(|e| e["kind"] == "twin.load") {
        match (e["state"].as_str().unwrap(), woke) {
            ("awake", None) => woke = e["t"].as_f64(),
            ("asleep" | "off", Some(start)) => {
                truth.push((start, e["t"].as_f64().unwrap()));
                woke = None;
            }
            _ => {}
        }
    }
    let (measured, _) = awake_windows(&trace).expect("the current trace shows wakes");
    assert!(truth.len() >= 4, "ground truth: {truth:?}");
    let mut worst: f64 = 0.0;
    for (start, end) in &truth {
        let m = measured
            .iter()
            .find(|(s, e)| s < end && start < e)
            .unwrap_or_else(|| {
                panic!("no measured window overlaps the true one {start}..{end}: {measured:?}")
            });
        worst = worst.max((m.0 - start).abs()).max((m.1 - end).abs());
    }
    assert!(
        worst <= ALLOWED_ERROR_S,
        "edges off by up to {worst:.3}s (allowed {ALLOWED_ERROR_S}s)"
    );
}
