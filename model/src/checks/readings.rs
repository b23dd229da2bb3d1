//! Readings: each reported voltage is within tolerance of the supply's measured voltage when the board sampled
//! it (its wake), and enough distinct readings arrived.

use super::view::{ReadingAt, RunView};
use super::Verdict;
use crate::scenario::ReadingsExpectation;
use std::collections::BTreeSet;

pub fn check(expect: &ReadingsExpectation, view: &RunView, board: &str) -> Vec<Verdict> {
    let readings = view.readings(board);
    let count = count(expect, view, board);
    let Some(supply) = view.supply_of(board) else {
        return vec![count];
    };
    let mut checked = 0;
    let mut worst: Option<(f64, String)> = None;
    let mut failures = Vec::new();
    for c in compare_with_supply(view, board, supply) {
        checked += 1;
        let measured = if c.hi - c.lo < 0.0005 {
            format!("{:.3} V", c.lo)
        } else {
            format!("{:.3}..{:.3} V", c.lo, c.hi)
        };
        let when = match c.woke {
            Some(t) => format!("between its wake (t={t:.1}s) and its arrival"),
            None => "at its arrival (no wake seen before it)".into(),
        };
        let detail = format!(
            "{} reported {:.2} V, supply measured {measured} {when}: off by {:.2} V",
            c.reading.label(),
            c.reading.v,
            c.error
        );
        if c.error > expect.within_volts {
            failures.push(detail.clone());
        }
        if worst.as_ref().is_none_or(|(w, _)| c.error > *w) {
            worst = Some((c.error, detail));
        }
    }
    let accuracy = match (&worst, failures.first()) {
        (None, _) => Verdict::new(
            "readings.accuracy",
            board,
            false,
            format!(
                "no reading could be compared with a supply sample (received {})",
                readings.len()
            ),
        ),
        (Some(_), Some(first)) => Verdict::new(
            "readings.accuracy",
            board,
            false,
            format!(
                "{} of {checked} readings off by more than ±{} V; first: {first}",
                failures.len(),
                expect.within_volts
            ),
        ),
        (Some((_, detail)), None) => Verdict::new(
            "readings.accuracy",
            board,
            true,
            format!(
                "{checked} readings within ±{} V; worst: {detail}",
                expect.within_volts
            ),
        ),
    };
    vec![count, accuracy]
}

/// A timely reading set against what its supply measured while the board sampled it.
pub(crate) struct Compared {
    pub reading: ReadingAt,
    /// The wake it was sampled in, if one was seen before it arrived.
    pub woke: Option<f64>,
    /// The supply's measured range over the sampling window.
    pub lo: f64,
    pub hi: f64,
    /// How far the reading lies outside that range (0 inside it), in volts.
    pub error: f64,
}

/// Every reading that arrived on time and can be compared with a supply sample on `supply`.
pub(crate) fn compare_with_supply(view: &RunView, board: &str, supply: &str) -> Vec<Compared> {
    let mut wakes: Vec<f64> = view.wakes(board).iter().map(|(t, _)| *t).collect();
    if wakes.is_empty() {
        // Firmware that announces no wake (not ours): each wake starts at the ROM's reset banner.
        wakes = view.rom_banners(board);
    }
    view.readings(board)
        .into_iter()
        .filter(|r| !r.late)
        .filter_map(|reading| {
            // The board sampled its ADC between its last wake and the message's arrival; judge the reading
            // against what the supply measured over that window (a step inside it makes both values right).
            let woke = wakes.iter().rev().find(|t| **t <= reading.t).copied();
            let (lo, hi) =
                view.supply_volts_during(supply, woke.unwrap_or(reading.t), reading.t)?;
            let error = if reading.v < lo {
                lo - reading.v
            } else {
                (reading.v - hi).max(0.0)
            };
            Some(Compared {
                reading,
                woke,
                lo,
                hi,
                error,
            })
        })
        .collect()
}

/// Enough readings arrived: distinct seqs (a QoS 1 resend counts once), or every message where the payload has
/// no seq. A payload that is no reading in the run's format fails it: the firmware and the format disagree.
fn count(expect: &ReadingsExpectation, view: &RunView, board: &str) -> Verdict {
    let readings = view.readings(board);
    let distinct: BTreeSet<u64> = readings.iter().filter_map(|r| r.seq).collect();
    let without_seq = readings.iter().filter(|r| r.seq.is_none()).count();
    let (received, what) = match (without_seq, distinct.len()) {
        (0, n) => (n, format!("{n} distinct (seq {})", seq_range(&distinct))),
        (k, 0) => (
            k,
            format!(
                "{k} (their {} payloads carry no seq: each message counted)",
                view.payload().describe()
            ),
        ),
        (k, n) => (
            n + k,
            format!(
                "{n} distinct (seq {}) and {k} without a seq",
                seq_range(&distinct)
            ),
        ),
    };
    let mut message = format!(
        "expected at least {} readings, received {what} by t={:.1}s",
        expect.min_count,
        view.end()
    );
    let errors = view.reading_errors(board);
    if let Some((t, first)) = errors.first() {
        message.push_str(&format!(
            "; {} payload(s) were no reading, first at t={t:.1}s: {first}",
            errors.len()
        ));
    }
    Verdict::new(
        "readings.count",
        board,
        received >= expect.min_count as usize && errors.is_empty(),
        message,
    )
}

