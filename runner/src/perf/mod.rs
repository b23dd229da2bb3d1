//! Benchmarks that print figures (never timed tests): what the rig's parts cost.

mod scale;
mod tap_latency;

pub use scale::scale;
pub use tap_latency::tap_latency;
