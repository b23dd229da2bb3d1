//! Benchmarks that print figures (never timed tests): what the rig's parts cost.

mod tap_latency;

pub use tap_latency::tap_latency;
