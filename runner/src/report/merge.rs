//! `hil report merge DIR... --out DIR`: several runs' reports (a night's benches, `--partition` slices) as one,
//! of the same shape as one run's: the scenario folders copied, and index.html, junit.xml and summary.txt
//! written by the same code from what the inputs recorded. A scenario in two inputs is refused: a merged
//! report holds each scenario once, as one run's does.

use super::junit_read::{read_junit, CaseRead, JunitReadError, SuiteRead};
use super::read::{ReadReportError, ReportRead};
use super::{
    prepare_report_folder, summary_table, write_html, write_junit, ReportFolderError, RunHeader,
    SkipKind, Skipped,
};
use crate::exec::ScenarioOutcome;
use model::events::{Body, Tested};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("report merge: {0}")]
    Read(#[from] ReadReportError),
    #[error("report merge: {0}")]
    Junit(#[from] JunitReadError),
    #[error(
        "report merge: scenario {scenario:?} is in both {} and {}: a merged report holds each scenario once; \
         merge reports of disjoint selections (`hil run --partition K/N`, or different scenarios)",
        first.display(), second.display()
    )]
    Twice {
        scenario: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("report merge: --out {} is also an input; write the merged report to a folder of its own", .0.display())]
    OutIsInput(PathBuf),
    #[error("report merge: {0}")]
    Folder(#[from] ReportFolderError),
    #[error("report merge: writing {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// One input: its scenario folders and its junit.xml.
struct Input {
    report: ReportRead,
    suites: Vec<SuiteRead>,
}

/// Merges `inputs` into `out` and gives the merged summary table.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<String, MergeError> {
    let out_real = std::fs::canonicalize(out).ok();
    if let Some(same) = inputs
        .iter()
        .find(|i| out_real.is_some() && std::fs::canonicalize(i).ok() == out_real)
    {
        return Err(MergeError::OutIsInput(same.clone()));
    }
    let inputs: Vec<Input> = inputs
        .iter()
        .map(|dir| {
            Ok(Input {
                report: ReportRead::read(dir)?,
                suites: read_junit(&dir.join("junit.xml"))?,
            })
        })
        .collect::<Result<_, MergeError>>()?;
    refuse_repeats(&inputs)?;
    prepare_report_folder(out)?;
    let mut outcomes = Vec::new();
    let mut skipped = Vec::new();
    for input in &inputs {
        for run in &input.report.scenarios {
            let from = run.events_path.parent().unwrap_or(Path::new(""));
            copy_folder(from, &out.join(&run.name))?;
        }
        for suite in &input.suites {
            match skip_reason(suite) {
                Some(reason) => skipped.push(Skipped {
                    scenario: suite.name.clone(),
                    kind: if reason.starts_with("the run was stopped") {
                        SkipKind::NotStarted
                    } else {
                        SkipKind::Unservable
                    },
                    reason,
                }),
                None => outcomes.push(outcome(input, suite, out)),
            }
        }
    }
    let header = merged_header(&inputs);
    let summary = summary_table(&outcomes, &skipped);
    let write = |path: PathBuf, result: std::io::Result<()>| {
        result.map_err(|cause| MergeError::Write { path, cause })
    };
    let junit = out.join("junit.xml");
    write(
        junit.clone(),
        write_junit(&header, &outcomes, &skipped, &junit),
    )?;
    let text = out.join("summary.txt");
    write(
        text.clone(),
        std::fs::write(&text, format!("{}\n{summary}", header.text())),
    )?;
    let html = out.join("index.html");
    write(
        html.clone(),
        write_html(&header, &outcomes, &skipped, &html),
    )?;
    Ok(summary)
}

fn refuse_repeats(inputs: &[Input]) -> Result<(), MergeError> {
    let mut seen: BTreeMap<&str, &Path> = BTreeMap::new();
    for input in inputs {
        let names = input
            .suites
            .iter()
            .map(|s| s.name.as_str())
            .chain(input.report.scenarios.iter().map(|s| s.name.as_str()));
        let mut own: Vec<&str> = names.collect();
        own.sort_unstable();
        own.dedup();
        for name in own {
            if let Some(first) = seen.insert(name, &input.report.dir) {
                return Err(MergeError::Twice {
                    scenario: name.into(),
                    first: first.to_path_buf(),
                    second: input.report.dir.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Why the scenario did not run, when its suite is one skipped testcase.
fn skip_reason(suite: &SuiteRead) -> Option<String> {
    match suite.cases.as_slice() {
        [CaseRead::Skipped(reason)] => Some(reason.clone()),
        _ => None,
    }
}

/// The scenario's outcome as its input recorded it: verdicts and boards from its log, its wall time, a run error
/// or a stop from junit.xml.
fn outcome(input: &Input, suite: &SuiteRead, out: &Path) -> ScenarioOutcome {
    let mut outcome = ScenarioOutcome::new(&suite.name, out.join(&suite.name).join("events.jsonl"));
    if let Some(run) = input.report.scenario(&suite.name) {
        outcome.boards = run.boards();
        outcome.verdicts = run.verdicts();
        outcome.readings = run
            .events
            .iter()
            .filter(|e| matches!(e.body, Body::Reading { .. }))
            .count();
    }
    outcome.wall = Duration::from_secs_f64(suite.time.unwrap_or(0.0).max(0.0));
    for case in &suite.cases {
        match case {
            CaseRead::Error(m) => {
                outcome.error = Some(m.strip_prefix("run error: ").unwrap_or(m).to_string());
            }
            CaseRead::Failure(m) if m == "interrupted before the scenario's end" => {
                outcome.interrupted = true;
            }
            _ => {}
        }
    }
    outcome
}

/// What the inputs tested: each value as they all give it, or their different values joined (two benches' rig
/// files, two dates).
fn merged_header(inputs: &[Input]) -> RunHeader {
    let runs: Vec<_> = inputs.iter().flat_map(|i| &i.report.scenarios).collect();
    let join = |value: &dyn Fn(&Tested) -> String| -> String {
        let mut values: Vec<String> = Vec::new();
        for run in &runs {
            let v = value(&run.tested);
            if !v.is_empty() && !values.contains(&v) {
                values.push(v);
            }
        }
        values.join(", ")
    };
    let tested = Tested {
        commit: join(&|t| t.commit.clone()),
        hil: join(&|t| t.hil.clone()),
        date: join(&|t| t.date.clone()),
        firmware: join(&|t| t.firmware.clone()),
        firmware_sha256: join(&|t| t.firmware_sha256.clone()),
        fw: Some(join(&|t| t.fw.clone().unwrap_or_default())).filter(|f| !f.is_empty()),
        rig: join(&|t| t.rig.clone()),
    };
    let mut brokers: Vec<&str> = Vec::new();
    for broker in runs.iter().filter_map(|r| r.broker()) {
        if !brokers.contains(&broker) {
            brokers.push(broker);
        }
    }
    RunHeader {
        tested,
        broker: brokers.join(", "),
        baseline: None,
    }
}

/// Copies a scenario folder's files (its event log, and whatever else a run left in it) into `to`.
fn copy_folder(from: &Path, to: &Path) -> Result<(), MergeError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| MergeError::Write { path, cause }
    };
    std::fs::create_dir_all(to).map_err(io(to))?;
    for entry in std::fs::read_dir(from).map_err(io(from))? {
        let path = entry.map_err(io(from))?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_folder(&path, &target)?;
        } else {
            std::fs::copy(&path, &target).map_err(io(&target))?;
        }
    }
    Ok(())
}
