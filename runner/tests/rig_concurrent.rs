//! `hil run --rig` on a three-channel `hil bench up`: three one-board scenarios run at once, each on a channel of
//! its own (their spans in the event logs overlap), each judged as when run alone, every channel off at the end;
//! and the run prints its device time, its bound and its wall time (a figure, printed here, not asserted on).

mod common;
use common::*;

/// A scenario's span in wall-clock seconds: its start's date, to the end of its event log (device time is real
/// time on a rig).
fn span(events: &str) -> (f64, f64) {
    let start: serde_json::Value = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["kind"] == "scenario.start")
        .expect("a scenario.start event");
    let date = chrono::DateTime::parse_from_rfc3339(start["date"].as_str().unwrap()).unwrap();
    let end = events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?["t"].as_f64())
        .fold(0.0, f64::max);
    let begin = date.timestamp() as f64;
    (begin, begin + end)
}

#[test]
fn three_scenarios_run_at_once_on_three_channels_and_leave_them_off() {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let bench = start_bench_up(&rig, &["--boards", "3", "--channels", "3"]);
    let address = rig_field(&std::fs::read_to_string(&rig).unwrap(), "address");
    let names = ["at-12v2", "at-12v6", "at-13v0"];
    for (name, volts) in names.iter().zip([12.2, 12.6, 13.0]) {
        fx.write(
            &format!("scenarios/{name}.toml"),
            &format!(
                "name = \"{name}\"\nduration = \"24s\"\n[firmware]\nsleep = \"6s\"\n\
                 [supply]\nprofile = [{{ at = \"0s\", volts = {volts} }}]\n\
                 [expect]\nreadings = {{ within_volts = 0.15, min_count = 2 }}\nconnack = 0\n"
            ),
        );
    }
    let scenarios = fx.path("scenarios");
    let report = fx.path("report");
    let out = hil(&rig_run_args(&rig, &scenarios, &report), &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "every scenario passes:\n{all}");

    let spans: Vec<(f64, f64)> = names
        .iter()
        .map(|n| span(&std::fs::read_to_string(report.join(n).join("events.jsonl")).unwrap()))
        .collect();
    for (i, a) in spans.iter().enumerate() {
        for (j, b) in spans.iter().enumerate().skip(i + 1) {
            assert!(
                a.0 < b.1 && b.0 < a.1,
                "{} {a:?} and {} {b:?} ran at once",
                names[i],
                names[j]
            );
        }
    }
    let timing = all
        .lines()
        .find(|l| l.starts_with("device time ") && l.contains(" × bound"))
        .unwrap_or_else(|| panic!("no timing line:\n{all}"));
    assert!(
        timing.contains("in 3 scenario(s); bound 24s (24 s: longest scenario 24 s"),
        "{timing}"
    );
    eprintln!("figure: {timing}");
    for channel in 1..=3 {
        let output = scpi(&address, &format!(":OUTP? CH{channel}"));
        assert!(
            output.eq_ignore_ascii_case("OFF") || output == "0",
            "CH{channel} must be off after the run: {output:?}"
        );
    }
    stop_bench(bench);
}
