//! A run stopped by SIGTERM turns the supply off and closes its log; a run killed with SIGKILL leaves a log in
//! which every complete line is valid and which `hil check` can still judge.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

fn long_scenario(fx: &Fixture) -> std::path::PathBuf {
    fx.write(
        "long.toml",
        &short_scenario("long", 12.6, 0, "").replace("duration = \"3m\"", "duration = \"20m\""),
    )
}

/// Starts `hil run` and waits until its event log shows the first reading.
fn start_run(fx: &Fixture) -> (std::process::Child, std::path::PathBuf) {
    let scenario = long_scenario(fx);
    let report = fx.path("report");
    let child = spawn_hil(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--speed",
            TEST_SPEED,
            "--quiet",
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    let events = report.join("long/events.jsonl");
    wait_for_log(&events, "\"kind\":\"reading\"", Duration::from_secs(30));
    (child, events)
}

fn parsed_lines(events: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(events).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let complete = if text.ends_with('\n') {
        lines.len()
    } else {
        lines.len().saturating_sub(1)
    };
    lines[..complete]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid line {l:?}: {e}")))
        .collect()
}

#[test]
fn sigterm_turns_the_supply_off_and_closes_the_log() {
    let fx = Fixture::new();
    let (child, events) = start_run(&fx);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an interrupted run is not a pass\n{all}"
    );
    assert!(all.contains("terminated: stopping"), "{all}");
    let lines = parsed_lines(&events);
    let off = lines
        .iter()
        .rposition(|l| l["kind"] == "supply.set" && l["output"] == false)
        .expect("the supply was turned off");
    let end = lines
        .iter()
        .position(|l| l["kind"] == "scenario.end")
        .expect("the log was closed");
    assert!(off < end, "the supply went off before the scenario ended");
    let last_t = lines[end]["t"].as_f64().unwrap();
    assert!(last_t < 20.0 * 60.0, "stopped early, at t={last_t}");
}

#[test]
fn sigkill_leaves_a_log_that_can_still_be_judged() {
    let fx = Fixture::new();
    let (mut child, events) = start_run(&fx);
    child.kill().unwrap();
    child.wait().unwrap();
    let lines = parsed_lines(&events);
    assert!(lines.iter().any(|l| l["kind"] == "reading"));
    let out = hil(
        &[
            "check",
            events.to_str().unwrap(),
            "--scenario",
            long_scenario(&fx).to_str().unwrap(),
        ],
        &[],
    );
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "hil check must judge the log, not refuse it\n{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("readings.accuracy"),
        "{}",
        text(&out)
    );
}
