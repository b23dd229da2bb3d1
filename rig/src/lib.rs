//! Everything on the bench, real or twin: supplies, boards, the MQTT broker and monitor, and the twin bench.

pub mod board;
pub mod clock;
pub mod mqtt;
pub mod process;
pub mod scratch;
pub mod secret;
pub mod supply;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod twin;
