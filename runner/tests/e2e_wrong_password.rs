//! A firmware given a wrong broker password: the connack check fails and names CONNACK 5 "not authorized".

mod common;
use common::*;

#[test]
fn wrong_password_is_reported_as_connack_5_by_name() {
    let broker = Mosquitto::start();
    let fx = Fixture::new();
    let scenario = fx.write(
        "wrong.toml",
        &short_scenario(
            "wrong-password",
            12.6,
            0,
            "credentials = \"wrong-password\"",
        ),
    );
    let report = fx.path("report");
    let out = run_hil(
        &scenario,
        &report,
        &["--broker", &broker.url()],
        &[("HIL_MQTT_PASSWORD", &broker.password)],
    );
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed check must exit 1\n{all}"
    );
    assert!(
        all.contains("expected CONNACK 0 (accepted), saw CONNACK 5 (not authorized)"),
        "{all}"
    );
    let events = std::fs::read_to_string(report.join("wrong-password/events.jsonl")).unwrap();
    assert!(
        events.contains("mqtt connack=5 not authorized"),
        "the console line is recorded"
    );
    assert!(
        !events.contains("\"kind\":\"reading\""),
        "a refused board publishes nothing"
    );
}
