//! Check `baseline`: each board's metrics against an earlier run's of the same scenario (`hil run --baseline`).
//! A metric fails when it moved the worse way by more than its margin of the baseline's value (and by more than
//! the measure's own noise); a board or scenario the baseline lacks is said, not failed.

use super::Verdict;
use crate::metrics::{BoardMetrics, Metric, Worse};
use std::collections::BTreeMap;

/// The default margin: a metric may move 20 % of the baseline's value.
pub const DEFAULT_MARGIN: f64 = 0.2;

/// Margins by metric family, as fractions of the baseline's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Margins {
    /// For every family not named below (`DEFAULT_MARGIN` when None).
    pub all: Option<f64>,
    /// From the command line: they outrank the scenario's.
    pub given: BTreeMap<String, f64>,
    /// From the scenario's `[expect] baseline_margin`.
    pub scenario: BTreeMap<String, f64>,
}

impl Margins {
    pub fn of(&self, metric: Metric) -> f64 {
        let family = metric.family();
        self.given
            .get(family)
            .or_else(|| self.scenario.get(family))
            .copied()
            .or(self.all)
            .unwrap_or(DEFAULT_MARGIN)
    }
}

/// One metric of this run set beside the baseline's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    pub metric: Metric,
    pub this: f64,
    pub baseline: f64,
    pub margin: f64,
}

impl Change {
    /// The change as a fraction of the baseline's value (None from a baseline of 0).
    pub fn relative(&self) -> Option<f64> {
        (self.baseline != 0.0).then(|| (self.this - self.baseline) / self.baseline.abs())
    }

    /// Moved the worse way by more than the margin allows and more than the measure's noise.
    pub fn beyond(&self) -> bool {
        let moved = self.this - self.baseline;
        let worse = match self.metric.worse() {
            Worse::Higher => moved,
            Worse::EitherWay => moved.abs(),
        };
        worse > (self.margin * self.baseline.abs()).max(self.metric.noise())
    }

    /// `awake time per wake p50 3.90 s vs 2.30 s in the baseline (+70 %, margin 20 %)`.
    pub fn describe(&self) -> String {
        let change = match self.relative() {
            Some(r) => format!("{:+.0} %", r * 100.0),
            None => "from 0".into(),
        };
        format!(
            "{} {} vs {} in the baseline ({change}, margin {:.0} %)",
            self.metric.label(),
            self.metric.text(self.this),
            self.metric.text(self.baseline),
            self.margin * 100.0
        )
    }
}

/// Every metric both runs measured, this run's beside the baseline's.
pub fn changes(this: &BoardMetrics, baseline: &BoardMetrics, margins: &Margins) -> Vec<Change> {
    Metric::ALL
        .iter()
        .filter_map(|m| {
            Some(Change {
                metric: *m,
                this: *this.get(m)?,
                baseline: *baseline.get(m)?,
                margin: margins.of(*m),
            })
        })
        .collect()
}

