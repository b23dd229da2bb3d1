//! A twin bench that cannot keep up with its speed ends the run as a bench error naming its lag, never as the
//! firmware's failed checks; and `--speed` is refused with a rig, whose real boards run in real time.

mod common;
use common::*;

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
    assert_eq!(out.status.code(), Some(2), "a bench error\n{all}");
    assert!(
        all.contains("the host could not keep up at 1000x: lag ") && all.contains("; try ≤ "),
        "the lag is named with a speed to try\n{all}"
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
