//! The default path (embedded broker) passes, and `hil check` re-judges its event log offline: the same log
//! passes, a tampered one fails.

mod common;
use common::*;

#[test]
fn embedded_run_then_offline_check_of_the_event_log() {
    let fx = Fixture::new();
    let scenario = fx.write("steady.toml", &short_scenario("steady", 13.2, 0, ""));
    let report = fx.path("report");
    let out = run_hil(&scenario, &report, &[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let events = report.join("steady/events.jsonl");

    let again = hil(
        &[
            "check",
            events.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(String::from_utf8_lossy(&again.stdout).contains("ok   readings.accuracy"));

    // Shift every reported voltage by a volt: the offline check must catch it.
    let tampered: String = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|line| {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["kind"] == "reading" {
                v["v"] = serde_json::json!(v["v"].as_f64().unwrap() + 1.0);
            }
            v.to_string() + "\n"
        })
        .collect();
    let tampered_path = fx.write("tampered.jsonl", &tampered);
    let judged = hil(
        &[
            "check",
            tampered_path.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(judged.status.code(), Some(1), "{}", text(&judged));
    assert!(String::from_utf8_lossy(&judged.stdout).contains("FAIL readings.accuracy"));
}

#[test]
fn spawned_mosquitto_mode_runs_a_scenario() {
    require("mosquitto", "apt-get install -y mosquitto");
    let fx = Fixture::new();
    let scenario = fx.write(
        "steady.toml",
        &short_scenario("steady-mosquitto", 12.2, 0, ""),
    );
    let report = fx.path("report");
    let out = run_hil(&scenario, &report, &["--broker", "mosquitto"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("broker: mosquitto"), "{all}");
}
