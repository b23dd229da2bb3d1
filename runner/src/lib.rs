//! The runner: scenarios, execution, checks, reports and the `hil` command line.

pub mod benchup;
pub mod checks;
pub mod cli;
pub mod diagnostic;
pub mod events;
pub mod exec;
pub mod paths;
pub mod payload;
pub mod perf;
pub mod plan;
pub mod report;
pub mod rigfile;
pub mod safety_guard;
pub mod scenario;
pub mod suite;
pub mod trace;
