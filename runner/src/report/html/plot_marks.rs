//! What a board's volts figure marks besides its traces, read from the event log: when the board had no power
//! (its supply off or below the buck converters' minimum), the supply levels the firmware acts on, and when each
//! late reading was sampled.

use model::checks::{power_losses, RunView};
use model::events::{Body, Event};
use model::scenario::BUCK_MIN_VOLTS;

/// A supply level drawn across the figure.
pub struct Threshold {
    pub volts: f64,
    pub name: &'static str,
}

/// A reading sent late from the backlog: sampled on an earlier wake, drawn there with a line to its arrival.
pub struct LateReading {
    /// The wake that sampled it (by its seq); its arrival when that wake is not in the log.
    pub sampled: f64,
    pub arrived: f64,
    pub volts: f64,
}

#[derive(Default)]
pub struct PlotMarks {
    /// `[start, end)` with the board unpowered, output-off stretches included.
    pub unpowered: Vec<(f64, f64)>,
    pub thresholds: Vec<Threshold>,
    pub late: Vec<LateReading>,
}

impl PlotMarks {
    /// The marks for `board` on `supply` (its channel), in a log that ends at `t_end`.
    pub fn of(events: &[Event], board: &str, supply: Option<&str>, t_end: f64) -> PlotMarks {
        let unpowered = match (RunView::new(events), supply) {
            (Ok(view), Some(supply)) => power_losses(&view, supply, BUCK_MIN_VOLTS)
                .into_iter()
                .map(|(start, end)| (start, end.unwrap_or(t_end).min(t_end)))
                .filter(|(start, end)| end > start)
                .collect(),
            _ => Vec::new(),
        };
        let mut thresholds = vec![Threshold {
            volts: BUCK_MIN_VOLTS,
            name: "brownout: below it the board is off",
        }];
        thresholds.extend(events.iter().find_map(|e| match &e.body {
            Body::BoardConfig {
                board: b,
                low_battery_volts: Some(volts),
                ..
            } if b == board => Some(Threshold {
                volts: *volts,
                name: "low battery: the firmware flags readings below it",
            }),
            _ => None,
        }));
        PlotMarks {
            unpowered,
            thresholds,
            late: late_readings(events, board),
        }
    }
}

/// The board's late readings, each at the last wake before its arrival that announced its seq.
fn late_readings(events: &[Event], board: &str) -> Vec<LateReading> {
    let mut wakes: Vec<(f64, u64)> = Vec::new();
    let mut late = Vec::new();
    for e in events {
        match &e.body {
            Body::BoardWake {
                board: b,
                seq: Some(seq),
                ..
            } if b == board => wakes.push((e.t, *seq)),
            Body::Reading {
                board: b,
                v,
                late: true,
                seq,
                ..
            } if b == board => {
                let sampled = seq
                    .and_then(|seq| wakes.iter().rev().find(|(_, s)| *s == seq))
                    .map_or(e.t, |(t, _)| *t);
                late.push(LateReading {
                    sampled,
                    arrived: e.t,
                    volts: *v,
                });
            }
            _ => {}
        }
    }
    late
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: f64, body: Body) -> Event {
        Event { t, body }
    }

    fn wake(t: f64, seq: u64) -> Event {
        at(
            t,
            Body::BoardWake {
                board: "b".into(),
                reset: "deepsleep".into(),
                seq: Some(seq),
            },
        )
    }

    fn reading(t: f64, seq: u64, late: bool) -> Event {
        at(
            t,
            Body::Reading {
                board: "b".into(),
                seq: Some(seq),
                v: 12.5,
                raw: None,
                late,
                low: None,
            },
        )
    }

    #[test]
    fn a_late_reading_is_placed_at_the_wake_that_sampled_it() {
        let events = [
            wake(30.0, 1),
            wake(60.0, 2),
            wake(90.0, 3),
            reading(92.0, 1, true),
            reading(92.5, 3, false),
            reading(93.0, 7, true),
        ];
        let late = late_readings(&events, "b");
        let placed: Vec<(f64, f64)> = late.iter().map(|l| (l.sampled, l.arrived)).collect();
        assert_eq!(
            placed,
            [(30.0, 92.0), (93.0, 93.0)],
            "seq 1 at its wake; an unknown seq at its arrival"
        );
    }
}
