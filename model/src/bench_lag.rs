//! Whether a twin bench kept up with its speed. A run whose boards woke too late says nothing about the
//! firmware, so it ends as a bench error rather than being judged. A wake the host stretched (its CPU and
//! run-queue time, times the speed, added to the awake time) matters only where it shows: a run whose checks
//! fail with a wake stretched beyond the bound is a bench error too, never the firmware's failures; one whose
//! checks pass despite a busy moment (another program's burst of CPU) stands.

use crate::events::{Body, Event};
use std::fmt;

/// Device seconds a twin board may wake late, or the host may add to one wake, before its run cannot be judged.
/// The tightest timing the scenarios judge is a period within 5% of 60 s, 3 s: a wake 2 s late or long still
/// leaves a correct firmware a second of its own drift, and `awake-ms` allows 2 s for ticks that start late. At
/// the default 20x it is 100 ms of the host's time per wake: an idle machine spends about 20 ms of CPU on a wake
/// of the VM (`awake_ms` grows by that times the speed: 2.2 s at 10x, 12.8 s at 500x), so 20x holds with five
/// times that to spare, and a busy one falls behind visibly instead of failing the firmware's checks.
pub const LAG_BOUND_SECS: f64 = 2.0;

/// How a twin board fell behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behind {
    /// It woke late (`twin.lag`).
    Late,
    /// The host stretched its wake (`twin.stretch`).
    Stretched,
}

/// The worst wake of a run that fell behind.
#[derive(Debug, Clone, PartialEq)]
pub struct FellBehind {
    pub speed: f64,
    pub board: String,
    /// When it woke (late) or its wake ended (stretched), device seconds.
    pub t: f64,
    pub how: Behind,
    /// Device seconds late, or added to the wake.
    pub lag: f64,
    /// The checks that failed on a stretched run: the host's doing, so not judged.
    pub failed: Vec<String>,
}

impl FellBehind {
    /// A speed the host should hold: scaled down by how far over the bound the worst wake was, with half again as
    /// margin, to 1, 2 or 5 times a power of ten.
    pub fn suggested_speed(&self) -> f64 {
        let fitting = self.speed * LAG_BOUND_SECS / self.lag / 2.0;
        if fitting <= 1.0 {
            return 1.0;
        }
        let decade = 10f64.powf(fitting.log10().floor());
        [5.0, 2.0, 1.0]
            .iter()
            .map(|m| m * decade)
            .find(|s| *s <= fitting)
            .unwrap_or(decade)
    }
}

impl fmt::Display for FellBehind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (speed, lag, board, t) = (self.speed, self.lag, &self.board, self.t);
        match self.how {
            Behind::Late => write!(
                f,
                "the host could not keep up at {speed}x: lag {lag:.1} s ({board} woke at t={t:.1} s, bound \
                 {LAG_BOUND_SECS} s)"
            ),
            Behind::Stretched => write!(
                f,
                "the host could not keep up at {speed}x: a wake stretched {lag:.1} s by the host's CPU time \
                 ({board}'s wake ending at t={t:.1} s, bound {LAG_BOUND_SECS} s)"
            ),
        }?;
        write!(
            f,
            "; try ≤ {}x — the checks were not judged",
            self.suggested_speed()
        )?;
        if !self.failed.is_empty() {
            write!(f, " (failed: {})", self.failed.join(", "))?;
        }
        Ok(())
    }
}

