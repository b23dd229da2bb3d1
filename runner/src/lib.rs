//! The `hil` command: plans scenarios onto a bench (real or twin), runs one timeline per scenario that records
//! events, judges them with `model`'s checks, and writes the reports.

pub mod benchup;
pub mod cli;
pub mod colour;
pub mod doctor;
pub mod exec;
pub mod local_time;
pub mod paths;
pub mod perf;
pub mod plan;
pub mod report;
pub mod rigfile;
pub mod safety_guard;
pub mod schedule;
pub mod suite;
pub mod tested;
