//! The supply drivers a rig file may name (`[supply.NAME] driver = "…", model = "…"`), and resolving a pair to
//! the driver that opens it. A driver is one file implementing [`SupplyDriver`] and one line in
//! [`Registry::standard`]; a program may add its own with [`Registry::with`].

use super::driver::{ModelInfo, SupplyDriver};
use super::error::DriverError;
use super::korad::KoradDriver;
use super::riden::RidenDriver;
use super::scpi::ScpiDriver;
use super::{ChannelLimits, PowerSupply, SupplyError};
use std::fmt;
use std::sync::Arc;

/// The drivers a rig file may name, in the order "valid drivers: …" lists them.
#[derive(Clone)]
pub struct Registry {
    drivers: Vec<Arc<dyn SupplyDriver>>,
}

impl Registry {
    /// The drivers this crate has.
    pub fn standard() -> Registry {
        Registry {
            drivers: vec![
                Arc::new(ScpiDriver),
                Arc::new(KoradDriver),
                Arc::new(RidenDriver),
            ],
        }
    }

    /// These drivers and `driver`, which replaces one of the same name.
    pub fn with(mut self, driver: impl SupplyDriver + 'static) -> Registry {
        self.drivers.retain(|d| d.name() != driver.name());
        self.drivers.push(Arc::new(driver));
        self
    }

    /// The drivers' names, as "valid drivers: …" lists them.
    pub fn names(&self) -> String {
        let names: Vec<&str> = self.drivers.iter().map(|d| d.name()).collect();
        names.join(", ")
    }

    /// The driver a rig file's `driver` and `model` name.
    pub fn resolve(&self, driver: &str, model: &str) -> Result<SupplyKind, DriverError> {
        let chosen = self
            .drivers
            .iter()
            .find(|d| d.name() == driver)
            .ok_or_else(|| DriverError::UnknownDriver {
                driver: driver.to_string(),
                valid: self.names(),
            })?;
        let info = chosen
            .model(model)
            .ok_or_else(|| chosen.unknown_model(model))?;
        Ok(SupplyKind {
            driver: chosen.clone(),
            model: model.to_string(),
            info,
        })
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::standard()
    }
}

/// A driver and one of its models, as a rig file's `[supply.NAME]` names them: what opens that instrument.
#[derive(Clone)]
pub struct SupplyKind {
    driver: Arc<dyn SupplyDriver>,
    model: String,
    info: ModelInfo,
}

impl SupplyKind {
    /// The driver's name (`korad`).
    pub fn driver(&self) -> &'static str {
        self.driver.name()
    }

    /// The model as the rig file gives it.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The model's family in messages.
    pub fn family(&self) -> &str {
        &self.info.family
    }

    /// The highest channel number the instrument has.
    pub fn max_channel(&self) -> u8 {
        self.info.max_channel
    }

    /// The baud rate of a `serial://` address that does not give one.
    pub fn serial_baud(&self) -> u32 {
        self.driver.serial_baud()
    }

    /// Instrument `name` at `address`, driving `channels` within their limits. Nothing is sent until its first
    /// call.
    pub fn open(
        &self,
        name: &str,
        address: &str,
        channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
    ) -> Result<Arc<dyn PowerSupply>, SupplyError> {
        let channels: Vec<(u8, ChannelLimits)> = channels.into_iter().collect();
        self.driver.open(name, &self.model, address, &channels)
    }
}

impl fmt::Debug for SupplyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SupplyKind")
            .field("driver", &self.driver.name())
            .field("model", &self.model)
            .field("family", &self.info.family)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_and_models_resolve_or_say_what_is_valid() {
        let registry = Registry::standard();
        let scpi = registry.resolve("scpi", "rigol-dp832").unwrap();
        assert_eq!((scpi.family(), scpi.max_channel()), ("RigolDp800", 3));
        let korad = registry.resolve("korad", "Tenma-72-2540").unwrap();
        assert_eq!((korad.family(), korad.max_channel()), ("KA3005P", 1));
        let riden = registry.resolve("riden", "riden-rd6006p").unwrap();
        assert_eq!((riden.family(), riden.serial_baud()), ("RD6006P", 115_200));

        let e = registry.resolve("visa", "x").unwrap_err().to_string();
        assert!(e.contains("valid drivers: scpi, korad, riden"), "{e}");
        let e = registry
            .resolve("korad", "ka3305p")
            .unwrap_err()
            .to_string();
        assert!(e.contains("valid: korad-ka3005p"), "{e}");
        let e = registry.resolve("riden", "rd6024").unwrap_err().to_string();
        assert!(e.contains("riden-rd6006, riden-rd6006p"), "{e}");
        let e = registry
            .resolve("scpi", "acme-9000")
            .unwrap_err()
            .to_string();
        assert!(e.contains("valid: rigol-dp8xx, siglent-spd3xxx"), "{e}");
    }
}