/// The run's worst wake when the run cannot be judged: one later than `LAG_BOUND_SECS`, or, when checks failed
/// (named in `failed`), one stretched longer than it.
pub fn fell_behind(events: &[Event], failed: &[&str]) -> Option<FellBehind> {
    let speed = events.iter().find_map(|e| match &e.body {
        Body::ScenarioStart { speed, .. } => Some(*speed),
        _ => None,
    })?;
    events
        .iter()
        .filter_map(|e| match &e.body {
            Body::TwinLag { board, seconds } => Some((e.t, board, Behind::Late, *seconds)),
            Body::TwinStretch { board, seconds } => Some((e.t, board, Behind::Stretched, *seconds)),
            _ => None,
        })
        .filter(|(_, _, how, seconds)| {
            *seconds > LAG_BOUND_SECS && (!failed.is_empty() || *how == Behind::Late)
        })
        .map(|(t, board, how, lag)| FellBehind {
            speed,
            board: board.clone(),
            t,
            how,
            lag,
            failed: match how {
                Behind::Late => Vec::new(),
                // Each check once, however many boards it failed for.
                Behind::Stretched => failed
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
            },
        })
        .max_by(|a, b| a.lag.total_cmp(&b.lag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lags: &[f64]) -> Vec<Event> {
        let start = Event {
            t: 0.0,
            body: Body::ScenarioStart {
                scenario: "s".into(),
                speed: 500.0,
                boards: Vec::new(),
                broker: "b".into(),
                payload: None,
                within_volts: None,
            },
        };
        let wakes = lags.iter().enumerate().map(|(i, seconds)| Event {
            t: 30.0 * (i + 1) as f64,
            body: Body::TwinLag {
                board: format!("twin-{i}"),
                seconds: *seconds,
            },
        });
        std::iter::once(start).chain(wakes).collect()
    }

    #[test]
    fn the_worst_wake_over_the_bound_is_named_with_a_speed_to_try() {
        let behind = fell_behind(&log(&[0.1, 4.8, 2.5]), &[]).unwrap();
        assert_eq!((behind.board.as_str(), behind.lag), ("twin-1", 4.8));
        assert_eq!(behind.suggested_speed(), 100.0);
        assert_eq!(
            behind.to_string(),
            "the host could not keep up at 500x: lag 4.8 s (twin-1 woke at t=60.0 s, bound 2 s); try ≤ 100x \
             — the checks were not judged"
        );
    }

    #[test]
    fn failed_checks_with_a_wake_stretched_beyond_the_bound_are_a_bench_error_naming_it() {
        let mut events = log(&[0.1]);
        events.push(Event {
            t: 95.0,
            body: Body::TwinStretch {
                board: "twin-7".into(),
                seconds: 11.2,
            },
        });
        assert_eq!(
            fell_behind(&events, &[]),
            None,
            "checks that pass despite a stretched wake stand"
        );
        let behind = fell_behind(&events, &["period", "awake-ms", "period"]).unwrap();
        assert_eq!(
            (behind.how, behind.board.as_str()),
            (Behind::Stretched, "twin-7")
        );
        assert_eq!(
            behind.to_string(),
            "the host could not keep up at 500x: a wake stretched 11.2 s by the host's CPU time (twin-7's wake \
             ending at t=95.0 s, bound 2 s); try ≤ 20x — the checks were not judged (failed: awake-ms, \
             period)"
        );
        events.last_mut().unwrap().body = Body::TwinStretch {
            board: "twin-7".into(),
            seconds: 1.9,
        };
        assert_eq!(
            fell_behind(&events, &["period", "awake-ms", "period"]),
            None,
            "within the bound"
        );
    }

    #[test]
    fn wakes_within_the_bound_or_no_lag_at_all_are_kept_up() {
        assert_eq!(fell_behind(&log(&[0.1, 2.0]), &["period"]), None);
        assert_eq!(fell_behind(&log(&[]), &["period"]), None);
    }

    #[test]
    fn suggested_speeds_are_round_and_never_below_one() {
        let at = |speed, lag| {
            FellBehind {
                speed,
                board: "b".into(),
                t: 0.0,
                how: Behind::Late,
                lag,
                failed: Vec::new(),
            }
            .suggested_speed()
        };
        assert_eq!(at(1000.0, 3.0), 200.0);
        assert_eq!(at(20.0, 100.0), 1.0);
        assert_eq!(at(50.0, 2.1), 20.0);
    }
}
