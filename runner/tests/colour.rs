//! Colour only on a terminal: `hil check`'s verdict words and a run's summary carry no escape codes when piped
//! (as every CI log is) or with NO_COLOR, and do when colour is forced (CLICOLOR_FORCE=1), so the piped case is
//! not blank by accident.

mod common;
use common::*;
use model::events::{BoardInfo, Body, Event};

const ESC: char = '\u{1b}';

/// A log of a run in which the board sent nothing: its readings check fails.
fn silent_run(fx: &Fixture) -> (std::path::PathBuf, std::path::PathBuf) {
    let scenario = fx.write("silent.toml", &short_scenario("silent", 12.6, 0, ""));
    let events = [
        Event {
            t: 0.0,
            body: Body::ScenarioStart {
                scenario: "silent".into(),
                speed: 20.0,
                boards: vec![BoardInfo {
                    name: "twin-0".into(),
                    mac: "5c:cf:7f:00:00:00".into(),
                    supply: "twin:1".into(),
                }],
                broker: "embedded".into(),
                payload: None,
                within_volts: None,
            },
        },
        Event {
            t: 180.0,
            body: Body::ScenarioEnd {
                scenario: "silent".into(),
            },
        },
    ];
    let log: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    (fx.write("events.jsonl", &log), scenario)
}

fn check(fx: &Fixture, env: &[(&str, &str)]) -> String {
    let (events, scenario) = silent_run(fx);
    let out = hil(
        &[
            "check",
            events.to_str().unwrap(),
            "--scenario",
            scenario.to_str().unwrap(),
        ],
        env,
    );
    assert_eq!(out.status.code(), Some(1), "a failed check\n{}", text(&out));
    text(&out)
}

#[test]
fn piped_output_has_no_escape_codes_and_forced_colour_has() {
    let fx = Fixture::new();
    let piped = check(&fx, &[]);
    assert!(piped.contains("FAIL"), "{piped}");
    assert!(
        !piped.contains(ESC),
        "escape codes in piped output:\n{piped:?}"
    );

    let forced = check(&fx, &[("CLICOLOR_FORCE", "1")]);
    assert!(
        forced.contains(&format!("{ESC}[1m{ESC}[31mFAIL")),
        "FAIL in bold red when colour is forced:\n{forced:?}"
    );

    let refused = check(&fx, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!refused.contains(ESC), "NO_COLOR wins:\n{refused:?}");
}

#[test]
fn a_piped_runs_summary_and_progress_have_no_escape_codes() {
    let fx = Fixture::new();
    let scenario = fx.write("steady.toml", &short_scenario("steady", 12.6, 0, ""));
    let out = run_hil(&scenario, &fx.path("report"), &[], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("1 of 1 scenarios passed") && all.contains("✔ steady"),
        "{all}"
    );
    assert!(!all.contains(ESC), "escape codes in piped output:\n{all:?}");
}
