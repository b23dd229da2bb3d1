//! Delivery checks: silence while a fault keeps the board from the broker, no seq lost, bounded awake time.

use super::view::RunView;
use super::Verdict;
use std::collections::BTreeSet;

/// Faults (as the log names them) during which a board cannot deliver a reading.
const SILENCING: [&str; 4] = ["refuse-connect", "broker-down", "supply-off", "wifi-off"];

pub fn silence_during_faults(view: &RunView, board: &str) -> Verdict {
    let windows: Vec<_> = view
        .faults()
        .into_iter()
        .filter(|(_, _, f)| SILENCING.iter().any(|k| f.starts_with(k)))
        .collect();
    if windows.is_empty() {
        return Verdict::new(
            "silence",
            board,
            false,
            "no silencing fault was recorded in the run".into(),
        );
    }
    let readings = view.readings(board);
    for (start, end, fault) in &windows {
        if let Some(r) = readings.iter().find(|r| r.t > *start && r.t < *end) {
            return Verdict::new(
                "silence",
                board,
                false,
                format!(
                    "reading seq {} arrived at t={:.1}s during the {fault} fault ({start:.1}s..{end:.1}s)",
                    r.seq, r.t
                ),
            );
        }
    }
    Verdict::new(
        "silence",
        board,
        true,
        format!("no reading during {} fault window(s)", windows.len()),
    )
}

/// Every seq a wake announced reached the broker: as the monitor received it, or as the tap saw the board publish
/// it (the monitor can miss messages while it reconnects to a restarted broker; the board did not lose them).
pub fn no_lost_readings(view: &RunView, board: &str) -> Verdict {
    let readings = view.readings(board);
    let monitored: BTreeSet<u64> = readings.iter().map(|r| r.seq).collect();
    let tapped = view.published_seqs(board);
    let received: BTreeSet<u64> = monitored
        .iter()
        .chain(tapped.iter().map(|(_, s)| s))
        .copied()
        .collect();
    let last_arrival = readings
        .iter()
        .map(|r| r.t)
        .chain(tapped.iter().map(|(t, _)| *t))
        .fold(f64::MIN, f64::max);
    // A seq announced after the last reading arrived may still sit in the backlog when the run ends.
    let expected: BTreeSet<u64> = view
        .announced_seqs(board)
        .into_iter()
        .filter(|(t, _)| *t < last_arrival)
        .map(|(_, s)| s)
        .collect();
    if expected.is_empty() {
        return Verdict::new(
            "no-lost-readings",
            board,
            false,
            "no wake announced a seq before a reading arrived".into(),
        );
    }
    let lost: Vec<u64> = expected.difference(&received).copied().collect();
    let late = readings.iter().filter(|r| r.late).count();
    let tap_only = received.difference(&monitored).count();
    let tap_note = if tap_only > 0 {
        format!("; {tap_only} seen only by the tap (the monitor was not connected)")
    } else {
        String::new()
    };
    if lost.is_empty() {
        Verdict::new(
            "no-lost-readings",
            board,
            true,
            format!(
                "all {} announced seqs arrived ({late} of them late){tap_note}",
                expected.len()
            ),
        )
    } else {
        Verdict::new(
            "no-lost-readings",
            board,
            false,
            format!(
                "{} seq(s) announced but never published: {lost:?} ({} received){tap_note}",
                lost.len(),
                received.len()
            ),
        )
    }
}

/// Awake time per wake: from the supply's current when the board has its channel to itself (as a bench sees
/// it), else from its console's wake and sleep lines.
pub fn awake(max: f64, view: &RunView, board: &str) -> Verdict {
    let from_current = view
        .supply_of(board)
        .filter(|_| view.alone_on_supply(board))
        .and_then(|s| super::current::awake_windows(&view.supply_current(s)))
        .map(|(w, _)| w)
        .filter(|w| !w.is_empty());
    let (windows, source) = match from_current {
        Some(w) => (w, "supply current"),
        None => (view.awake_windows(board), "console"),
    };
    if windows.is_empty() {
        return Verdict::new(
            "awake",
            board,
            false,
            "no awake window in the current trace or on the console".into(),
        );
    }
    let longest = windows
        .iter()
        .copied()
        .max_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)));
    let (woke, slept) = longest.unwrap_or((0.0, 0.0));
    let over = windows.iter().filter(|(w, s)| s - w > max).count();
    Verdict::new(
        "awake",
        board,
        over == 0,
        format!(
            "longest awake {:.1}s (t={woke:.1}s..{slept:.1}s, from the {source}), allowed {max}s; {over} of {} wakes over",
            slept - woke,
            windows.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::{Body, Event};

    fn fault(t: f64, on: bool) -> Event {
        Event {
            t,
            body: if on {
                Body::FaultStart {
                    fault: "broker-down".into(),
                    until: 200.0,
                }
            } else {
                Body::FaultEnd {
                    fault: "broker-down".into(),
                }
            },
        }
    }

    fn wake_seq(t: f64, seq: u64) -> Event {
        Event {
            t,
            body: Body::BoardWake {
                board: "b".into(),
                reset: "deepsleep".into(),
                seq: Some(seq),
            },
        }
    }

    #[test]
    fn a_reading_inside_a_fault_breaks_silence() {
        let events = vec![
            start(&["b"]),
            fault(100.0, true),
            reading(150.0, "b", 3, 12.0),
            fault(200.0, false),
        ];
        let v = silence_during_faults(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message
                .contains("seq 3 arrived at t=150.0s during the broker-down fault"),
            "{}",
            v.message
        );
    }

    #[test]
    fn lost_seqs_are_listed_and_late_ones_count() {
        let events = vec![
            start(&["b"]),
            wake_seq(1.0, 0),
            reading(2.0, "b", 0, 12.0),
            wake_seq(61.0, 1),
            wake_seq(121.0, 2),
            reading(122.0, "b", 2, 12.0),
        ];
        let v = no_lost_readings(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(v.message.contains("[1]"), "{}", v.message);
    }

    #[test]
    fn awake_over_the_limit_fails() {
        let events = vec![
            start(&["b"]),
            wake(1.0, "b", "power-on"),
            Event {
                t: 4.0,
                body: Body::BoardSleep {
                    board: "b".into(),
                    ms: 60000,
                },
            },
            wake(61.0, "b", "deepsleep"),
            Event {
                t: 70.0,
                body: Body::BoardSleep {
                    board: "b".into(),
                    ms: 60000,
                },
            },
        ];
        let v = awake(6.0, &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(v.message.contains("longest awake 9.0s"), "{}", v.message);
    }
}
