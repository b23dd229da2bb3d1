//! Bad input exits 2 with a message naming file:line:column, before anything runs.

mod common;
use common::*;

#[test]
fn validate_names_file_line_and_column_for_an_unknown_key() {
    let fx = Fixture::new();
    let bad = fx.write(
        "bad.toml",
        &short_scenario("bad", 12.6, 0, "").replace("duration = \"3m\"", "duraton = \"3m\""),
    );
    let out = hil(&["validate", bad.to_str().unwrap()], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains(&format!("{}:3:1", bad.display())), "{all}");
    assert!(all.contains("duraton"), "{all}");
}

#[test]
fn a_scenario_over_the_channel_limit_is_refused_before_running() {
    let fx = Fixture::new();
    let hot = fx.write("hot.toml", &short_scenario("hot", 24.0, 0, ""));
    let out = hil(
        &[
            "run",
            hot.to_str().unwrap(),
            "--report",
            fx.path("r").to_str().unwrap(),
        ],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("24 V is above the supply channel's max_volts = 16 V"),
        "{all}"
    );
    assert!(
        all.contains("hot.toml:10:"),
        "must name the profile line:\n{all}"
    );
    assert!(!fx.path("r").join("hot").exists(), "nothing may run");
}

#[test]
fn the_project_scenarios_validate() {
    let out = hil(
        &[
            "validate",
            project_root().join("scenarios").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_missing_firmware_folder_is_a_setup_error() {
    let fx = Fixture::new();
    let s = fx.write("s.toml", &short_scenario("s", 12.6, 0, ""));
    let out = hil(
        &[
            "run",
            s.to_str().unwrap(),
            "--firmware",
            fx.path("nope").to_str().unwrap(),
            "--report",
            fx.path("r").to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}
