//! The broker process dies mid-run and comes back: the run neither crashes nor hangs, the monitor reconnects, and
//! the firmware's backlog brings every reading home late — nothing is lost.

mod common;
use common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn a_killed_and_restarted_broker_loses_no_reading() {
    let mut broker = Mosquitto::start();
    let fx = Fixture::new();
    let scenario = fx.write(
        "crash.toml",
        &short_scenario("crash", 12.6, 0, "")
            .replace("duration = \"3m\"", "duration = \"5m\"")
            .replace("connack = 0", "connack = 0\nno_lost_readings = true"),
    );
    let report = fx.path("report");
    let run = hil_command()
        .args([
            "run",
            scenario.to_str().unwrap(),
            "--speed",
            TEST_SPEED,
            "--report",
            report.to_str().unwrap(),
        ])
        .args(["--broker", &broker.url()])
        .env("HIL_MQTT_PASSWORD", &broker.password)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let events = report.join("crash/events.jsonl");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&events)
        .unwrap_or_default()
        .matches("\"kind\":\"reading\"")
        .count()
        < 2
    {
        assert!(Instant::now() < deadline, "no readings within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Down for 3 s of wall time: 60 s of device time, two wakes at 30 s sleeps.
    broker.crash_and_restart(Duration::from_secs(3));
    let out = run.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = std::fs::read_to_string(&events).unwrap();
    assert!(
        log.contains("\"late\":true"),
        "readings kept while the broker was down arrive late:\n{all}"
    );
    assert!(
        log.contains("\"name\":\"no-lost-readings\",\"board\":\"twin-0\",\"pass\":true"),
        "the no-lost-readings check ran and passed:\n{all}"
    );
}
