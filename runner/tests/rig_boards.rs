//! Boards on a rig are known by MAC, against `hil bench up` in another process: a board replugged between two
//! runs (SIGUSR1 moves it to a new pty; the rig file's port hint goes stale) is found by scanning the bench's
//! ports, and the image this rig flashed onto it the first time is not flashed again; a board replugged during a
//! scenario is found again by its adapter's USB identity, without a reset (no wake the firmware did not choose);
//! a board the rig file names by `usb_serial` is taken only on that adapter; a board whose port nobody answers on
//! is a clear error naming the board and the step, its checks fail with it, and the board beside it is run and
//! checked as usual.

mod common;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Real time: 12 s with 3 s sleeps.
const SCENARIO: &str = "duration = \"12s\"\n[firmware]\nsleep = \"3s\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
                        [expect]\nreadings = { within_volts = 0.15, min_count = 2 }\nconnack = 0\n";

fn scenario(fx: &Fixture, name: &str, boards: u32) -> PathBuf {
    fx.write(
        &format!("{name}.toml"),
        &format!("name = \"{name}\"\nboards = {boards}\n{SCENARIO}"),
    )
}

/// `hil run --rig RIG SCENARIO`, remembering what it flashed in `state`; the run's events.
fn run_on_rig(
    rig: &Path,
    scenario: &Path,
    report: &Path,
    state: &Path,
) -> (i32, Vec<Value>, String) {
    let out = hil_on_rig(rig, scenario, report, state);
    let name = scenario.file_stem().unwrap().to_str().unwrap();
    let log = std::fs::read_to_string(report.join(name).join("events.jsonl"))
        .unwrap_or_else(|e| panic!("no event log ({e}):\n{}", text(&out)));
    let events = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code().unwrap_or(-1), events, text(&out))
}

fn of_kind<'a>(events: &'a [Value], kind: &str, board: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == kind && e["board"] == board)
        .collect()
}

fn one<'a>(events: &'a [Value], kind: &str, board: &str, all: &str) -> &'a Value {
    match of_kind(events, kind, board)[..] {
        [e] => e,
        ref found => panic!(
            "{} {kind} events for {board}, expected one\n{all}",
            found.len()
        ),
    }
}

/// Replugs the bench's boards: each moves to a new pty; the bench's ports folder follows, the rig file's hint
/// `hint` does not.
fn replug(bench: &BenchUp, rig: &Path, hint: &str) {
    signal(bench, "-USR1");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Path::new(hint).exists() {
        assert!(
            Instant::now() < deadline,
            "{hint} still there after SIGUSR1"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        rig_field(&std::fs::read_to_string(rig).unwrap(), "port"),
        hint,
        "the hint is stale"
    );
}

#[test]
fn a_replugged_board_is_found_by_mac_and_its_image_is_not_flashed_again() {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let state = fx.path("state");
    let bench = start_bench_up(&rig, &[]);
    let hint = rig_field(&std::fs::read_to_string(&rig).unwrap(), "port");
    let scenario = scenario(&fx, "replug", 1);

    let (code, events, all) = run_on_rig(&rig, &scenario, &fx.path("r1"), &state);
    assert_eq!(code, 0, "{all}");
    let port = one(&events, "board.port", "twin-0", &all);
    assert_eq!(port["port"], hint.as_str(), "{port}");
    assert_eq!(port["scanned"], false, "{port}");
    assert_eq!(port["mac"], "5c:cf:7f:00:00:00", "{port}");
    assert_eq!(
        one(&events, "board.flash", "twin-0", &all)["skipped"],
        false
    );

    replug(&bench, &rig, &hint);

    let (code, events, all) = run_on_rig(&rig, &scenario, &fx.path("r2"), &state);
    assert_eq!(code, 0, "{all}");
    let port = one(&events, "board.port", "twin-0", &all);
    assert_eq!(port["scanned"], true, "{port}");
    assert_ne!(port["port"], hint.as_str(), "{port}");
    assert!(port["t"].as_f64().unwrap() < 0.0, "{port}");
    let flash = one(&events, "board.flash", "twin-0", &all);
    assert_eq!(
        flash["skipped"], true,
        "the board already runs the image: {flash}"
    );
    assert!(
        !of_kind(&events, "reading", "twin-0").is_empty(),
        "the board runs on its new port\n{all}"
    );
    stop_bench(bench);
}

/// One run's scenarios share its port finder: the port a board was found on by scanning is given up when its
/// scenario ends, so the next scenario on that board finds it there again.
#[test]
fn a_board_found_by_scanning_is_found_again_by_the_next_scenario_of_the_run() {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let bench = start_bench_up(&rig, &[]);
    let hint = rig_field(&std::fs::read_to_string(&rig).unwrap(), "port");
    replug(&bench, &rig, &hint);
    let names = ["first", "second"];
    for name in names {
        fx.write(
            &format!("two/{name}.toml"),
            &format!("name = \"{name}\"\nboards = 1\n{SCENARIO}"),
        );
    }
    let report = fx.path("report");
    let out = hil_on_rig(&rig, &fx.path("two"), &report, &fx.path("state"));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "both scenarios pass:\n{all}");
    for name in names {
        let log = std::fs::read_to_string(report.join(name).join("events.jsonl")).unwrap();
        let events: Vec<Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let port = one(&events, "board.port", "twin-0", &all);
        assert_eq!(port["scanned"], true, "{name}: {port}");
        assert_ne!(port["port"], hint.as_str(), "{name}: {port}");
    }
    stop_bench(bench);
}

