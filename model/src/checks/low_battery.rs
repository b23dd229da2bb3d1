//! Low-battery flag: a reading below the threshold carries `low: true`, every other reading `low: false`.

use super::view::RunView;
use super::Verdict;

/// Not judged where the payload carries no flag.
pub fn check(below: f64, view: &RunView, board: &str) -> Verdict {
    let format = view.payload();
    let Some(key) = format.low_key() else {
        return Verdict::not_judged(
            "low-battery",
            board,
            &format!(
                "the payload format is {}, which carries no low-battery flag",
                format.describe()
            ),
        );
    };
    let readings = view.readings(board);
    let unflagged = readings.iter().filter(|r| r.low.is_none()).count();
    if unflagged > 0 {
        return Verdict::not_judged(
            "low-battery",
            board,
            &format!(
                "{unflagged} of {} readings carried no low-battery flag (key {key:?} of the {} payload)",
                readings.len(),
                format.describe()
            ),
        );
    }
    if readings.is_empty() {
        return Verdict::new(
            "low-battery",
            board,
            false,
            "no readings arrived to judge the low-battery flag by".into(),
        );
    }
    // The flag belongs to the sample, so late readings are judged too.
    let wrong: Vec<_> = readings
        .iter()
        .filter(|r| Some(r.v < below) != r.low)
        .collect();
    let low = readings.iter().filter(|r| r.v < below).count();
    match wrong.first() {
        Some(r) => Verdict::new(
            "low-battery",
            board,
            false,
            format!(
                "{} of {} readings carry the wrong flag; first: {} reported {:.2} V with low: {}, expected low: {} (threshold {below} V)",
                wrong.len(),
                readings.len(),
                r.label(),
                r.v,
                r.v >= below,
                r.v < below
            ),
        ),
        None => Verdict::new(
            "low-battery",
            board,
            true,
            format!(
                "{low} readings below {below} V flagged low, {} at or above it not flagged",
                readings.len() - low
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::{Body, Event};

    fn flagged(t: f64, seq: u64, v: f64, low: bool) -> Event {
        let mut e = reading(t, "b", seq, v);
        if let Body::Reading { low: l, .. } = &mut e.body {
            *l = Some(low);
        }
        e
    }

    #[test]
    fn the_flag_follows_the_threshold_on_both_sides() {
        let events = vec![
            start(&["b"]),
            flagged(1.0, 0, 11.95, false),
            flagged(31.0, 1, 11.80, false),
            flagged(61.0, 2, 11.79, true),
            flagged(91.0, 3, 11.40, true),
        ];
        let v = check(11.8, &RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{}", v.message);
        assert!(
            v.message.starts_with("2 readings below 11.8 V"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_missing_or_spurious_flag_fails_naming_the_reading() {
        let events = vec![
            start(&["b"]),
            flagged(1.0, 0, 12.20, false),
            flagged(31.0, 1, 11.60, false),
        ];
        let v = check(11.8, &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message
                .contains("seq 1 at t=31.0s reported 11.60 V with low: false, expected low: true"),
            "{}",
            v.message
        );
        let events = vec![start(&["b"]), flagged(1.0, 0, 12.20, true)];
        assert!(!check(11.8, &RunView::new(&events).unwrap(), "b").pass);
        let events = vec![start(&["b"])];
        assert!(!check(11.8, &RunView::new(&events).unwrap(), "b").pass);
    }

    #[test]
    fn a_payload_without_the_flag_is_not_judged() {
        use crate::payload::{PayloadFormat, Unit};
        let events = vec![
            start_with_payload(
                &["b"],
                PayloadFormat::Plain {
                    unit: Unit::Millivolts,
                },
            ),
            plain_reading(1.0, "b", 11.2),
        ];
        let v = check(11.8, &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass && !v.judged, "{v:?}");
        assert_eq!(
            v.message,
            "not judged: the payload format is plain millivolts, which carries no low-battery flag"
        );
    }
}
