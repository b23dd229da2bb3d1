//! Firmware that is not ours: firmware/examples/umqtt-simple (umqtt.simple with its defaults, a bare number as
//! payload) run by `hil run` from the library's scenarios, which name it. The two field errors by name — keepalive
//! 0 refused with CONNACK 2, a wrong password with CONNACK 5, each an uncaught MQTTException on the console —, the
//! fix passing, and the checks that need a seq saying they were not judged on plain payloads.

mod common;
use common::*;
use model::events::{read_log, Body, Event};
use std::path::{Path, PathBuf};

fn library(name: &str) -> PathBuf {
    project_root()
        .join("scenarios")
        .join(format!("{name}.toml"))
}

fn events(report: &Path, scenario: &str) -> Vec<Event> {
    read_log(&report.join(scenario).join("events.jsonl")).unwrap()
}

/// (code, name, source) of every CONNACK in the log.
fn connacks(events: &[Event]) -> Vec<(u8, &str, &str)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            Body::Connack {
                code, name, source, ..
            } => Some((*code, name.as_str(), source.as_str())),
            _ => None,
        })
        .collect()
}

fn keepalives(events: &[Event]) -> Vec<u16> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            Body::Connect { keepalive, .. } => Some(*keepalive),
            _ => None,
        })
        .collect()
}

fn console(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            Body::Console { line, .. } => Some(line.as_str()),
            _ => None,
        })
        .collect()
}

/// (name, pass, judged, message) of every check verdict in the log.
fn checks(events: &[Event]) -> Vec<(&str, bool, bool, &str)> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            Body::Check {
                name,
                pass,
                judged,
                message,
                ..
            } => Some((name.as_str(), *pass, *judged, message.as_str())),
            _ => None,
        })
        .collect()
}

/// The console of a wake that ended in `exception`: MicroPython's traceback through umqtt.simple's connect(), then
/// its REPL, and no further wake (a single ROM banner).
fn assert_uncaught(lines: &[&str], exception: &str) {
    let at = lines
        .iter()
        .position(|l| *l == exception)
        .unwrap_or_else(|| panic!("no console line {exception:?}: {lines:#?}"));
    assert_eq!(
        lines[at - 3..at],
        [
            "Traceback (most recent call last):",
            "  File \"main.py\", line 40, in <module>",
            "  File \"umqtt/simple.py\", line 99, in connect",
        ],
        "{lines:#?}"
    );
    assert_eq!(
        lines.last(),
        Some(&">>> "),
        "the board sits at its REPL: {lines:#?}"
    );
    let boots = lines.iter().filter(|l| l.contains("rst cause:")).count();
    assert_eq!(boots, 1, "no wake after the exception: {lines:#?}");
}

