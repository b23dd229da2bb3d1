//! A twin bench that cannot keep up with its speed ends the run as a bench error naming its lag, or the stretch
//! the host's CPU time added to a wake, never as the firmware's failed checks; and `--speed` is refused with a
//! rig, whose real boards run in real time.

mod common;
use common::*;
use std::path::Path;

/// `hil run SCENARIO --speed 1000` on the embedded broker, quietly: its output and all it printed.
fn run_at_1000x(scenario: &Path, report: &Path) -> (std::process::Output, String) {
    let out = hil(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--speed",
            "1000",
            "--broker",
            "embedded",
            "--quiet",
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    let all = text(&out);
    (out, all)
}

#[test]
fn a_starved_twin_bench_is_a_bench_error_naming_its_lag_not_failed_checks() {
    let fx = Fixture::new();
    // Six boards at 1000x: a 30 s sleep is 30 ms here, less than a wake's host process takes to start.
    let scenario = fx.write(
        "starved.toml",
        &short_scenario("starved", 12.6, 0, "")
            .replace("duration = \"3m\"", "boards = 6\nduration = \"20m\""),
    );
    let report = fx.path("report");
    let (out, all) = run_at_1000x(&scenario, &report);
    assert_eq!(out.status.code(), Some(2), "a bench error\n{all}");
    assert!(
        all.contains("the host could not keep up at 1000x: ")
            && (all.contains(": lag ") || all.contains(": a wake stretched "))
            && all.contains("; try ≤ "),
        "the lag or stretch is named with a speed to try\n{all}"
    );
    assert!(!all.contains("FAIL"), "no check is reported failed\n{all}");
    let log = std::fs::read_to_string(report.join("starved/events.jsonl")).unwrap();
    assert!(
        log.contains("\"kind\":\"twin.lag\""),
        "each wake's lag is recorded"
    );
    assert!(
        !log.contains("\"kind\":\"check\""),
        "the checks were not judged"
    );
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<error") && !junit.contains("<failure"),
        "{junit}"
    );
}

/// One board with 60 s sleeps at 1000x: each sleep (60 ms here) gives its next wake's process time to start, so
/// it wakes on time, but every millisecond of CPU its VM spends on a wake is a second of device time, far over
/// the bound: the period check that fails on it is the host's doing, and the run says so.
#[test]
fn checks_failing_on_wakes_the_host_stretched_are_a_bench_error_not_firmware_failures() {
    let fx = Fixture::new();
    let scenario = fx.write(
        "stretched.toml",
        &short_scenario("stretched", 12.6, 0, "")
            .replace("sleep = \"30s\"", "sleep = \"60s\"")
            // 20 min (1.2 s here): wakes enough to end some, whose stretch is then recorded, however long the
            // first boot takes on a busy machine (a power-on's start-up is no wake to measure).
            .replace("duration = \"3m\"", "duration = \"20m\"")
            // 60 s sleeps and a 2 s wake within 5 %: a wake stretched by seconds fails it.
            .replace(
                "nominal = \"33s\", tolerance = \"15%\"",
                "nominal = \"62s\", tolerance = \"5%\"",
            ),
    );
    let report = fx.path("report");
    let (out, all) = run_at_1000x(&scenario, &report);
    assert_eq!(out.status.code(), Some(2), "a bench error\n{all}");
    assert!(
        all.contains("the host could not keep up at 1000x: a wake stretched ")
            && all.contains("by the host's CPU time")
            && all.contains("(failed: ")
            && all.contains("period")
            && all.contains("; try ≤ "),
        "the stretch is named with a speed to try\n{all}"
    );
    assert!(!all.contains("FAIL"), "no check is reported failed\n{all}");
    let log = std::fs::read_to_string(report.join("stretched/events.jsonl")).unwrap();
    let stretches: Vec<f64> = log
        .lines()
        .filter(|l| l.contains("\"kind\":\"twin.stretch\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["seconds"].as_f64().unwrap()
        })
        .collect();
    assert!(
        stretches.iter().any(|s| *s > 2.0),
        "each wake's stretch is recorded, one over the bound: {stretches:?}"
    );
    assert!(
        !log.contains("\"kind\":\"check\""),
        "the checks were not judged"
    );
}

#[test]
fn speed_with_a_rig_is_refused_before_the_rig_is_opened() {
    let fx = Fixture::new();
    let scenario = fx.write("s.toml", &short_scenario("s", 12.6, 0, ""));
    let rig = fx.path("no-such-rig.toml");
    let out = hil(
        &[
            "run",
            "--rig",
            rig.to_str().unwrap(),
            "--speed",
            "50",
            scenario.to_str().unwrap(),
            "--report",
            fx.path("report").to_str().unwrap(),
        ],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("--speed 50 with --rig") && all.contains("real boards run in real time"),
        "{all}"
    );
    assert_eq!(
        all.matches("error:").count(),
        1,
        "refused before the missing rig file is read\n{all}"
    );
}
