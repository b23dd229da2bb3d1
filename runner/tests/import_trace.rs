//! `hil import-trace`: a real `mosquitto_sub -F '%U %t %p'` capture of the firmware's messages, and the run's
//! own events.jsonl, both become the same `time_s,volts` CSV, which a scenario then accepts as its profile.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn volts_of(csv: &str) -> Vec<String> {
    csv.lines()
        .skip_while(|l| *l != "time_s,volts")
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect()
}

#[test]
fn a_mosquitto_sub_capture_and_an_event_log_import_to_the_same_trace() {
    let broker = Mosquitto::start();
    let sub = require("mosquitto_sub", "apt-get install -y mosquitto-clients");
    let fx = Fixture::new();
    let capture = fx.path("capture.txt");
    let mut subscriber = Command::new(sub)
        .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
        .args(["-u", &broker.user, "-P", &broker.password, "-i", "capture"])
        .args(["-F", "%U %t %p", "-t", "hil/#"])
        .stdout(std::fs::File::create(&capture).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !broker.log().contains("as capture") {
        assert!(Instant::now() < deadline, "mosquitto_sub never connected");
        std::thread::sleep(Duration::from_millis(50));
    }
    let scenario = fx.write(
        "sag.toml",
        r#"name = "sag"
duration = "2m30s"

[firmware]
sleep = "20s"

[supply]
profile = [{ at = "0s", volts = 12.8 }, { at = "20s", ramp_to = 12.0, over = "2m" }]

[expect]
readings = { within_volts = 0.15, min_count = 5 }
"#,
    );
    let report = fx.path("report");
    let out = run_hil(
        &scenario,
        &report,
        &["--quiet", "--broker", &broker.url()],
        &[("HIL_MQTT_PASSWORD", &broker.password)],
    );
    let _ = subscriber.kill();
    let _ = subscriber.wait();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let from_capture = fx.path("traces/site.csv");
    let out = hil(
        &[
            "import-trace",
            capture.to_str().unwrap(),
            "--out",
            from_capture.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("readings of twin-0"), "{}", text(&out));
    // The line it prints, pasted into a scenario in the folder it names, validates.
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = said
        .lines()
        .find(|l| l.contains("replay it from a scenario file in "))
        .unwrap_or_else(|| panic!("no replay line\n{said}"));
    assert!(
        line.contains(&format!("in {}: ", fx.dir.path().display())),
        "{line}"
    );
    let pasted = line
        .split_once("profile = ")
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(profile, _)| format!("profile = {profile}}}"))
        .unwrap_or_else(|| panic!("no profile in {line}"));
    let csv = std::fs::read_to_string(&from_capture).unwrap();
    let times: Vec<f64> = csv
        .lines()
        .skip_while(|l| *l != "time_s,volts")
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(times.len() >= 5, "{csv}");
    assert_eq!(times[0], 0.0);
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{csv}");

    let from_log = fx.path("from-log.csv");
    let events = report.join("sag/events.jsonl");
    let out = hil(
        &[
            "import-trace",
            events.to_str().unwrap(),
            "--out",
            from_log.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let log_csv = std::fs::read_to_string(&from_log).unwrap();
    assert_eq!(volts_of(&csv), volts_of(&log_csv), "{csv}\n{log_csv}");
    // The wire saw the falling voltage the supply drove.
    let first: f64 = volts_of(&csv)[0].parse().unwrap();
    let last: f64 = volts_of(&csv).last().unwrap().parse().unwrap();
    assert!(first > 12.6 && last < 12.3, "{csv}");

    let replay = fx.write(
        "replay.toml",
        &r#"name = "replay"
duration = "1m"

[supply]
PROFILE
"#
        .replace("PROFILE", &pasted),
    );
    let out = hil(&["validate", replay.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_capture_in_no_known_format_is_refused_naming_its_line() {
    let fx = Fixture::new();
    let capture = fx.write(
        "plain.txt",
        "hil/x/esp-1/battery {\"v\": 12.6, \"seq\": 1}\n",
    );
    let out = hil(
        &[
            "import-trace",
            capture.to_str().unwrap(),
            "--out",
            fx.path("x.csv").to_str().unwrap(),
        ],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("plain.txt:1: "), "{all}");
    assert!(all.contains("-F '%U %t %p'"), "{all}");
    assert!(!fx.path("x.csv").exists());
}
