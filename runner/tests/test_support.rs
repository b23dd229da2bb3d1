//! The shared test fixtures themselves: they must not make other tests pass or fail by luck — no password that
//! repeats, no environment changed under other tests' threads, no bench left running by a test that failed.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[test]
fn test_brokers_get_passwords_that_never_repeat() {
    let passwords: std::collections::HashSet<String> =
        (0..1000).map(|_| fresh_password()).collect();
    assert_eq!(passwords.len(), 1000, "a password repeated");
}

/// What `hil_command` passes as HIL_STATE_DIR, if anything.
fn state_dir_passed() -> Option<PathBuf> {
    hil_command()
        .get_envs()
        .find(|(k, _)| *k == "HIL_STATE_DIR")
        .and_then(|(_, v)| v.map(PathBuf::from))
}

#[test]
fn a_fixture_gives_its_state_folder_to_the_hil_it_starts_not_to_this_process() {
    let before = std::env::var_os("HIL_STATE_DIR");
    let fx = Fixture::new();
    assert_eq!(
        std::env::var_os("HIL_STATE_DIR"),
        before,
        "this process's environment is shared by every test thread in it"
    );
    assert_eq!(state_dir_passed(), Some(fx.path("state")));
    // Another thread's fixture, as each of mutants.rs's parallel runs has, is its own.
    let theirs = std::thread::spawn(|| {
        let fx = Fixture::new();
        (fx.path("state"), state_dir_passed())
    })
    .join()
    .unwrap();
    assert_eq!(Some(theirs.0), theirs.1);
    assert_eq!(state_dir_passed(), Some(fx.path("state")));
    drop(fx);
    assert_eq!(state_dir_passed(), None);
}

/// A process's state letter and parent from /proc; None once it is gone.
fn stat(pid: u32) -> Option<(String, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which ends at the last ')': the state, then the parent's pid.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.to_string();
    Some((state, fields.next()?.parse().ok()?))
}

/// Running, not gone or a zombie waiting for a parent to reap it.
fn running(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _)| state != "Z")
}

/// The processes whose parent is `pid`.
fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| stat(child).is_some_and(|(_, parent)| parent == pid))
        .collect()
}

#[test]
fn a_test_that_fails_before_stopping_its_bench_leaves_no_bench_running() {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let started = std::sync::Mutex::new(None);
    let failed = std::panic::catch_unwind(|| {
        let bench = start_bench_up(&rig, &[]);
        *started.lock().unwrap() = Some((bench.id(), children_of(bench.id())));
        panic!("a test failing with its bench up");
    });
    assert!(failed.is_err());
    let (pid, children) = started.into_inner().unwrap().expect("the bench started");
    assert!(
        !children.is_empty(),
        "the bench's boards run as its children"
    );
    // Reaped, not only killed: a zombie would still be listed.
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "hil bench up (pid {pid}) outlived the failed test"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Some(alive) = children.iter().find(|&&c| running(c)) {
        assert!(
            Instant::now() < deadline,
            "the bench's child {alive} outlived it by 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
