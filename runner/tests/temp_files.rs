//! A run removes everything it wrote to the temp folder, on every exit path: a lab machine running nightly for
//! a year must not fill it. Each test points `hil` at a temp folder of its own (TMPDIR) and lists it after.

mod common;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// What `hil` left in the temp folder `dir`.
fn left_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn twin_run_leaves_nothing(transport: &str) {
    let fx = Fixture::new();
    let temp = fx.path("tmp");
    std::fs::create_dir(&temp).unwrap();
    let scenario = fx.write("t.toml", &short_scenario("temp-files", 12.6, 0, ""));
    let report = fx.path("report");
    let out = run_hil(
        &scenario,
        &report,
        &["--twin-transport", transport],
        &[("TMPDIR", temp.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(left_in(&temp), Vec::<String>::new(), "{}", text(&out));
}

#[test]
fn a_twin_run_with_process_boards_leaves_nothing_in_the_temp_folder() {
    twin_run_leaves_nothing("process");
}

#[test]
fn a_twin_run_with_pty_boards_leaves_nothing_in_the_temp_folder() {
    twin_run_leaves_nothing("pty");
}

#[test]
fn what_a_killed_run_left_goes_at_the_next_hil() {
    let fx = Fixture::new();
    let temp = fx.path("tmp");
    std::fs::create_dir(&temp).unwrap();
    let env = [("TMPDIR", temp.to_str().unwrap())];
    let scenario = fx.write(
        "long.toml",
        "name = \"long\"\nduration = \"1h\"\n[firmware]\nsleep = \"30s\"\n\
         [supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n",
    );
    let report = fx.path("report");
    let mut run = spawn_hil(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--speed",
            "10",
            "--report",
            report.to_str().unwrap(),
        ],
        &env,
    );
    wait_for_log(
        &report.join("long/events.jsonl"),
        "\"kind\":\"reading\"",
        Duration::from_secs(60),
    );
    run.kill().unwrap();
    run.wait().unwrap();
    assert!(
        left_in(&temp).iter().any(|n| n.starts_with("hil-run-")),
        "the killed run had a scratch folder: {:?}",
        left_in(&temp)
    );
    // Its children die with it (PDEATHSIG); the next hil, whatever it does, removes the folder.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = hil(&["list", scenario.to_str().unwrap()], &env);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        if left_in(&temp).is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still in the temp folder: {:?}",
            left_in(&temp)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