fn seq_range(seqs: &BTreeSet<u64>) -> String {
    match (seqs.first(), seqs.last()) {
        (Some(a), Some(b)) => format!("{a}..={b}"),
        _ => "none".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn expect() -> ReadingsExpectation {
        ReadingsExpectation {
            within_volts: 0.15,
            min_count: 2,
        }
    }

    #[test]
    fn passes_when_readings_track_the_supply_and_count_suffices() {
        let events = vec![
            start(&["b"]),
            sample(0.5, 12.60),
            wake(1.0, "b", "power-on"),
            reading(3.0, "b", 0, 12.62),
            sample(60.0, 12.40),
            wake(61.0, "b", "deepsleep"),
            reading(63.0, "b", 1, 12.35),
        ];
        let view = RunView::new(&events).unwrap();
        let v = check(&expect(), &view, "b");
        assert!(v.iter().all(|v| v.pass), "{v:?}");
    }

    #[test]
    fn fails_naming_the_reading_the_supply_value_and_the_error() {
        let events = vec![
            start(&["b"]),
            sample(0.5, 12.60),
            wake(1.0, "b", "power-on"),
            reading(3.0, "b", 0, 13.86),
        ];
        let view = RunView::new(&events).unwrap();
        let v = check(&expect(), &view, "b");
        assert!(!v[0].pass, "only one reading of two: {:?}", v[0]);
        assert!(!v[1].pass);
        assert!(v[1].message.contains("13.86 V"), "{}", v[1].message);
        assert!(v[1].message.contains("12.600 V"), "{}", v[1].message);
        assert!(v[1].message.contains("off by 1.26 V"), "{}", v[1].message);
    }

    #[test]
    fn a_step_between_wake_and_arrival_accepts_either_side_of_it() {
        let events = vec![
            start(&["b"]),
            sample(239.5, 12.40),
            wake(239.9, "b", "deepsleep"),
            sample(240.2, 14.40),
            reading(240.5, "b", 5, 12.41),
            wake(288.0, "b", "deepsleep"),
            reading(290.0, "b", 6, 12.41),
        ];
        let view = RunView::new(&events).unwrap();
        let v = check(
            &ReadingsExpectation {
                within_volts: 0.15,
                min_count: 1,
            },
            &view,
            "b",
        );
        assert!(!v[1].pass, "seq 6 came long after the step: {:?}", v[1]);
        assert!(v[1].message.contains("1 of 2"), "{}", v[1].message);
        assert!(
            v[1].message.contains("seq 6"),
            "seq 5 is fine, seq 6 is not: {}",
            v[1].message
        );
    }

    #[test]
    fn plain_readings_count_each_message_and_a_payload_that_is_no_reading_fails_the_count() {
        use crate::payload::{PayloadFormat, Unit};
        let mut events = vec![
            start_with_payload(&["b"], PayloadFormat::Plain { unit: Unit::Volts }),
            sample(0.5, 12.60),
            plain_reading(3.0, "b", 12.62),
            plain_reading(33.0, "b", 12.58),
        ];
        let view = RunView::new(&events).unwrap();
        let v = check(&expect(), &view, "b");
        assert!(v.iter().all(|v| v.pass), "{v:?}");
        assert!(
            v[0].message.contains(
                "received 2 (their plain volts payloads carry no seq: each message counted)"
            ),
            "{}",
            v[0].message
        );
        assert!(
            v[1].message
                .contains("the reading at t=3.0s reported 12.62 V"),
            "{}",
            v[1].message
        );
        events.push(crate::events::Event {
            t: 63.0,
            body: crate::events::Body::ReadingError {
                board: "b".into(),
                topic: "hil/b/battery".into(),
                message: "\"12,6\" is not a number".into(),
            },
        });
        let view = RunView::new(&events).unwrap();
        let count = &check(&expect(), &view, "b")[0];
        assert!(!count.pass);
        assert!(
            count.message.contains(
                "1 payload(s) were no reading, first at t=63.0s: \"12,6\" is not a number"
            ),
            "{}",
            count.message
        );
    }

    #[test]
    fn without_boot_lines_a_wake_starts_at_the_roms_banner() {
        let one = ReadingsExpectation {
            within_volts: 0.15,
            min_count: 1,
        };
        let mut events = vec![
            start(&["b"]),
            sample(0.5, 12.40),
            sample(1.5, 14.40),
            plain_reading(2.5, "b", 12.41),
        ];
        let v = check(&one, &RunView::new(&events).unwrap(), "b");
        assert!(!v[1].pass, "{v:?}");
        assert!(
            v[1].message
                .contains("supply measured 14.400 V at its arrival (no wake seen before it)"),
            "{}",
            v[1].message
        );
        events.insert(
            2,
            console(1.0, "b", "ets Jan  8 2013,rst cause:2, boot mode:(3,6)"),
        );
        let v = check(&one, &RunView::new(&events).unwrap(), "b");
        assert!(v[1].pass, "{v:?}");
        assert!(
            v[1].message
                .contains("supply measured 12.400..14.400 V between its wake (t=1.0s)"),
            "{}",
            v[1].message
        );
    }

    #[test]
    fn no_readings_fails_both() {
        let events = vec![start(&["b"]), sample(0.5, 12.6)];
        let view = RunView::new(&events).unwrap();
        assert!(check(&expect(), &view, "b").iter().all(|v| !v.pass));
    }
}
