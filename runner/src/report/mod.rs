//! Reports: the console summary table, JUnit XML and index.html, each headed by what the run tested (the event
//! logs are written as the run goes).

mod folder;
mod header;
mod html;
mod junit;
mod summary;

pub use folder::{prepare_report_folder, ReportFolderError};
pub use header::RunHeader;
pub use html::write_html;
pub use junit::write_junit;
pub use summary::summary_table;

/// A scenario `hil run` left out, and why (a requirement this bench or broker does not meet).
#[derive(Debug, Clone)]
pub struct Skipped {
    pub scenario: String,
    pub reason: String,
}