/// One verdict per board of this run. `baseline` is None when the baseline report has no such scenario;
/// `source` names the baseline in messages.
pub fn check(
    this: &BTreeMap<String, BoardMetrics>,
    baseline: Option<&BTreeMap<String, BoardMetrics>>,
    margins: &Margins,
    source: &str,
) -> Vec<Verdict> {
    const NAME: &str = "baseline";
    this.iter()
        .map(|(board, metrics)| {
            let Some(base) = baseline else {
                return Verdict::new(
                    NAME,
                    board,
                    true,
                    format!("the scenario is not in the baseline {source}: nothing to compare"),
                );
            };
            let Some(base) = base.get(board) else {
                return Verdict::new(
                    NAME,
                    board,
                    true,
                    format!("the board is not in the baseline {source}'s run: nothing to compare"),
                );
            };
            let changes = changes(metrics, base, margins);
            // A metric the baseline measured and this run could not (no wake slept, no reading compared) is
            // a change too.
            let gone = Metric::ALL
                .iter()
                .filter(|m| base.contains_key(m) && !metrics.contains_key(m))
                .map(|m| {
                    format!(
                        "{} {} in the baseline, not measured in this run",
                        m.label(),
                        m.text(base[m])
                    )
                });
            let beyond: Vec<String> = changes
                .iter()
                .filter(|c| c.beyond())
                .map(Change::describe)
                .chain(gone)
                .collect();
            if beyond.is_empty() {
                Verdict::new(
                    NAME,
                    board,
                    true,
                    format!(
                        "{} metrics within their margins of the baseline {source}",
                        changes.len()
                    ),
                )
            } else {
                Verdict::new(
                    NAME,
                    board,
                    false,
                    format!(
                        "{} of {} metrics worse than the baseline {source}: {}",
                        beyond.len(),
                        base.len(),
                        beyond.join("; ")
                    ),
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(pairs: &[(Metric, f64)]) -> BTreeMap<String, BoardMetrics> {
        BTreeMap::from([("b".to_string(), pairs.iter().copied().collect())])
    }

    #[test]
    fn a_longer_awake_time_fails_naming_the_metric_and_both_values() {
        let base = metrics(&[(Metric::AwakeP50, 2.3), (Metric::ReadingErrorP50, 0.0)]);
        let this = metrics(&[(Metric::AwakeP50, 3.9), (Metric::ReadingErrorP50, 0.01)]);
        let v = check(&this, Some(&base), &Margins::default(), "old/");
        assert_eq!(v.len(), 1);
        assert!(!v[0].pass, "{v:?}");
        assert_eq!(
            v[0].message,
            "1 of 2 metrics worse than the baseline old/: awake time per wake p50 3.90 s vs 2.30 s in the \
             baseline (+70 %, margin 20 %)"
        );
        let wide = Margins {
            scenario: BTreeMap::from([("awake".to_string(), 0.8)]),
            ..Margins::default()
        };
        assert!(check(&this, Some(&base), &wide, "old/")[0].pass);
        let given = Margins {
            given: BTreeMap::from([("awake".to_string(), 0.5)]),
            ..wide
        };
        assert!(!check(&this, Some(&base), &given, "old/")[0].pass);
    }

    #[test]
    fn better_is_no_failure_but_fewer_wakes_are() {
        let base = metrics(&[(Metric::AwakeP50, 3.0), (Metric::WakesPerHour, 120.0)]);
        let shorter = metrics(&[(Metric::AwakeP50, 1.0), (Metric::WakesPerHour, 120.0)]);
        assert!(check(&shorter, Some(&base), &Margins::default(), "b")[0].pass);
        let fewer = metrics(&[(Metric::AwakeP50, 3.0), (Metric::WakesPerHour, 60.0)]);
        let v = &check(&fewer, Some(&base), &Margins::default(), "b")[0];
        assert!(
            !v.pass && v.message.contains("wakes per hour 60.00 vs 120.00"),
            "{v:?}"
        );
    }

    #[test]
    fn noise_hides_tiny_moves_from_zero_and_a_lost_reading_from_zero_fails() {
        let base = metrics(&[(Metric::PeriodError, 0.0), (Metric::Lost, 0.0)]);
        let this = metrics(&[(Metric::PeriodError, 0.1), (Metric::Lost, 0.0)]);
        assert!(check(&this, Some(&base), &Margins::default(), "b")[0].pass);
        let lost = metrics(&[(Metric::PeriodError, 0.1), (Metric::Lost, 1.0)]);
        let v = &check(&lost, Some(&base), &Margins::default(), "b")[0];
        assert!(!v.pass, "{v:?}");
        assert!(
            v.message
                .contains("lost readings 1 vs 0 in the baseline (from 0"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_metric_the_baseline_measured_and_this_run_did_not_fails() {
        let base = metrics(&[(Metric::AwakeP50, 2.3), (Metric::PeriodError, 0.5)]);
        let this = metrics(&[(Metric::AwakeP50, 2.3)]);
        let v = &check(&this, Some(&base), &Margins::default(), "old/")[0];
        assert!(!v.pass, "{v:?}");
        assert!(
            v.message
                .ends_with("period error 0.50 s in the baseline, not measured in this run"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_scenario_or_board_the_baseline_lacks_is_said_not_failed() {
        let this = metrics(&[(Metric::AwakeP50, 3.0)]);
        let v = &check(&this, None, &Margins::default(), "old/")[0];
        assert!(
            v.pass && v.message.contains("not in the baseline old/"),
            "{v:?}"
        );
        let other = BTreeMap::from([("c".to_string(), BoardMetrics::new())]);
        let v = &check(&this, Some(&other), &Margins::default(), "old/")[0];
        assert!(
            v.pass && v.message.contains("board is not in the baseline"),
            "{v:?}"
        );
    }
}
