//! Reports: the console summary table and JUnit XML (the event logs are written as the run goes).

mod junit;
mod summary;

pub use junit::write_junit;
pub use summary::summary_table;
