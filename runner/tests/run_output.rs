//! What a run and `hil check` say on the terminal: `--quiet` prints the summary alone, a broker that cannot be
//! reached is one error, and an empty log is bad input.

mod common;
use common::*;

#[test]
fn quiet_prints_only_the_summary() {
    let fx = Fixture::new();
    let scenario = fx.write("steady.toml", &short_scenario("steady", 12.6, 0, ""));
    let out = run_hil(&scenario, &fx.path("report"), &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 of 1 scenarios passed"), "{stdout}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "", "nothing else");
}

#[test]
fn an_unreachable_broker_is_one_error_before_any_scenario() {
    let fx = Fixture::new();
    fx.write("suite/a.toml", &short_scenario("a", 12.6, 0, ""));
    fx.write("suite/b.toml", &short_scenario("b", 12.6, 0, ""));
    // Port 1 on loopback: nothing listens there.
    let out = run_hil(
        &fx.path("suite"),
        &fx.path("report"),
        &["--broker", "mqtt://lab@127.0.0.1:1"],
        &[("HIL_MQTT_PASSWORD", "not-printed-0451")],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert_eq!(all.matches("connection was refused").count(), 1, "{all}");
    assert!(!all.contains("▶"), "no scenario started\n{all}");
    assert!(
        !all.contains("not-printed-0451"),
        "the password is never printed\n{all}"
    );
}

#[test]
fn check_of_an_empty_log_is_bad_input() {
    let fx = Fixture::new();
    let scenario = fx.write("steady.toml", &short_scenario("steady", 12.6, 0, ""));
    let log = fx.write("events.jsonl", "");
    let out = hil(
        &[
            "check",
            log.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("the log holds no events: nothing to judge"),
        "{all}"
    );
}

#[test]
fn a_negative_speed_is_named_a_bad_speed() {
    let out = hil(&["run", "--speed", "-1"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("speed must be a number from 1 to 1000"),
        "{all}"
    );
    assert!(!all.contains("-- -1"), "{all}");
}

#[test]
fn list_outside_the_project_says_whose_scenarios_it_lists() {
    let fx = Fixture::new();
    let out = hil_command()
        .arg("list")
        .current_dir(fx.dir.path())
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("no scenarios/ in this folder: using the project's, "),
        "{all}"
    );
    let here = hil_command()
        .arg("list")
        .current_dir(project_root())
        .output()
        .unwrap();
    assert!(
        !text(&here).contains("no scenarios/ in this folder"),
        "{}",
        text(&here)
    );
}
