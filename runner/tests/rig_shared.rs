//! Two `hil run --rig` processes share one bench on disjoint channels: the first holds the channel its scenario
//! runs on, the second takes the other one, and both pass; a third finding no free channel says who holds them.

mod common;
use common::*;
use std::time::Duration;

fn scenario(fx: &Fixture, name: &str, duration: &str) -> std::path::PathBuf {
    fx.write(
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\nduration = \"{duration}\"\n[firmware]\nsleep = \"6s\"\n\
             [supply]\nprofile = [{{ at = \"0s\", volts = 12.6 }}]\n\
             [expect]\nreadings = {{ within_volts = 0.15, min_count = 2 }}\nconnack = 0\n"
        ),
    )
}

/// The rig channel the scenario's one board was on, from its event log.
fn channel_of(events: &std::path::Path) -> String {
    let log = std::fs::read_to_string(events).unwrap();
    log.split("\"supply\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no supply in {}:\n{log}", events.display()))
        .to_string()
}

#[test]
fn two_runs_share_a_bench_on_disjoint_channels() {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let bench = start_bench_up(&rig, &["--boards", "2", "--channels", "2"]);
    let first_scenario = scenario(&fx, "first", "30s");
    let first_report = fx.path("report-first");
    let first = spawn_hil(&rig_run_args(&rig, &first_scenario, &first_report), &[]);
    let first_events = first_report.join("first/events.jsonl");
    wait_for_file(&first_events, Duration::from_secs(30));

    let second_scenario = scenario(&fx, "second", "18s");
    let second_report = fx.path("report-second");
    let second = hil(&rig_run_args(&rig, &second_scenario, &second_report), &[]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));

    let pair = fx.write(
        "pair.toml",
        "name = \"pair\"\nduration = \"10s\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
         [[supply.channel]]\nboards = 1\n[[supply.channel]]\nboards = 1\n",
    );
    let third = hil(&rig_run_args(&rig, &pair, &fx.path("report-third")), &[]);
    let said = text(&third);
    assert_eq!(third.status.code(), Some(2), "{said}");
    assert!(
        said.contains("twin:1 of the bench") && said.contains("is in use: pid"),
        "the third run says who holds the first's channel:\n{said}"
    );

    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let channels = [
        channel_of(&first_events),
        channel_of(&second_report.join("second/events.jsonl")),
    ];
    assert_eq!(channels, ["twin:1", "twin:2"]);
    stop_bench(bench);
}
