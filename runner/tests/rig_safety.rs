//! A run on a rig leaves the supply safe however it ends, as read back from the instrument (`hil bench up`'s
//! SCPI supply in another process): stopped by SIGTERM, the run turns the output off itself; killed with
//! SIGKILL, its safety guard process does.

mod common;
use common::*;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

fn output_on(address: &str) -> bool {
    let answer = scpi(address, ":OUTP? CH1");
    answer.eq_ignore_ascii_case("ON") || answer == "1"
}

/// `hil bench up`, and `hil run --rig` on a 10-minute scenario, returned once a reading is in its log.
fn start_rig_run(fx: &Fixture) -> (BenchUp, Child, String) {
    let rig = fx.path("lab.toml");
    let bench = start_bench_up(&rig, &[]);
    let address = rig_field(&std::fs::read_to_string(&rig).unwrap(), "address");
    let scenario = fx.write(
        "long.toml",
        "name = \"long\"\nduration = \"10m\"\n[firmware]\nsleep = \"5s\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n",
    );
    let report = fx.path("report");
    let run = spawn_hil(
        &[&rig_run_args(&rig, &scenario, &report)[..], &["--quiet"]].concat(),
        &[],
    );
    let events = report.join("long/events.jsonl");
    wait_for_log(&events, "\"kind\":\"reading\"", Duration::from_secs(45));
    assert!(output_on(&address), "the run powers the channel");
    (bench, run, address)
}

#[test]
fn sigterm_on_a_rig_run_turns_the_instruments_output_off() {
    let fx = Fixture::new();
    let (bench, run, address) = start_rig_run(&fx);
    signal(&run, "-TERM");
    let out = run.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "interrupted is not a pass\n{all}"
    );
    assert!(!output_on(&address), "output still on after SIGTERM\n{all}");
    assert!(
        !all.contains("safety guard"),
        "the run made the bench safe itself; its guard must not act\n{all}"
    );
    stop_bench(bench);
}

#[test]
fn sigkill_on_a_rig_run_leaves_the_output_off_by_its_safety_guard() {
    let fx = Fixture::new();
    let (bench, mut run, address) = start_rig_run(&fx);
    run.kill().unwrap();
    run.wait().unwrap();
    let guard_said = stderr_to_end(&mut run, Duration::from_secs(15));
    assert!(
        !output_on(&address),
        "output still on once the guard is done\n{guard_said}"
    );
    assert!(
        guard_said.contains(
            "hil safety guard: the run ended without making the bench safe; twin:1 is now off"
        ),
        "{guard_said}"
    );
    stop_bench(bench);
}

/// The instrument reads OFF, and the last setting channel 1 received (the run's safe state) left it off: nothing
/// of the timeline switched it on again after the run made it safe.
fn assert_left_off(address: &str, journal: &std::path::Path, all: &str) {
    assert!(!output_on(address), "output on after the run\n{all}");
    let lines = journal_of_channel(journal, 1);
    let last = lines.last().expect("the run set channel 1");
    assert!(
        last.contains("output=off"),
        "the last setting channel 1 received left it on: {last}\n{}\n{all}",
        lines.join("\n")
    );
}

/// `hil bench up` keeping a supply journal: the bench, its rig file, journal and supply address.
fn journaled_bench(fx: &Fixture) -> (BenchUp, PathBuf, PathBuf, String) {
    let rig = fx.path("lab.toml");
    let journal = fx.path("supply.journal");
    let bench = start_bench_up(&rig, &["--supply-journal", journal.to_str().unwrap()]);
    let address = rig_field(&std::fs::read_to_string(&rig).unwrap(), "address");
    (bench, rig, journal, address)
}

#[test]
fn a_supply_off_fault_ending_at_the_scenarios_end_leaves_the_output_off() {
    let fx = Fixture::new();
    let (bench, rig, journal, address) = journaled_bench(&fx);
    // Validation allows a fault to end exactly at the scenario's end: its end must not switch the output on.
    let scenario = fx.write(
        "fault-to-end.toml",
        "name = \"fault-to-end\"\nduration = \"16s\"\n[firmware]\nsleep = \"4s\"\n\
         [supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
         [[fault]]\nat = \"8s\"\nfor = \"8s\"\nkind = \"supply-off\"\n",
    );
    let report = fx.path("report");
    let out = hil(&rig_run_args(&rig, &scenario, &report), &[]);
    let all = text(&out);
    assert!(
        std::fs::read_to_string(report.join("fault-to-end/events.jsonl"))
            .unwrap()
            .contains("\"kind\":\"fault.start\""),
        "the fault started\n{all}"
    );
    assert_left_off(&address, &journal, &all);
    stop_bench(bench);
}

#[test]
fn sigint_just_before_a_supply_off_fault_ends_leaves_the_output_off() {
    let fx = Fixture::new();
    let (bench, rig, journal, address) = journaled_bench(&fx);
    let scenario = fx.write(
        "fault-interrupted.toml",
        "name = \"fault-interrupted\"\nduration = \"10m\"\n[firmware]\nsleep = \"4s\"\n\
         [supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
         [[fault]]\nat = \"3s\"\nfor = \"2s\"\nkind = \"supply-off\"\n",
    );
    let report = fx.path("report");
    let run = spawn_hil(&rig_run_args(&rig, &scenario, &report), &[]);
    wait_for_log(
        &report.join("fault-interrupted/events.jsonl"),
        "\"kind\":\"fault.start\"",
        Duration::from_secs(60),
    );
    // Stopped while the fault is still on, shortly before its end: the end falls while the run winds down,
    // after its safe state, and must not switch the output on again.
    std::thread::sleep(Duration::from_millis(1850));
    signal(&run, "-INT");
    let out = run.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "interrupted\n{all}");
    assert_left_off(&address, &journal, &all);
    stop_bench(bench);
}

/// A rig cannot switch its WiFi access point: a scenario with `wifi-off` is refused at validation with the reason,
/// before the run sends anything to the bench (the supply's journal is unchanged), by `hil run` and `hil validate`.
#[test]
fn a_wifi_off_scenario_is_refused_on_a_rig_before_anything_is_sent() {
    let fx = Fixture::new();
    let (bench, rig, journal, _) = journaled_bench(&fx);
    let before = std::fs::read_to_string(&journal).unwrap_or_default();
    let scenario =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/wifi-outage.toml");
    let out = hil_on_rig(&rig, &scenario, &fx.path("report"), &fx.path("state"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("wifi-off")
            && all.contains("switch its WiFi access point, which a rig cannot"),
        "the refusal names the fault and why:\n{all}"
    );
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap_or_default(),
        before,
        "nothing was sent to the supply\n{all}"
    );
    let validate = hil(
        &[
            "validate",
            "--rig",
            rig.to_str().unwrap(),
            scenario.to_str().unwrap(),
        ],
        &[],
    );
    let said = text(&validate);
    assert_eq!(validate.status.code(), Some(2), "{said}");
    assert!(said.contains("which a rig cannot"), "{said}");
    stop_bench(bench);
}
