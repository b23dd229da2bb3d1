//! Reports: the console summary table, JUnit XML and index.html, each headed by what the run tested (the event
//! logs are written as the run goes).

mod baseline;
mod folder;
mod header;
mod history;
mod html;
mod junit;
mod junit_read;
mod merge;
mod read;
mod summary;

pub use baseline::Baseline;
pub use folder::{prepare_report_folder, ReportFolderError};
pub use header::RunHeader;
pub use history::{write_history, HistoryError};
pub use html::write_html;
pub use junit::write_junit;
pub use merge::{merge, MergeError};
pub use read::{ReadReportError, ReportRead, ScenarioRun};
pub use summary::summary_table;

/// A selected scenario `hil run` did not run, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub scenario: String,
    pub reason: String,
    pub kind: SkipKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipKind {
    /// This bench or broker does not meet a requirement of the scenario.
    Unservable,
    /// The run was stopped (Ctrl-C, SIGTERM) before the scenario started.
    NotStarted,
}

impl SkipKind {
    /// The result column's word.
    pub fn word(self) -> &'static str {
        match self {
            SkipKind::Unservable => "skip",
            SkipKind::NotStarted => "not run",
        }
    }
}

impl Skipped {
    /// The scenarios of `selected` that have no outcome: a stop came before they started.
    pub fn not_started(
        selected: &[model::scenario::Scenario],
        outcomes: &[crate::exec::ScenarioOutcome],
    ) -> Vec<Skipped> {
        selected
            .iter()
            .filter(|s| !outcomes.iter().any(|o| o.scenario == s.name))
            .map(|s| Skipped {
                scenario: s.name.clone(),
                reason: "the run was stopped (Ctrl-C or SIGTERM) before it started".into(),
                kind: SkipKind::NotStarted,
            })
            .collect()
    }

    /// "1 skipped, 2 not run", or empty when every selected scenario ran.
    pub fn counts(skipped: &[Skipped]) -> String {
        [SkipKind::Unservable, SkipKind::NotStarted]
            .iter()
            .filter_map(|kind| {
                let n = skipped.iter().filter(|s| s.kind == *kind).count();
                let word = match kind {
                    SkipKind::Unservable => "skipped",
                    SkipKind::NotStarted => "not run",
                };
                (n > 0).then(|| format!("{n} {word}"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}
