//! A report folder read back: what it tested and each scenario's event log, for baselines, merges and history.

use model::events::{read_log, Event, ReadLogError, Tested};
use std::path::{Path, PathBuf};

/// One scenario of a report: its folder's name and its event log.
pub struct ScenarioRun {
    pub name: String,
    pub events_path: PathBuf,
    pub events: Vec<Event>,
    /// What its `scenario.start` says was tested (empty values in logs from before hil recorded it).
    pub tested: Tested,
}

impl ScenarioRun {
    /// Whether every check its log records passed (and it recorded any: a run stopped by a bench error has none).
    pub fn passed(&self) -> bool {
        let mut checks = self.checks().peekable();
        checks.peek().is_some() && checks.all(|pass| pass)
    }

    fn checks(&self) -> impl Iterator<Item = bool> + '_ {
        self.events.iter().filter_map(|e| match &e.body {
            model::events::Body::Check { pass, .. } => Some(*pass),
            _ => None,
        })
    }
}

/// A report folder's scenarios, in name order.
pub struct ReportRead {
    pub dir: PathBuf,
    pub scenarios: Vec<ScenarioRun>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadReportError {
    #[error(
        "{}: not a hil report folder (no junit.xml in it); name the folder `hil run --report` wrote",
        dir.display()
    )]
    NotAReport { dir: PathBuf },
    #[error("reading the report folder {}: {cause}", dir.display())]
    Io { dir: PathBuf, cause: std::io::Error },
    #[error(transparent)]
    Log(#[from] ReadLogError),
}

impl ReportRead {
    pub fn read(dir: &Path) -> Result<ReportRead, ReadReportError> {
        if !dir.join("junit.xml").is_file() {
            return Err(ReadReportError::NotAReport {
                dir: dir.to_path_buf(),
            });
        }
        let io = |cause| ReadReportError::Io {
            dir: dir.to_path_buf(),
            cause,
        };
        let mut scenarios = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let folder = entry.map_err(io)?.path();
            let events_path = folder.join("events.jsonl");
            if !events_path.is_file() {
                continue;
            }
            let events = read_log(&events_path)?;
            scenarios.push(ScenarioRun {
                name: folder
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                tested: tested_of(&events_path),
                events_path,
                events,
            });
        }
        scenarios.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(ReportRead {
            dir: dir.to_path_buf(),
            scenarios,
        })
    }

    pub fn scenario(&self, name: &str) -> Option<&ScenarioRun> {
        self.scenarios.iter().find(|s| s.name == name)
    }
}

/// The tested values written into the log's `scenario.start` line beside the start's own fields.
fn tested_of(events_path: &Path) -> Tested {
    let Ok(text) = std::fs::read_to_string(events_path) else {
        return Tested::default();
    };
    text.lines()
        .find(|l| l.contains("\"scenario.start\""))
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default()
}
