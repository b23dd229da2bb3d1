//! Sleep drift: each deep sleep lasts the time the firmware asked for (`sleep …ms`) within a tolerance. A sleep
//! ends at the ROM banner of the wake it caused (`rst cause:2`, printed at reset, before the app's one-second
//! maintenance window), or at the app's `boot` line when no banner was seen.

use super::view::{rom_cause, RunView};
use super::Verdict;
use crate::events::Body;
use crate::scenario::SleepDriftExpectation;

/// The ROM's reset cause for a deep-sleep wake (GPIO16 wired to RST pulls the reset pin).
const DEEPSLEEP_ROM_CAUSE: u32 = 2;

/// (sleep start, requested seconds, slept seconds) of each deep sleep that ended in a deep-sleep wake.
pub(crate) fn sleeps(view: &RunView, board: &str) -> Vec<(f64, f64, f64)> {
    let mut out = Vec::new();
    let mut asleep: Option<(f64, f64)> = None;
    for e in view.events() {
        match &e.body {
            Body::BoardSleep { board: b, ms } if b == board => {
                asleep = Some((e.t, *ms as f64 / 1000.0));
            }
            Body::Console { board: b, line } if b == board => {
                if let (Some(cause), Some((from, asked))) = (rom_cause(line), asleep.take()) {
                    if cause == DEEPSLEEP_ROM_CAUSE {
                        out.push((from, asked, e.t - from));
                    }
                }
            }
            Body::BoardWake {
                board: b, reset, ..
            } if b == board => {
                if let Some((from, asked)) = asleep.take() {
                    if reset == "deepsleep" {
                        out.push((from, asked, e.t - from));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub fn sleep_drift(expect: &SleepDriftExpectation, view: &RunView, board: &str) -> Verdict {
    let measured = sleeps(view, board);
    if measured.is_empty() {
        return Verdict::new(
            "sleep-drift",
            board,
            false,
            "no deep sleep was followed by a deep-sleep wake".into(),
        );
    }
    let drift = |&(_, asked, slept): &(f64, f64, f64)| slept / asked - 1.0;
    let (lo, hi) = measured
        .iter()
        .map(drift)
        .fold((f64::MAX, f64::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
    let over: Vec<_> = measured
        .iter()
        .filter(|m| drift(m).abs() > expect.max)
        .collect();
    let range = format!(
        "drift {:+.2}%..{:+.2}% over {} sleeps, allowed ±{}",
        lo * 100.0,
        hi * 100.0,
        measured.len(),
        expect.max_text
    );
    match over.first() {
        Some(m @ (from, asked, slept)) => Verdict::new(
            "sleep-drift",
            board,
            false,
            format!(
                "{} sleeps outside ±{}; first: asked {asked:.1}s at t={from:.1}s, slept {slept:.1}s ({:+.2}%); {range}",
                over.len(),
                expect.max_text,
                drift(m) * 100.0
            ),
        ),
        None => Verdict::new("sleep-drift", board, true, range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::Event;

    fn expect() -> SleepDriftExpectation {
        SleepDriftExpectation {
            max: 0.03,
            max_text: "3%".into(),
        }
    }

    fn sleep(t: f64, ms: u64) -> Event {
        Event {
            t,
            body: Body::BoardSleep {
                board: "b".into(),
                ms,
            },
        }
    }

    fn banner(t: f64, cause: u32) -> Event {
        Event {
            t,
            body: Body::Console {
                board: "b".into(),
                line: format!("ets Jan  8 2013,rst cause:{cause}, boot mode:(3,6)"),
            },
        }
    }

    #[test]
    fn sleeps_are_measured_from_the_sleep_line_to_the_rom_banner() {
        let events = vec![
            start(&["b"]),
            sleep(2.0, 60_000),
            banner(60.8, 2),
            wake(61.9, "b", "deepsleep"),
            sleep(63.0, 60_000),
            banner(121.5, 2),
            wake(122.6, "b", "deepsleep"),
        ];
        let v = sleep_drift(&expect(), &RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{}", v.message);
        assert!(
            v.message.starts_with("drift -2.50%..-2.00% over 2 sleeps"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_long_sleep_fails_and_power_on_wakes_are_not_sleeps() {
        let events = vec![
            start(&["b"]),
            sleep(2.0, 60_000),
            banner(40.0, 1),
            wake(41.0, "b", "power-on"),
            sleep(42.0, 60_000),
            banner(108.0, 2),
        ];
        let v = sleep_drift(&expect(), &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message
                .contains("asked 60.0s at t=42.0s, slept 66.0s (+10.00%)"),
            "{}",
            v.message
        );
        assert!(v.message.contains("over 1 sleeps"), "{}", v.message);
    }

    #[test]
    fn without_a_banner_the_boot_line_ends_the_sleep_and_no_sleep_fails() {
        let events = vec![
            start(&["b"]),
            sleep(2.0, 30_000),
            wake(31.5, "b", "deepsleep"),
        ];
        assert!(sleep_drift(&expect(), &RunView::new(&events).unwrap(), "b").pass);
        let events = vec![start(&["b"]), wake(1.0, "b", "power-on")];
        assert!(!sleep_drift(&expect(), &RunView::new(&events).unwrap(), "b").pass);
    }
}
