//! The supply's link breaking mid-run, between `hil run --rig` and `hil bench up`'s SCPI supply, through a
//! loopback TCP relay the test controls: a dropped connection is reconnected and the run goes on; a link that
//! stays down fails the run with an error naming the supply, in bounded time.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::Child;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Relays loopback connections to `upstream`; `cut` closes every open one; while `refusing`, new ones are closed
/// at once, while `stalling` held open and never answered.
struct Relay {
    address: String,
    accepted: Arc<AtomicUsize>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    refusing: Arc<AtomicBool>,
    stalling: Arc<AtomicBool>,
}

impl Relay {
    fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("tcp://{}", listener.local_addr().unwrap());
        let relay = Relay {
            address,
            accepted: Arc::default(),
            open: Arc::default(),
            refusing: Arc::default(),
            stalling: Arc::default(),
        };
        let (accepted, open, refusing, stalling) = (
            relay.accepted.clone(),
            relay.open.clone(),
            relay.refusing.clone(),
            relay.stalling.clone(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if refusing.load(Ordering::SeqCst) {
                    continue;
                }
                if stalling.load(Ordering::SeqCst) {
                    open.lock().unwrap().push(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                accepted.fetch_add(1, Ordering::SeqCst);
                for (from, to) in [(&client, &server), (&server, &client)] {
                    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        while let Ok(n @ 1..) = from.read(&mut buf) {
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
                open.lock().unwrap().extend([client, server]);
            }
        });
        relay
    }

    fn cut(&self) {
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// `hil bench up`, and a rig file whose supply is reached through a relay.
fn bench_through_relay(fx: &Fixture) -> (BenchUp, Relay, std::path::PathBuf) {
    let up = fx.path("up.toml");
    let bench = start_bench_up(&up, &[]);
    let text = std::fs::read_to_string(&up).unwrap();
    let address = rig_field(&text, "address");
    let relay = Relay::start(address.trim_start_matches("tcp://").to_string());
    let rig = fx.write("lab.toml", &text.replace(&address, &relay.address));
    (bench, relay, rig)
}

/// A 24 s real-time scenario with a step at 12 s, so the driver must talk to the supply after the cut.
fn scenario(fx: &Fixture) -> std::path::PathBuf {
    fx.write(
        "link.toml",
        "name = \"link\"\nduration = \"24s\"\n[firmware]\nsleep = \"4s\"\n[supply]\n\
         profile = [{ at = \"0s\", volts = 12.6 }, { at = \"12s\", volts = 12.2 }]\n\
         [expect]\nreadings = { within_volts = 0.15, min_count = 2 }\n",
    )
}

fn run(rig: &std::path::Path, scenario: &std::path::Path, report: &std::path::Path) -> Child {
    spawn_hil(
        &[&rig_run_args(rig, scenario, report)[..], &["--quiet"]].concat(),
        &[],
    )
}

/// Waits until the run's timeline has started and samples flow.
fn wait_for_samples(events: &std::path::Path) {
    wait_for_log(
        events,
        "\"kind\":\"supply.sample\"",
        Duration::from_secs(45),
    );
}

#[test]
fn a_dropped_supply_link_is_reconnected_and_the_run_goes_on() {
    let fx = Fixture::new();
    let (bench, relay, rig) = bench_through_relay(&fx);
    let report = fx.path("report");
    let child = run(&rig, &scenario(&fx), &report);
    let events = report.join("link/events.jsonl");
    wait_for_samples(&events);
    let before = relay.accepted.load(Ordering::SeqCst);
    relay.cut();
    let cut_at = std::fs::read_to_string(&events).unwrap().lines().count();
    let out = child.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        relay.accepted.load(Ordering::SeqCst) > before,
        "the driver never reconnected"
    );
    let log = std::fs::read_to_string(&events).unwrap();
    let after: Vec<&str> = log.lines().skip(cut_at).collect();
    assert!(
        after
            .iter()
            .any(|l| l.contains("\"kind\":\"supply.set\"") && l.contains("\"volts\":12.2")),
        "the step after the cut reached the supply:\n{log}"
    );
    stop_bench(bench);
}

#[test]
fn a_supply_link_that_stays_down_fails_the_run_naming_the_supply() {
    let fx = Fixture::new();
    let (bench, relay, rig) = bench_through_relay(&fx);
    let report = fx.path("report");
    let child = run(&rig, &scenario(&fx), &report);
    wait_for_samples(&report.join("link/events.jsonl"));
    relay.refusing.store(true, Ordering::SeqCst);
    relay.cut();
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("twin"), "the error names the supply:\n{all}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the run hung for {:?}",
        started.elapsed()
    );
    let log = std::fs::read_to_string(report.join("link/events.jsonl")).unwrap();
    assert!(log.contains("\"kind\":\"supply.error\""), "{log}");
    stop_bench(bench);
}

/// A run killed while its supply does not answer: its safety guard keeps the bench locked while it tries (each
/// call bounded), so no new run can take the bench before it is safe; the guard then says it could not.
#[test]
fn a_killed_run_keeps_the_bench_locked_until_its_guard_is_done() {
    let fx = Fixture::new();
    let (bench, relay, rig) = bench_through_relay(&fx);
    let scenario = scenario(&fx);
    let report = fx.path("report");
    let mut killed = run(&rig, &scenario, &report);
    wait_for_samples(&report.join("link/events.jsonl"));
    relay.stalling.store(true, Ordering::SeqCst);
    relay.cut();
    killed.kill().unwrap();
    killed.wait().unwrap();
    let second = hil(&rig_run_args(&rig, &scenario, &fx.path("r2")), &[]);
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(
        text(&second).contains("is in use"),
        "the bench must stay locked while the guard works:\n{}",
        text(&second)
    );
    // The guard holds the killed run's stderr until it is done.
    let mut said = String::new();
    std::io::Read::read_to_string(&mut killed.stderr.take().unwrap(), &mut said).unwrap();
    assert!(
        said.contains("could not make the bench safe — check it by hand"),
        "{said}"
    );
    stop_bench(bench);
}
