//! `hil run --baseline REPORT_DIR`: an earlier report's metrics per scenario and board, read before the run (so
//! that the run may even write its report over it), and the `baseline` check of each scenario against them.

use super::read::{ReadReportError, ReportRead};
use model::checks::baseline::{self, Margins};
use model::checks::Verdict;
use model::events::Event;
use model::metrics::{run_metrics, BoardMetrics};
use model::scenario::Scenario;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Metrics by board name.
pub type RunMetrics = BTreeMap<String, BoardMetrics>;

pub struct Baseline {
    pub dir: PathBuf,
    runs: BTreeMap<String, RunMetrics>,
    /// The command line's margins; each scenario's own fill in the families these leave out.
    margins: Margins,
}

impl Baseline {
    /// Reads every scenario of the report in `dir`; `margins` as the command line gave them.
    pub fn load(dir: &Path, margins: Margins) -> Result<Baseline, ReadReportError> {
        let report = ReportRead::read(dir)?;
        let runs = report
            .scenarios
            .iter()
            .filter_map(|s| Some((s.name.clone(), run_metrics(&s.events).ok()?)))
            .collect();
        Ok(Baseline {
            dir: dir.to_path_buf(),
            runs,
            margins,
        })
    }

    /// The baseline's metrics of `scenario`, if it ran it.
    pub fn of(&self, scenario: &str) -> Option<&RunMetrics> {
        self.runs.get(scenario)
    }

    /// Check `baseline` of this run of `scenario`: one verdict per board.
    pub fn judge(&self, scenario: &Scenario, events: &[Event]) -> Vec<Verdict> {
        let Ok(this) = run_metrics(events) else {
            return Vec::new();
        };
        let margins = Margins {
            scenario: scenario.expect.baseline_margin.clone(),
            ..self.margins.clone()
        };
        baseline::check(
            &this,
            self.of(&scenario.name),
            &margins,
            &self.dir.display().to_string(),
        )
    }
}
