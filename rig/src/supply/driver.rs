//! What a supply driver is to the rig: one family of instruments a rig file's `driver` names, the models it drives,
//! and opening one. Each driver implements [`SupplyDriver`] in its own file; the registry lists them.

use super::error::{DriverError, SupplyError};
use super::{ChannelLimits, PowerSupply};
use std::sync::Arc;

/// One family of supplies: what a rig file's `driver` names.
pub trait SupplyDriver: Send + Sync {
    /// The rig file's `driver` value (`scpi`).
    fn name(&self) -> &'static str;
    /// The models it drives, as a "valid: …" list shows them.
    fn models(&self) -> String;
    /// What the driver knows of a rig file's `model` (case-insensitive); `None` if it does not drive it.
    fn model(&self, model: &str) -> Option<ModelInfo>;
    /// The baud rate of a `serial://` address that gives none: the instrument's factory setting.
    fn serial_baud(&self) -> u32;
    /// Instrument `name`, a `model` this driver drives, at `address`, driving `channels` within their limits.
    /// Nothing is sent until its first call.
    fn open(
        &self,
        name: &str,
        model: &str,
        address: &str,
        channels: &[(u8, ChannelLimits)],
    ) -> Result<Arc<dyn PowerSupply>, SupplyError>;

    /// `model` is not one of this driver's.
    fn unknown_model(&self, model: &str) -> DriverError {
        DriverError::UnknownModel {
            driver: self.name().to_string(),
            model: model.to_string(),
            valid: self.models(),
        }
    }
}

/// What a driver knows of one of its models.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The model's family in messages (`KA3005P`).
    pub family: String,
    /// Its channels are `1..=max_channel`.
    pub max_channel: u8,
}
