//! `hil doctor --rig FILE` against `hil bench up`'s twin lab (a Mosquitto with a password file, a DP832 twin, a
//! pty board), with one part broken at a time in a copy of its rig file: a healthy bench passes with every line
//! OK; a wrong supply model, a board that is not there and a wrong broker password each exit 2 naming the part
//! and the fix. The supply's journal shows the check's output on at its safe voltage and, last, off.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// A bench with a Mosquitto (which answers a wrong password with CONNACK 5) and a supply journal; its rig file,
/// and the journal.
fn bench(fx: &Fixture) -> (BenchUp, PathBuf, PathBuf) {
    require("mosquitto", "apt-get install mosquitto");
    let rig = fx.path("lab.toml");
    let journal = fx.path("supply.journal");
    let bench = start_bench_up(
        &rig,
        &[
            "--broker",
            "mosquitto",
            "--supply-journal",
            journal.to_str().unwrap(),
        ],
    );
    (bench, rig, journal)
}

fn doctor(rig: &Path) -> (Option<i32>, String) {
    let out = hil(&["doctor", "--rig", rig.to_str().unwrap()], &[]);
    (out.status.code(), text(&out))
}

/// Every one of `parts` is in what the doctor said.
fn assert_says(said: &str, parts: &[&str]) {
    for part in parts {
        assert!(said.contains(part), "no {part:?} in:\n{said}");
    }
}

/// A copy of the bench's rig file with `edit` applied.
fn broken(fx: &Fixture, rig: &Path, edit: impl FnOnce(&mut toml::Table)) -> PathBuf {
    fx.write(
        "broken.toml",
        &edit_rig(&std::fs::read_to_string(rig).unwrap(), edit),
    )
}

/// The doctor switched channel 1 on at its check voltage, and the last setting it left is output off.
fn assert_on_then_off(journal: &Path, said: &str) {
    let lines = journal_of_channel(journal, 1);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("volts=12.000") && l.contains("output=on")),
        "the check never switched channel 1 on at 12 V:\n{}\n{said}",
        lines.join("\n")
    );
    let last = lines.last().unwrap();
    assert!(
        last.contains("output=off"),
        "channel 1 left on: {last}\n{said}"
    );
}

#[test]
fn a_healthy_bench_passes_with_every_part_ok_and_its_supply_left_off() {
    let fx = Fixture::new();
    let (bench, rig, journal) = bench(&fx);
    let (code, said) = doctor(&rig);
    assert_eq!(code, Some(0), "{said}");
    assert_says(
        &said,
        &[
            "OK    supply twin: *IDN? says",
            "OK    supply twin:1: limits set",
            "over-current protection armed",
            "reads back 12.0",
            "OK    board twin-0: 5c:cf:7f:00:00:00 found on",
            "ROM loader answered; reset into its app, ROM banner: rst cause",
            "OK    broker: ",
            "OK    tap: ",
            "OK    wifi: ssid \"hil-bench\"",
            "the bench can run",
        ],
    );
    assert!(!said.contains("FAIL") && !said.contains("SKIP"), "{said}");
    assert_on_then_off(&journal, &said);
    stop_bench(bench);
}

#[test]
fn a_wrong_supply_model_fails_the_supply_and_sends_it_nothing_more() {
    let fx = Fixture::new();
    let (bench, rig, journal) = bench(&fx);
    let settings_before = journal_of_channel(&journal, 1).len();
    let rig = broken(&fx, &rig, |rig| {
        rig["supply"]["twin"]["model"] = "siglent-spd3303x".into();
    });
    let (code, said) = doctor(&rig);
    assert_eq!(code, Some(2), "{said}");
    assert_says(
        &said,
        &[
            "FAIL  supply twin: *IDN? says \"HIL-TWIN,DP800-TWIN",
            "not a siglent-spd3303x",
            "fix: set [supply.twin] model to the instrument's",
            "SKIP  board twin-0: not checked: its supply twin did not pass its check",
            "OK    broker: ",
            "the bench cannot run",
        ],
    );
    assert_eq!(
        journal_of_channel(&journal, 1).len(),
        settings_before,
        "an instrument that is not the model named is sent no settings:\n{said}"
    );
    stop_bench(bench);
}

#[test]
fn a_board_that_is_not_there_fails_naming_its_mac_and_where_to_look() {
    let fx = Fixture::new();
    let (bench, rig, journal) = bench(&fx);
    let rig = broken(&fx, &rig, |rig| {
        rig["board"][0]["mac"] = "5c:cf:7f:00:99:99".into();
    });
    let (code, said) = doctor(&rig);
    assert_eq!(code, Some(2), "{said}");
    assert_says(
        &said,
        &[
            "OK    supply twin:1: limits set",
            "FAIL  board twin-0: ",
            "5c:cf:7f:00:99:99",
            "FAIL  board twin-0: finding the board by MAC 5c:cf:7f:00:99:99",
            "fix: is it plugged in (a dead USB hub?)",
            "OK    broker: ",
            "the bench cannot run",
        ],
    );
    assert_on_then_off(&journal, &said);
    stop_bench(bench);
}

#[test]
fn a_wrong_broker_password_fails_the_broker_naming_the_password_file() {
    let fx = Fixture::new();
    let (bench, rig, _journal) = bench(&fx);
    let wrong = fx.write("wrong.password", "not-the-password\n");
    let rig = broken(&fx, &rig, |rig| {
        rig["broker"]["password_file"] = wrong.to_str().unwrap().into();
    });
    let (code, said) = doctor(&rig);
    assert_eq!(code, Some(2), "{said}");
    assert_says(
        &said,
        &[
            "OK    board twin-0: ",
            "FAIL  broker: ",
            "mqtt://hil-rig@127.0.0.1:",
            "NotAuthorized",
            &format!("the password in the file {}", wrong.display()),
            "SKIP  tap: not checked",
            "the bench cannot run",
        ],
    );
    assert!(
        !said.contains("not-the-password"),
        "a password was printed:\n{said}"
    );
    stop_bench(bench);
}
