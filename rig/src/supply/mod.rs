//! Bench power supplies: the trait the runner drives, its drivers (SCPI, Korad, Riden) and the factory that opens
//! the one a rig file names.

mod address;
mod channels;
pub mod dialect;
mod driver;
pub mod korad;
mod port;
pub mod riden;
mod scpi;

pub use address::Address;
pub use dialect::Dialect;
pub use driver::{open, Driver, DriverError, DRIVERS};
pub use korad::KoradSupply;
pub use riden::{RidenModel, RidenSupply};
pub use scpi::ScpiSupply;

use async_trait::async_trait;

/// One channel of a bench supply; every call is bounded in time by the implementation and its errors name the
/// instrument and the command that failed.
#[async_trait]
pub trait PowerSupply: Send + Sync {
    /// The instrument's name from the rig file (`psu1`) or the twin's.
    fn name(&self) -> &str;
    async fn identify(&self) -> anyhow::Result<String>;
    async fn set_volts(&self, channel: u8, volts: f64) -> anyhow::Result<()>;
    async fn set_current_limit(&self, channel: u8, amps: f64) -> anyhow::Result<()>;
    async fn set_output(&self, channel: u8, on: bool) -> anyhow::Result<()>;
    async fn measure_volts(&self, channel: u8) -> anyhow::Result<f64>;
    async fn measure_amps(&self, channel: u8) -> anyhow::Result<f64>;
}

/// What a channel may be asked for; enforced before any command is sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelLimits {
    pub max_volts: f64,
    pub max_amps: f64,
}
