//! A report folder read back: what it tested and each scenario's event log, for baselines, merges and history.

use model::checks::Verdict;
use model::events::{read_log, Body, Event, ReadLogError, Tested};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One scenario of a report: its folder's name and its event log.
pub struct ScenarioRun {
    pub name: String,
    pub events_path: PathBuf,
    pub events: Vec<Event>,
    /// What its `scenario.start` says was tested (empty values in logs from before hil recorded it).
    pub tested: Tested,
}

impl ScenarioRun {
    /// The verdicts its log records (`check` events), in order.
    pub fn verdicts(&self) -> Vec<Verdict> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::Check {
                    name,
                    board,
                    pass,
                    judged,
                    message,
                } => Some(Verdict {
                    name: check_name(name),
                    board: board.clone(),
                    pass: *pass,
                    judged: *judged,
                    message: message.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Whether it recorded checks and every one passed (a run stopped by a bench error records none).
    pub fn passed(&self) -> bool {
        let verdicts = self.verdicts();
        !verdicts.is_empty() && verdicts.iter().all(|v| v.pass)
    }

    /// Its boards' names, as its `scenario.start` lists them.
    pub fn boards(&self) -> Vec<String> {
        self.events
            .iter()
            .find_map(|e| match &e.body {
                Body::ScenarioStart { boards, .. } => {
                    Some(boards.iter().map(|b| b.name.clone()).collect())
                }
                _ => None,
            })
            .unwrap_or_default()
    }

    /// The broker its `scenario.start` names.
    pub fn broker(&self) -> Option<&str> {
        self.events.iter().find_map(|e| match &e.body {
            Body::ScenarioStart { broker, .. } => Some(broker.as_str()),
            _ => None,
        })
    }
}

/// A check's name read back from a log, as the `&'static str` a `Verdict` names it by: each distinct name is
/// kept once for the process (there are a few dozen checks).
fn check_name(name: &str) -> &'static str {
    static NAMES: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let mut names = NAMES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = names.get(name) {
        return known;
    }
    let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(kept);
    kept
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
