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
                    "{} arrived during the {fault} fault ({start:.1}s..{end:.1}s)",
                    r.label()
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
/// Not judged where the payload carries no seq: which readings were lost cannot be told.
pub fn no_lost_readings(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "no-lost-readings";
    let format = view.payload();
    if format.seq_key().is_none() {
        return Verdict::not_judged(
            NAME,
            board,
            &format!(
                "the payload format is {}, which carries no seq: lost readings cannot be told from the ones that arrived",
                format.describe()
            ),
        );
    }
    let readings = view.readings(board);
    let without = readings.iter().filter(|r| r.seq.is_none()).count();
    if without > 0 {
        return Verdict::not_judged(
            NAME,
            board,
            &format!(
                "{without} of {} readings carried no seq (key {:?} of the {} payload)",
                readings.len(),
                format.seq_key().unwrap_or_default(),
                format.describe()
            ),
        );
    }
    let SeqAccount {
        expected,
        received,
        monitored,
    } = seq_account(view, board);
    if expected.is_empty() {
        return Verdict::new(
            NAME,
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
            NAME,
            board,
            true,
            format!(
                "all {} announced seqs arrived ({late} of them late){tap_note}",
                expected.len()
            ),
        )
    } else {
        Verdict::new(
            NAME,
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

/// Which seqs the board announced and which arrived.
pub(crate) struct SeqAccount {
    /// Announced by a wake before the last reading arrived (a later one may still sit in the backlog at the end).
    pub expected: BTreeSet<u64>,
    /// Received by the monitor or seen published by the tap.
    pub received: BTreeSet<u64>,
    /// Received by the monitor.
    pub monitored: BTreeSet<u64>,
}

impl SeqAccount {
    /// Announced seqs that never arrived.
    pub fn lost(&self) -> Vec<u64> {
        self.expected.difference(&self.received).copied().collect()
    }
}

pub(crate) fn seq_account(view: &RunView, board: &str) -> SeqAccount {
    let readings = view.readings(board);
    let monitored: BTreeSet<u64> = readings.iter().filter_map(|r| r.seq).collect();
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
    let expected: BTreeSet<u64> = view
        .announced_seqs(board)
        .into_iter()
        .filter(|(t, _)| *t < last_arrival)
        .map(|(_, s)| s)
        .collect();
    SeqAccount {
        expected,
        received,
        monitored,
    }
}

/// (wake, sleep) of each wake, from the best source the run has, named: the supply's current when the board has
/// its channel to itself (as a bench sees it), else its console's wake and sleep lines, else the tap's
/// CONNECT-to-close windows (the MQTT part of each wake: a lower bound when WiFi takes long).
pub(crate) fn awake_windows(
    view: &RunView,
    board: &str,
) -> Option<(Vec<(f64, f64)>, &'static str)> {
    let from_current = view
        .supply_of(board)
        .filter(|_| view.alone_on_supply(board))
        .and_then(|s| super::current::awake_windows(&view.supply_current(s)))
        .map(|(w, _)| w);
    let sources = [
        (from_current.unwrap_or_default(), "supply current"),
        (view.awake_windows(board), "console"),
        (
            view.connection_windows(board),
            "tap's CONNECT-to-close windows",
        ),
    ];
    sources.into_iter().find(|(w, _)| !w.is_empty())
}

/// Awake time per wake: the longest of them within `max`.
pub fn awake(max: f64, view: &RunView, board: &str) -> Verdict {
    let Some((windows, source)) = awake_windows(view, board) else {
        return Verdict::new(
            "awake",
            board,
            false,
            "no awake window in the current trace, on the console or at the tap".into(),
        );
    };
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
                .contains("seq 3 at t=150.0s arrived during the broker-down fault"),
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
    fn lost_readings_are_not_judged_where_the_payload_has_no_seq() {
        use crate::payload::{PayloadFormat, Unit};
        let plain = PayloadFormat::Plain { unit: Unit::Volts };
        let events = vec![
            start_with_payload(&["b"], plain),
            plain_reading(2.0, "b", 12.6),
            plain_reading(32.0, "b", 12.6),
        ];
        let v = no_lost_readings(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass && !v.judged, "{v:?}");
        assert!(
            v.message
                .starts_with("not judged: the payload format is plain volts, which carries no seq"),
            "{}",
            v.message
        );
        // A JSON payload that left its seq out cannot be judged either, and says how many did.
        let events = vec![
            start(&["b"]),
            wake_seq(1.0, 0),
            reading(2.0, "b", 0, 12.0),
            plain_reading(32.0, "b", 12.6),
        ];
        let v = no_lost_readings(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass && !v.judged, "{v:?}");
        assert!(
            v.message
                .contains("1 of 2 readings carried no seq (key \"seq\" of the json payload)"),
            "{}",
            v.message
        );
    }

    #[test]
    fn awake_over_the_limit_fails() {
        let events = vec![
            start(&["b"]),
            wake(1.0, "b", "power-on"),
            sleep(4.0, "b"),
            wake(61.0, "b", "deepsleep"),
            sleep(70.0, "b"),
        ];
        let v = awake(6.0, &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(v.message.contains("longest awake 9.0s"), "{}", v.message);
    }

    fn sleep(t: f64, board: &str) -> Event {
        Event {
            t,
            body: Body::BoardSleep {
                board: board.into(),
                ms: 60000,
            },
        }
    }

    /// The supply's current: 24 mA while awake during `awake`, 0.16 mA asleep, sampled every 0.5 s.
    fn current_trace(until: f64, awake: &[(f64, f64)]) -> Vec<Event> {
        (0..(until * 2.0) as u32)
            .map(|i| {
                let t = f64::from(i) * 0.5;
                let on = awake.iter().any(|(a, b)| (*a..*b).contains(&t));
                Event {
                    t,
                    body: Body::SupplySample {
                        supply: "twin:1".into(),
                        volts: 3.3,
                        amps: if on { 0.024 } else { 0.00016 },
                    },
                }
            })
            .collect()
    }

    #[test]
    fn awake_comes_from_the_tap_when_nothing_else_saw_the_wakes() {
        let events = vec![
            start(&["b"]),
            tap_connect(2.0, "b", 60),
            tap_close(3.5, "b"),
            tap_connect(62.0, "b", 60),
            tap_close(64.0, "b"),
        ];
        let view = RunView::new(&events).unwrap();
        let v = awake(6.0, &view, "b");
        assert!(v.pass, "{}", v.message);
        assert!(
            v.message
                .contains("longest awake 2.0s (t=62.0s..64.0s, from the tap's CONNECT-to-close"),
            "{}",
            v.message
        );
        let v = awake(1.8, &view, "b");
        assert!(!v.pass);
        assert!(v.message.contains("1 of 2 wakes over"), "{}", v.message);
    }

    #[test]
    fn the_console_comes_before_the_tap() {
        let events = vec![
            start(&["b"]),
            wake(1.0, "b", "power-on"),
            tap_connect(2.0, "b", 60),
            tap_close(3.0, "b"),
            sleep(4.0, "b"),
        ];
        let v = awake(6.0, &RunView::new(&events).unwrap(), "b");
        assert!(
            v.message
                .contains("longest awake 3.0s (t=1.0s..4.0s, from the console)"),
            "{}",
            v.message
        );
    }

    #[test]
    fn the_current_trace_comes_first_when_the_board_is_alone_on_its_channel() {
        let mut events = vec![start(&["b"])];
        events.extend(current_trace(20.0, &[(1.0, 5.0)]));
        events.extend([
            wake(1.5, "b", "power-on"),
            tap_connect(2.0, "b", 60),
            tap_close(3.0, "b"),
            sleep(4.0, "b"),
        ]);
        events.sort_by(|a, b| a.t.total_cmp(&b.t));
        let v = awake(6.0, &RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{}", v.message);
        assert!(
            v.message.contains("from the supply current"),
            "{}",
            v.message
        );
        // With a second board on the channel the current is not this board's own: the console is used.
        events[0] = start(&["b", "c"]);
        let v = awake(6.0, &RunView::new(&events).unwrap(), "b");
        assert!(v.message.contains("from the console"), "{}", v.message);
    }

    #[test]
    fn no_source_at_all_fails_and_says_where_it_looked() {
        let v = awake(6.0, &RunView::new(&[start(&["b"])]).unwrap(), "b");
        assert!(!v.pass);
        assert!(v.message.contains("at the tap"), "{}", v.message);
    }
}
