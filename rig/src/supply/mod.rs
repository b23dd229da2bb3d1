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
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// Every driver call, connecting and reading back included, answers within this (wall-clock) time.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Runs one driver call within CALL_TIMEOUT; a call that takes longer is an error naming the instrument, the
/// command and where it was sent.
async fn bounded<T>(
    instrument: &str,
    address: &Address,
    command: impl Display,
    call: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => anyhow::bail!(
            "{instrument}: no answer to `{command}` from {address} within {} s",
            CALL_TIMEOUT.as_secs_f64()
        ),
    }
}

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
    /// Arms the channel's over-current protection to switch its output off at `trip_amps` (within the channel's
    /// `max_amps`, checked before anything is sent), clearing a trip left from before where the instrument has a
    /// command for it; `None` disarms it. Says how the protection trips, or that the instrument has none (then
    /// nothing is sent and the current limit alone bounds the current).
    async fn set_over_current_protection(
        &self,
        channel: u8,
        trip_amps: Option<f64>,
    ) -> anyhow::Result<OverCurrentProtection>;
    /// Whether the channel's over-current protection has switched its output off; `None` when the instrument
    /// cannot tell (it has no protection, or does not report a trip).
    async fn over_current_tripped(&self, channel: u8) -> anyhow::Result<Option<bool>>;
}

/// How a channel's over-current protection trips, as arming it set it up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OverCurrentProtection {
    /// The output switches off once the current reaches this many amps.
    TripsAt(f64),
    /// The output switches off once the channel reaches its current limit: the instrument has no trip level of
    /// its own, so what would be constant-current operation ends in a trip instead.
    TripsAtCurrentLimit,
    /// Disarmed, as asked.
    Off,
    /// The instrument has none: the channel's current limit is all that bounds its current.
    Unsupported,
}

/// What a channel may be asked for; enforced before any command is sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelLimits {
    pub max_volts: f64,
    pub max_amps: f64,
}
