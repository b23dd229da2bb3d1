//! The pure model of a run: scenario files, device time, the event log, payload formats, and the checks that
//! judge a run from its events. No async runtime and no hardware: `hil check` and the fuzz targets need only this.

pub mod bench_lag;
pub mod checks;
pub mod clock;
pub mod connack;
pub mod diagnostic;
pub mod events;
pub mod metrics;
pub mod payload;
pub mod scenario;
pub mod trace;