/// A reset-lines side channel that acknowledges every request and drives nothing: the mute board's pty has no
/// chip behind it.
fn idle_lines() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("tcp://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut request = String::new();
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            if BufReader::new(&stream).read_line(&mut request).is_ok() {
                let _ = (&stream).write_all(b"ok\n");
            }
        }
    });
    address
}

/// A pty nobody serves: its path, and both ends, kept open for as long as they are held.
fn silent_pty() -> (String, [std::os::fd::OwnedFd; 2]) {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty fills in two descriptors we then own; the other arguments are null.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both were just returned by openpty.
    let fds = unsafe { [OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)] };
    let path = std::fs::read_link(format!("/proc/self/fd/{}", fds[1].as_raw_fd())).unwrap();
    (path.display().to_string(), fds)
}

#[test]
fn a_board_that_never_answers_fails_its_checks_and_the_board_beside_it_runs() {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let bench = start_bench_up(&rig, &[]);
    let (mute_port, _pty) = silent_pty();
    let mut text_of_rig = std::fs::read_to_string(&rig).unwrap();
    text_of_rig.push_str(&format!(
        "\n[[board]]\nname = \"mute\"\nchip = \"esp8266\"\nmac = \"5c:cf:7f:00:00:99\"\nport = \"{mute_port}\"\n\
         supply = \"twin:1\"\nlines = \"{}\"\n",
        idle_lines()
    ));
    std::fs::write(&rig, text_of_rig).unwrap();
    let scenario = scenario(&fx, "mute", 2);

    let (code, events, all) = run_on_rig(&rig, &scenario, &fx.path("r"), &fx.path("state"));
    assert_eq!(code, 1, "a failed check, not a set-up error\n{all}");
    let error = one(&events, "board.error", "mute", &all);
    assert_eq!(error["step"], "find", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("mute: finding the board by MAC 5c:cf:7f:00:00:99")
            && message.contains(&mute_port)
            && message.contains("no answer to SYNC"),
        "{message}"
    );
    assert!(of_kind(&events, "board.flash", "mute").is_empty());

    let checks: Vec<&Value> = events.iter().filter(|e| e["kind"] == "check").collect();
    let judged =
        |board: &str| -> Vec<&&Value> { checks.iter().filter(|c| c["board"] == board).collect() };
    let mute = judged("mute");
    assert!(mute.len() >= 2, "{checks:?}");
    for check in mute {
        assert_eq!(check["pass"], false, "{check}");
        assert!(
            check["message"]
                .as_str()
                .unwrap()
                .contains("find failed: mute: finding the board by MAC"),
            "{check}"
        );
    }
    let good = judged("twin-0");
    assert!(
        !good.is_empty() && good.iter().all(|c| c["pass"] == true),
        "{checks:?}\n{all}"
    );
    assert!(!of_kind(&events, "reading", "twin-0").is_empty(), "{all}");
    assert!(
        all.contains("mute"),
        "the summary names the failed board\n{all}"
    );
    stop_bench(bench);
}

/// The events of one board, of one kind, at or after the timeline's start.
fn timeline<'a>(events: &'a [Value], kind: &str, board: &str) -> Vec<&'a Value> {
    of_kind(events, kind, board)
        .into_iter()
        .filter(|e| e["t"].as_f64().unwrap() >= 0.0)
        .collect()
}

