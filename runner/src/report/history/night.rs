//! One night's report as the history page sees it: what it tested and, per scenario, its result and metrics.

use super::super::baseline::RunMetrics;
use super::super::read::{ReadReportError, ReportRead, ScenarioRun};
use model::metrics::run_metrics;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A scenario's result in one night.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Fail,
    /// No check ran: a bench or set-up error stopped it.
    Error,
}

impl Outcome {
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "FAIL",
            Outcome::Error => "error",
        }
    }

    fn of(run: &ScenarioRun) -> Outcome {
        let verdicts = run.verdicts();
        if verdicts.is_empty() {
            Outcome::Error
        } else if verdicts.iter().all(|v| v.pass) {
            Outcome::Pass
        } else {
            Outcome::Fail
        }
    }
}

pub struct NightScenario {
    pub outcome: Outcome,
    /// sha256 of the firmware folder it ran.
    pub firmware: String,
    pub metrics: RunMetrics,
}

pub struct Night {
    pub dir: PathBuf,
    /// When it ran (RFC 3339, UTC), from its logs.
    pub date: String,
    /// The firmware's own version and its folder's hash, as its logs give them.
    pub fw: String,
    pub firmware: String,
    pub scenarios: BTreeMap<String, NightScenario>,
}

impl Night {
    pub fn read(dir: &Path) -> Result<Night, ReadReportError> {
        let report = ReportRead::read(dir)?;
        let first = report
            .scenarios
            .iter()
            .map(|s| &s.tested)
            .min_by(|a, b| a.date.cmp(&b.date));
        let scenarios = report
            .scenarios
            .iter()
            .map(|s| {
                let scenario = NightScenario {
                    outcome: Outcome::of(s),
                    firmware: s.tested.firmware_sha256.clone(),
                    metrics: run_metrics(&s.events).unwrap_or_default(),
                };
                (s.name.clone(), scenario)
            })
            .collect();
        Ok(Night {
            dir: dir.to_path_buf(),
            date: first.map(|t| t.date.clone()).unwrap_or_default(),
            fw: first
                .and_then(|t| t.fw.clone())
                .unwrap_or_else(|| "not declared".into()),
            firmware: first.map(|t| t.firmware_sha256.clone()).unwrap_or_default(),
            scenarios,
        })
    }

    /// The column's heading: date, fw and the firmware hash's first 8 digits.
    pub fn label(&self) -> String {
        format!(
            "{} · fw {} · {}",
            self.date,
            self.fw,
            self.firmware.get(..8).unwrap_or(&self.firmware)
        )
    }
}
