//! `hil list`, `hil run --tag/--jobs`, and scenarios that require Mosquitto being skipped on the embedded broker.

mod common;
use common::*;

/// A 90 s scenario (4.5 s at the test speed) with the given tags and requirements.
fn quick(name: &str, tags: &str, requires: &str) -> String {
    format!(
        r#"name = "{name}"
tags = [{tags}]
requires = [{requires}]
duration = "1m30s"

[firmware]
sleep = "20s"

[supply]
profile = [{{ at = "0s", volts = 12.4 }}]

[expect]
readings = {{ within_volts = 0.15, min_count = 3 }}
connack = 0
"#
    )
}

#[test]
fn list_shows_every_project_scenario_with_tags_boards_duration_and_needs() {
    let out = hil(
        &["list", project_root().join("scenarios").to_str().unwrap()],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let files = std::fs::read_dir(project_root().join("scenarios"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
        })
        .count();
    assert!(files >= 12, "the library has at least twelve scenarios");
    assert!(
        stdout.contains(&format!("{files} scenarios, ")),
        "one row per file and a total:\n{stdout}"
    );
    let two = stdout
        .lines()
        .find(|l| l.starts_with("two-boards "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(two.contains(" 2 ") && two.contains("4m"), "{two}");
    let refused = stdout
        .lines()
        .find(|l| l.starts_with("wrong-credentials "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(refused.trim_end().ends_with("mosquitto"), "{refused}");

    let out = hil(&["list", "--tag", "no-such-tag"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("tags in use: "), "{}", text(&out));
}

#[test]
fn run_takes_the_tagged_scenarios_several_at_a_time_and_skips_what_needs_mosquitto() {
    let fx = Fixture::new();
    fx.write("s/a.toml", &quick("quick-a", "\"fast\"", ""));
    fx.write("s/b.toml", &quick("quick-b", "\"fast\"", ""));
    fx.write(
        "s/c.toml",
        &quick("quick-c", "\"refusal\"", "\"mosquitto\""),
    );
    let dir = fx.path("s");
    let report = fx.path("report");
    let out = run_hil(&dir, &report, &["--tag", "fast", "--jobs", "2"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("2 scenario(s) on the twin bench at 20x, 2 at a time"),
        "{all}"
    );
    assert!(
        all.contains("(one per job)"),
        "each job has its own broker:\n{all}"
    );
    // `--broker auto`, the default: Mosquitto, the field's broker, where it is installed; the header says so.
    require("mosquitto", "apt-get install -y mosquitto");
    assert!(all.contains("broker: mosquitto ("), "{all}");
    assert!(all.contains("2 of 2 scenarios passed"), "{all}");
    assert!(all.contains("wall time: "), "{all}");
    assert!(!all.contains("quick-c"), "c is not tagged fast:\n{all}");

    let report = fx.path("report-skip");
    let out = hil(
        &[
            "run",
            dir.to_str().unwrap(),
            "--tag",
            "refusal",
            "--broker",
            "embedded",
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "a skip is not a failure\n{all}");
    assert!(
        all.contains("SKIP quick-c: requires mosquitto") && all.contains("--broker mosquitto"),
        "{all}"
    );
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    assert!(
        junit.contains("<testcase name=\"quick-c\"")
            && junit.contains("<skipped message=\"requires mosquitto"),
        "{junit}"
    );
}
