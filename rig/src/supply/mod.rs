//! Bench power supplies: the trait the runner drives, its optional over-current protection, the drivers (SCPI,
//! Korad, Riden) and the registry that opens the one a rig file names.

mod address;
mod channels;
pub mod dialect;
mod driver;
mod error;
pub mod korad;
mod limits;
mod link;
mod port;
mod registry;
pub mod riden;
mod scpi;
mod scpi_protocol;

pub use address::{Address, AddressError};
pub use dialect::Dialect;
pub use driver::{ModelInfo, SupplyDriver};
pub use error::{DriverError, SupplyError};
pub use korad::KoradSupply;
pub use limits::{ChannelError, ChannelLimits, Setting};
pub use registry::{Registry, SupplyKind};
pub use riden::{RidenModel, RidenSupply};
pub use scpi::ScpiSupply;

use async_trait::async_trait;

/// One bench supply; every call is bounded in time by the implementation, and its errors name the instrument and
/// the command that failed.
#[async_trait]
pub trait PowerSupply: Send + Sync {
    /// The instrument's name from the rig file (`psu1`) or the twin's.
    fn name(&self) -> &str;
    async fn identify(&self) -> Result<String, SupplyError>;
    async fn set_volts(&self, channel: u8, volts: f64) -> Result<(), SupplyError>;
    async fn set_current_limit(&self, channel: u8, amps: f64) -> Result<(), SupplyError>;
    async fn set_output(&self, channel: u8, on: bool) -> Result<(), SupplyError>;
    async fn measure_volts(&self, channel: u8) -> Result<f64, SupplyError>;
    async fn measure_amps(&self, channel: u8) -> Result<f64, SupplyError>;
    /// The instrument's over-current protection; `None` when it has none, and then the channel's current limit
    /// is all that bounds its current.
    fn over_current(&self) -> Option<&dyn OverCurrentProtection>;
}

/// Over-current protection: switching a channel's output off at a trip level, where the instrument can.
#[async_trait]
pub trait OverCurrentProtection: Send + Sync {
    /// Arms the channel's protection to switch its output off at `trip_amps` (within the channel's `max_amps`,
    /// checked before anything is sent), clearing a trip left from before where the instrument has a command for
    /// it; `None` disarms it. Says how the protection trips.
    async fn set_trip(&self, channel: u8, trip_amps: Option<f64>) -> Result<OcpTrip, SupplyError>;
    /// Whether the protection has switched the channel's output off; `None` when the instrument does not report
    /// a trip (the output going off is then all that shows it).
    async fn tripped(&self, channel: u8) -> Result<Option<bool>, SupplyError>;
}

/// How a channel's over-current protection trips, as arming it set it up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OcpTrip {
    /// The output switches off once the current reaches this many amps.
    AtLevel(f64),
    /// The output switches off once the channel reaches its current limit: the instrument has no trip level of
    /// its own, so what would be constant-current operation ends in a trip instead.
    AtCurrentLimit,
    /// Disarmed, as asked.
    Off,
}
