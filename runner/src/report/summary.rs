//! The one-screen summary printed at the end of a run.

use super::Skipped;
use crate::exec::ScenarioOutcome;
use std::fmt::Write;

pub fn summary_table(outcomes: &[ScenarioOutcome], skipped: &[Skipped]) -> String {
    let width = outcomes
        .iter()
        .map(|o| o.scenario.len())
        .chain(skipped.iter().map(|s| s.scenario.len()))
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  result  readings    wall  failed checks",
        "scenario"
    );
    for o in outcomes {
        let result = if o.error.is_some() {
            "ERROR"
        } else if o.interrupted {
            "STOP"
        } else if o.passed() {
            "pass"
        } else {
            "FAIL"
        };
        let failed = o.failed_checks();
        let _ = writeln!(
            out,
            "{:<width$}  {:<6}  {:>8}  {:>5.1}s  {}",
            o.scenario,
            result,
            o.readings,
            o.wall.as_secs_f64(),
            failed.join(", ")
        );
        for v in o.verdicts.iter().filter(|v| !v.pass) {
            let _ = writeln!(
                out,
                "    {} {}: {}",
                v.board.as_deref().unwrap_or("-"),
                v.name,
                v.message
            );
        }
        if let Some(e) = &o.error {
            let _ = writeln!(out, "    error: {e}");
        }
    }
    for s in skipped {
        let _ = writeln!(
            out,
            "{:<width$}  {:<6}  {:>8}  {:>6}  {}",
            s.scenario,
            s.kind.word(),
            "-",
            "-",
            s.reason
        );
    }
    let passed = outcomes.iter().filter(|o| o.passed()).count();
    let _ = write!(out, "{passed} of {} scenarios passed", outcomes.len());
    if !skipped.is_empty() {
        let _ = write!(out, ", {}", Skipped::counts(skipped));
    }
    out.push('\n');
    out
}
