//! A twin board asleep for longer than ten wall-clock seconds wakes normally. (Host processes started from a
//! short-lived thread were killed by their parent-death signal when that thread ended: every long sleep became a
//! watchdog reset at low speeds, as the nightly job's --speed 5 uses.)

mod common;
use common::*;

#[test]
fn sleeps_longer_than_ten_real_seconds_end_in_a_deep_sleep_wake() {
    let fx = Fixture::new();
    let scenario = fx.write(
        "slow.toml",
        "name = \"slow\"\nduration = \"40s\"\n[firmware]\nsleep = \"13s\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
         [expect]\nreadings = { within_volts = 0.15, min_count = 3 }\nperiod = { nominal = \"15s\", tolerance = \"20%\" }\n",
    );
    let report = fx.path("report");
    let out = hil(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--speed",
            "1",
            "--report",
            report.to_str().unwrap(),
        ],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = std::fs::read_to_string(report.join("slow/events.jsonl")).unwrap();
    assert!(
        !log.contains("watchdog"),
        "no wake may be a watchdog reset:\n{log}"
    );
    assert!(log.contains("\"reset\":\"deepsleep\""), "{log}");
}
