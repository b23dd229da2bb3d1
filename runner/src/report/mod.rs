//! Reports: the console summary table and JUnit XML (the event logs are written as the run goes).

mod html;
mod junit;
mod summary;

pub use html::write_html;
pub use junit::write_junit;
pub use summary::summary_table;

/// A scenario `hil run` left out, and why (a requirement this bench or broker does not meet).
#[derive(Debug, Clone)]
pub struct Skipped {
    pub scenario: String,
    pub reason: String,
}
