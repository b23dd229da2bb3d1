//! Benchmarks that print figures (never timed tests): what the rig's parts cost.

mod board_tools;
mod scale;
mod tap_latency;

pub use board_tools::{bench_boards, BenchRow, BoardsBenchOptions};
pub use scale::scale;
pub use tap_latency::tap_latency;
