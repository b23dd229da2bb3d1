//! A packed rig run killed with SIGKILL while two scenarios run at once: its safety guard turns off both channels
//! the run held, and leaves alone the channel another run holds on the same bench.

mod common;
use common::*;
use std::time::Duration;

fn long_scenario(fx: &Fixture, path: &str, name: &str) -> std::path::PathBuf {
    fx.write(
        path,
        &format!(
            "name = \"{name}\"\nduration = \"10m\"\n[firmware]\nsleep = \"5s\"\n\
             [supply]\nprofile = [{{ at = \"0s\", volts = 12.6 }}]\n"
        ),
    )
}

fn output_on(address: &str, channel: u8) -> bool {
    let answer = scpi(address, &format!(":OUTP? CH{channel}"));
    answer.eq_ignore_ascii_case("ON") || answer == "1"
}

#[test]
fn the_guard_of_a_killed_packed_run_turns_off_its_channels_only() {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let bench = start_bench_up(&rig, &["--boards", "3", "--channels", "3"]);
    let address = rig_field(&std::fs::read_to_string(&rig).unwrap(), "address");

    let other_scenario = long_scenario(&fx, "other.toml", "other");
    let other_report = fx.path("report-other");
    let other = spawn_hil(
        &[
            &rig_run_args(&rig, &other_scenario, &other_report)[..],
            &["--quiet"],
        ]
        .concat(),
        &[],
    );
    wait_for_log(
        &other_report.join("other/events.jsonl"),
        "\"kind\":\"reading\"",
        Duration::from_secs(45),
    );

    long_scenario(&fx, "packed/a.toml", "packed-a");
    long_scenario(&fx, "packed/b.toml", "packed-b");
    let report = fx.path("report");
    let mut run = spawn_hil(
        &[
            &rig_run_args(&rig, &fx.path("packed"), &report)[..],
            &["--quiet"],
        ]
        .concat(),
        &[],
    );
    for name in ["packed-a", "packed-b"] {
        wait_for_log(
            &report.join(name).join("events.jsonl"),
            "\"kind\":\"reading\"",
            Duration::from_secs(45),
        );
    }
    assert!((1..=3).all(|c| output_on(&address, c)), "all three powered");

    run.kill().unwrap();
    run.wait().unwrap();
    let guard_said = stderr_to_end(&mut run, Duration::from_secs(15));
    for channel in ["twin:2", "twin:3"] {
        assert!(
            guard_said.contains(&format!("{channel} is now off")),
            "{channel}: {guard_said}"
        );
    }
    assert!(!guard_said.contains("twin:1"), "{guard_said}");
    assert!(!output_on(&address, 2) && !output_on(&address, 3));
    assert!(output_on(&address, 1), "the other run's channel is its own");

    signal(&other, "-TERM");
    let other = other.wait_with_output().unwrap();
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    assert!(!output_on(&address, 1), "{}", text(&other));
    stop_bench(bench);
}
