//! The real bench: supply drivers, ESP8266 boards over serial, the MQTT broker, monitor and tap, and the
//! process plumbing they share (children that die with the run, one scratch folder per process).

pub mod board;
pub mod mqtt;
pub mod process;
pub mod scratch;
pub mod secret;
pub mod supply;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
