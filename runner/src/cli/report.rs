//! `hil report`: reports written by `hil run`, taken together.

use super::{setup_error, Ended, ReportCommand, EXIT_PASS};
use crate::report;

pub(super) fn report(command: ReportCommand) -> Ended {
    match command {
        ReportCommand::Merge { inputs, out } => {
            let summary = report::merge(&inputs, &out).map_err(setup_error)?;
            print!("{summary}");
            eprintln!("report: {}", out.display());
            Ok(EXIT_PASS)
        }
        ReportCommand::History { inputs, out } => {
            let page = report::write_history(&inputs, &out).map_err(setup_error)?;
            eprintln!("history: {}", page.display());
            Ok(EXIT_PASS)
        }
    }
}