/// The by-id name `hil bench up` gives the link to the board on `port` in its ports folder.
fn link_name_of(rig: &Path, port: &str) -> String {
    let ports = rig.with_extension("ports");
    std::fs::read_dir(&ports)
        .unwrap()
        .flatten()
        .find(|l| std::fs::canonicalize(l.path()).ok() == Some(PathBuf::from(port)))
        .unwrap_or_else(|| panic!("no link to {port} in {}", ports.display()))
        .file_name()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_board_replugged_mid_scenario_is_found_again_by_usb_identity_and_wakes_no_more_than_it_sleeps()
{
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let state = fx.path("state");
    let report = fx.path("r");
    let bench = start_bench_up(&rig, &[]);
    let hint = rig_field(&std::fs::read_to_string(&rig).unwrap(), "port");
    let by_id = link_name_of(&rig, &hint);
    // Real time: 20 s with 3 s sleeps, so wakes come after the replug too.
    let scenario = fx.write(
        "replug-mid.toml",
        &format!(
            "name = \"replug-mid\"\nboards = 1\n{}",
            SCENARIO.replace("12s", "20s")
        ),
    );
    let run = spawn_hil(
        &rig_run_args(&rig, &scenario, &report),
        &[
            ("HIL_STATE_DIR", state.to_str().unwrap()),
            ("HIL_LOG", "warn"),
        ],
    );
    // Replugged while the board sleeps (it said so), so no line it prints is cut by the replug.
    let log = report.join("replug-mid").join("events.jsonl");
    wait_for_log(&log, "\"kind\":\"board.sleep\"", Duration::from_secs(90));
    signal(&bench, "-USR1");
    let out = finish(run, "hil run --rig");
    let all = text(&out);
    let events: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    // The board's timeline: one power-on, then only the wakes its deep sleeps end in. A MAC read through the
    // ROM loader would add a reset the firmware never chose (a `hard` wake, and a banner with it).
    let wakes: Vec<&str> = timeline(&events, "board.wake", "twin-0")
        .iter()
        .map(|w| w["reset"].as_str().unwrap())
        .collect();
    assert!(wakes.len() >= 3, "{wakes:?}\n{all}");
    assert_eq!(wakes[0], "power-on", "{wakes:?}");
    assert!(
        wakes[1..].iter().all(|r| *r == "deepsleep"),
        "a wake the firmware did not choose: {wakes:?}\n{all}"
    );
    let console = timeline(&events, "console", "twin-0");
    let banners = console
        .iter()
        .filter(|c| c["line"].as_str().unwrap().contains("ets Jan  8 2013"))
        .count();
    assert_eq!(banners, wakes.len(), "one ROM banner per wake\n{all}");

    let lost = one(&events, "board.lost", "twin-0", &all);
    assert_eq!(lost["by"], "usb", "{lost}");
    let lost_at = lost["t"].as_f64().unwrap();
    let ports = of_kind(&events, "board.port", "twin-0");
    assert_eq!(ports.len(), 2, "provisioning's, then the re-find's\n{all}");
    assert_eq!(
        (&ports[0]["by"], &ports[0]["usb"]),
        (&Value::from("mac"), &Value::from(by_id.as_str())),
        "provisioning records the USB identity next to the MAC: {}",
        ports[0]
    );
    let refound = ports[1];
    assert_eq!(refound["by"], "usb", "{refound}");
    assert_eq!(refound["usb"], by_id.as_str(), "{refound}");
    assert_eq!(refound["mac"], "5c:cf:7f:00:00:00", "{refound}");
    assert_ne!(refound["port"], hint.as_str(), "{refound}");
    assert!(refound["t"].as_f64().unwrap() >= lost_at, "{refound}");
    assert!(
        timeline(&events, "board.wake", "twin-0")
            .iter()
            .any(|w| w["t"].as_f64().unwrap() > lost_at),
        "the board's console is read on its new port\n{all}"
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    stop_bench(bench);
}

#[test]
fn a_board_named_by_usb_serial_is_taken_only_on_that_adapter() {
    let fx = Fixture::new();
    let rig = fx.path("lab.toml");
    let bench = start_bench_up(&rig, &["--boards", "2"]);
    let text_of_rig = std::fs::read_to_string(&rig).unwrap();
    let port_of = |board: &str| {
        let table = text_of_rig
            .split("[[board]]")
            .find(|t| t.contains(&format!("name = \"{board}\"")))
            .unwrap();
        rig_field(table, "port")
    };
    let serial_of = |board: &str| {
        let name = link_name_of(&rig, &port_of(board));
        let id = name.strip_suffix("-if00-port0").unwrap().to_string();
        id.rsplit_once('_').unwrap().1.to_string()
    };
    // twin-0 by its own serial number, twin-1 by one no adapter has.
    let named = text_of_rig
        .replacen(
            "name = \"twin-0\"\n",
            &format!(
                "name = \"twin-0\"\nusb_serial = \"{}\"\n",
                serial_of("twin-0")
            ),
            1,
        )
        .replacen(
            "name = \"twin-1\"\n",
            "name = \"twin-1\"\nusb_serial = \"0001\"\n",
            1,
        );
    std::fs::write(&rig, named).unwrap();
    let scenario = scenario(&fx, "named", 2);

    let (code, events, all) = run_on_rig(&rig, &scenario, &fx.path("r"), &fx.path("state"));
    assert_eq!(code, 1, "a failed check, not a set-up error\n{all}");
    let port = one(&events, "board.port", "twin-0", &all);
    assert!(
        port["usb"].as_str().unwrap().contains(&serial_of("twin-0")),
        "{port}"
    );
    assert!(!of_kind(&events, "reading", "twin-0").is_empty(), "{all}");
    let error = one(&events, "board.error", "twin-1", &all);
    assert_eq!(error["step"], "find", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("answered on {}", port_of("twin-1")))
            && message.contains(&serial_of("twin-1"))
            && message.contains("usb_serial = \"0001\""),
        "{message}"
    );
    stop_bench(bench);
}
