//! JUnit XML: one testcase per scenario × board, failing with the failed checks' messages.

use super::{RunHeader, Skipped};
use crate::exec::ScenarioOutcome;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::path::Path;

/// Skipped scenarios become one skipped testcase each, with the reason as its message. Every testsuite carries
/// the run's header as properties (JUnit has no report-wide ones).
pub fn write_junit(
    header: &RunHeader,
    outcomes: &[ScenarioOutcome],
    skipped: &[Skipped],
    path: &Path,
) -> std::io::Result<()> {
    let properties = header.properties();
    let mut report = Report::new("hil");
    for outcome in outcomes {
        let mut suite = TestSuite::new(outcome.scenario.as_str());
        suite.add_properties(properties.iter().map(|(k, v)| (*k, v.as_str())));
        suite.set_time(outcome.wall);
        let boards: Vec<Option<&str>> = if outcome.boards.is_empty() {
            vec![None]
        } else {
            outcome.boards.iter().map(|b| Some(b.as_str())).collect()
        };
        for board in boards {
            let name = board.unwrap_or("setup");
            let verdicts: Vec<_> = outcome
                .verdicts
                .iter()
                .filter(|v| v.board.is_none() || v.board.as_deref() == board)
                .collect();
            let mut problems: Vec<String> = verdicts
                .iter()
                .filter(|v| !v.pass)
                .map(|v| format!("{}: {}", v.name, v.message))
                .collect();
            if let Some(e) = &outcome.error {
                problems.insert(0, format!("run error: {e}"));
            }
            if outcome.interrupted {
                problems.insert(0, "interrupted before the scenario's end".into());
            }
            let status = if problems.is_empty() {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(if outcome.error.is_some() {
                    NonSuccessKind::Error
                } else {
                    NonSuccessKind::Failure
                });
                status.set_message(problems[0].clone());
                status.set_description(problems.join("\n"));
                status
            };
            let mut case = TestCase::new(format!("{}/{name}", outcome.scenario), status);
            case.set_classname(outcome.scenario.as_str());
            case.set_assertions(verdicts.len());
            let passed: Vec<String> = verdicts
                .iter()
                .map(|v| format!("{:<4} {}: {}", v.word(), v.name, v.message))
                .collect();
            case.set_system_out(passed.join("\n"));
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    for s in skipped {
        let mut status = TestCaseStatus::skipped();
        status.set_message(s.reason.clone());
        let mut case = TestCase::new(s.scenario.as_str(), status);
        case.set_classname(s.scenario.as_str());
        let mut suite = TestSuite::new(s.scenario.as_str());
        suite.add_properties(properties.iter().map(|(k, v)| (*k, v.as_str())));
        suite.add_test_case(case);
        report.add_test_suite(suite);
    }
    let file = std::fs::File::create(path)?;
    report.serialize(file).map_err(std::io::Error::other)
}