#[test]
fn keepalive_zero_is_refused_with_connack_2_and_connect_raises_mqtt_exception_2() {
    let fx = Fixture::new();
    let report = fx.path("report");
    // The strict broker is the tap's fault: any broker behind it will do.
    let out = run_hil(
        &library("umqtt-keepalive-zero-refused"),
        &report,
        &["--broker", "embedded"],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = events(&report, "umqtt-keepalive-zero-refused");
    assert_eq!(keepalives(&log), [0], "umqtt.simple's default keepalive");
    assert_eq!(connacks(&log), [(2, "identifier rejected", "tap-fault")]);
    assert_uncaught(&console(&log), "MQTTException: 2");
    assert!(
        checks(&log)
            .iter()
            .all(|(_, pass, judged, _)| *pass && *judged),
        "{:#?}",
        checks(&log)
    );
}

#[test]
fn a_wrong_password_is_refused_with_connack_5_and_connect_raises_mqtt_exception_5() {
    let broker = Mosquitto::start();
    let fx = Fixture::new();
    let report = fx.path("report");
    let out = run_hil(
        &library("umqtt-wrong-password"),
        &report,
        &["--broker", &broker.url()],
        &[("HIL_MQTT_PASSWORD", &broker.password)],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = events(&report, "umqtt-wrong-password");
    assert_eq!(
        connacks(&log),
        [(5, "not authorized", "tap")],
        "Mosquitto's own refusal, relayed by the tap"
    );
    assert!(broker.log().contains("not authorised"), "{}", broker.log());
    assert_uncaught(&console(&log), "MQTTException: 5");
}

#[test]
fn a_keepalive_given_is_accepted_and_its_plain_readings_track_the_supply() {
    let fx = Fixture::new();
    let report = fx.path("report");
    let out = run_hil(
        &library("umqtt-keepalive-set"),
        &report,
        &["--broker", "embedded"],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = events(&report, "umqtt-keepalive-set");
    let ka = keepalives(&log);
    assert!(ka.len() >= 5 && ka.iter().all(|k| *k == 60), "{ka:?}");
    let readings: Vec<(f64, Option<u64>, f64)> = log
        .iter()
        .filter_map(|e| match &e.body {
            Body::Reading { seq, v, .. } => Some((e.t, *seq, *v)),
            _ => None,
        })
        .collect();
    assert!(readings.len() >= 5, "{readings:?}");
    for (t, seq, v) in &readings {
        assert_eq!(*seq, None, "a plain payload has no seq");
        // The profile: 12.6 V, 13.6 V from 105 s (wakes come about every 31 s: none near the step).
        let supply = if *t < 105.0 { 12.6 } else { 13.6 };
        assert!((v - supply).abs() <= 0.15, "{v} V at t={t}s: {readings:?}");
    }
    let verdicts = checks(&log);
    assert!(
        verdicts.iter().all(|(_, pass, judged, _)| *pass && *judged),
        "{verdicts:#?}"
    );
    assert!(verdicts
        .iter()
        .any(|(name, ..)| *name == "readings.accuracy"));
}

#[test]
fn checks_that_need_a_seq_say_they_were_not_judged_on_plain_counts() {
    let fx = Fixture::new();
    // The example publishing one raw ADC reading, taken before WiFi starts, instead of volts.
    let example = project_root().join("firmware/examples/umqtt-simple");
    for file in ["boot.py", "battery.py", "main.py"] {
        let text = std::fs::read_to_string(example.join(file)).unwrap();
        let text = match file {
            "main.py" => {
                let patched = text
                    .replace(
                        "print(\"battery %.2f V\" % volts)",
                        "counts = machine.ADC(0).read()",
                    )
                    .replace("\"%.2f\" % volts", "str(counts)");
                assert_ne!(patched, text, "the example changed: update this fixture");
                patched
            }
            _ => text,
        };
        fx.write(&format!("counts-app/{file}"), &text);
    }
    let scenario = fx.write(
        "scenarios/umqtt-counts.toml",
        r#"name = "umqtt-counts"
duration = "2m"

[firmware]
app = "../counts-app"
keepalive = "60s"
sleep = "30s"

[payload]
format = "plain"
unit = "counts"

[supply]
profile = [{ at = "0s", volts = 12.6 }]

[expect]
readings = { within_volts = 0.15, min_count = 3 }
no_lost_readings = true
low_battery = { below_volts = 11.8 }
"#,
    );
    let report = fx.path("report");
    let out = run_hil(&scenario, &report, &["--broker", "embedded"], &[]);
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "not judged fails the run\n{all}"
    );
    let log = events(&report, "umqtt-counts");
    // Counts become volts with the divider and full scale deployed to the board (1/16.2, 1.0 V).
    let readings: Vec<(Option<u64>, f64)> = log
        .iter()
        .filter_map(|e| match &e.body {
            Body::Reading { raw, v, .. } => Some((*raw, *v)),
            _ => None,
        })
        .collect();
    assert!(readings.len() >= 3, "{readings:?}");
    for (raw, v) in &readings {
        let raw = raw.expect("a counts payload keeps its counts");
        assert!(
            (raw as f64 * 16.2 / 1023.0 - v).abs() < 0.001,
            "{raw} → {v}"
        );
    }
    let verdicts = checks(&log);
    let of = |name: &str| {
        verdicts
            .iter()
            .find(|(n, ..)| *n == name)
            .copied()
            .unwrap_or_else(|| panic!("no {name} verdict: {verdicts:#?}"))
    };
    assert!(
        of("readings.count").1 && of("readings.accuracy").1,
        "{verdicts:#?}"
    );
    for (name, lacks) in [
        ("no-lost-readings", "seq"),
        ("low-battery", "low-battery flag"),
    ] {
        let (_, pass, judged, message) = of(name);
        assert!(!pass && !judged, "{name}: {verdicts:#?}");
        assert!(
            message.starts_with(&format!(
                "not judged: the payload format is plain counts, which carries no {lacks}"
            )),
            "{message}"
        );
    }
    let summary = std::fs::read_to_string(report.join("summary.txt")).unwrap();
    assert!(
        summary.contains("no-lost-readings[twin-0] (not judged), low-battery[twin-0] (not judged)"),
        "{summary}"
    );
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    assert!(
        junit.contains("NOT JUDGED no-lost-readings: not judged:"),
        "{junit}"
    );
    assert!(junit.contains("<failure"), "{junit}");
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(
        html.contains(
            "<tr class=\"fail unjudged\"><td>no-lost-readings</td><td class=\"result fail unjudged\">not judged</td>"
        ),
        "{html}"
    );
}

#[test]
fn a_missing_app_folder_and_a_bad_payload_format_are_located() {
    let fx = Fixture::new();
    fx.write("app/main.py", "print('hello')\n");
    let scenario = |firmware: &str, payload: &str| {
        format!(
            "name = \"s\"\nduration = \"1m\"\n[firmware]\n{firmware}\n{payload}\n[supply]\nprofile = [{{ at = \"0s\", volts = 12.6 }}]\n"
        )
    };
    for (name, text, at, says) in [
        (
            "missing.toml",
            scenario("app = \"../no-such-app\"", ""),
            ":4:7",
            "no firmware folder at",
        ),
        (
            "payload.toml",
            scenario(
                "app = \"../app\"",
                "[payload]\nformat = \"plain\"\nunit = \"volt\"",
            ),
            ":7:8",
            "unknown variant `volt`, expected one of `volts`, `millivolts`, `counts`",
        ),
    ] {
        let path = fx.write(&format!("scenarios/{name}"), &text);
        let out = hil(&["validate", path.to_str().unwrap()], &[]);
        let all = common::text(&out);
        assert_eq!(out.status.code(), Some(2), "{all}");
        assert!(all.contains(&format!("{name}{at}: ")), "{all}");
        assert!(all.contains(says), "{all}");
    }
}
