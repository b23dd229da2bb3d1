//! MQTT on the bench: the broker the boards publish to, and the monitor that subscribes to their readings.

mod broker;
mod error;
mod monitor;
pub mod tap;
mod tls;

pub use broker::{Broker, BrokerSpec};
pub use error::{BrokerError, BrokerUrlError, ConnectError, MonitorError, TapError, TlsError};
pub use monitor::{Monitor, Received};
pub use tap::{Side, Tap, TapEvent, TapFault, TapFaults, Upstream};
pub use tls::TlsTrust;
