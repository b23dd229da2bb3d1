//! End to end against a Mosquitto the test starts with a password file: the firmware publishes through it, the
//! run passes, the keepalive on the wire is the configured one, and the password appears in no output.

mod common;
use common::*;

const WIFI_PASSWORD: &str = "wifi-secret-4711";

#[test]
fn a_run_against_mosquitto_passes_and_never_writes_the_password() {
    let broker = Mosquitto::start();
    let fx = Fixture::new();
    let scenario = fx.write(
        "s/float.toml",
        &short_scenario("float", 13.6, 0, "keepalive = \"45s\""),
    );
    let report = fx.path("report");
    let out = run_hil(
        &scenario,
        &report,
        &["--broker", &broker.url()],
        &[
            ("HIL_MQTT_PASSWORD", &broker.password),
            ("HIL_WIFI_PASSWORD", WIFI_PASSWORD),
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");

    let events = std::fs::read_to_string(report.join("float/events.jsonl")).unwrap();
    let readings = events
        .lines()
        .filter(|l| l.contains("\"kind\":\"reading\""))
        .count();
    assert!(
        readings >= 4,
        "expected ≥ 4 readings in the event log, got {readings}"
    );
    for line in events.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("bad JSON line {line}: {e}"));
    }
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    assert!(junit.contains("testcase name=\"float/twin-0\""), "{junit}");
    assert!(junit.contains("failures=\"0\" errors=\"0\""), "{junit}");

    // The firmware's CONNECT carried the scenario's keepalive, as Mosquitto logged it.
    let log = broker.log();
    assert!(
        log.contains("as twin-0 (p2, c1, k45, u'bench')"),
        "mosquitto log:\n{log}"
    );

    // The broker and WiFi passwords went to the board's config.json (the firmware connected with them), and
    // nowhere else: not the reports, events, JUnit, HTML or the console.
    assert!(!report.join("float").join("config.json").exists());
    for (path, contents) in files_under(&report) {
        let body = String::from_utf8_lossy(&contents);
        for (what, secret) in [
            ("broker", broker.password.as_str()),
            ("WiFi", WIFI_PASSWORD),
        ] {
            assert!(
                !body.contains(secret),
                "{} contains the {what} password",
                path.display()
            );
        }
    }
    for (what, secret) in [
        ("broker", broker.password.as_str()),
        ("WiFi", WIFI_PASSWORD),
    ] {
        assert!(
            !all.contains(secret),
            "the console output contains the {what} password"
        );
    }
}
