//! Which driver a rig file's `[supply.NAME]` asks for (`driver` and `model`), and opening it.

use super::korad::{self, KoradSupply};
use super::riden::{self, RidenModel, RidenSupply};
use super::scpi::{self, ScpiSupply};
use super::{ChannelLimits, Dialect, PowerSupply};
use anyhow::Result;
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Scpi(Dialect),
    /// Korad KA3005P and its Tenma rebadge.
    Korad,
    Riden(RidenModel),
}

/// Why a `driver`/`model` pair names no driver; the message lists what is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError {
    UnknownDriver(String),
    UnknownModel { driver: String, model: String },
}

pub const DRIVERS: &str = "scpi, korad, riden";
const KORAD_MODELS: [&str; 2] = ["korad-ka3005p", "tenma-72-2540"];

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::UnknownDriver(driver) => {
                write!(
                    f,
                    "driver {driver:?} is not supported; valid drivers: {DRIVERS}"
                )
            }
            DriverError::UnknownModel { driver, model } => {
                let valid = match driver.as_str() {
                    "scpi" => {
                        "rigol-dp8xx, siglent-spd3xxx, keysight-e363xx, rs-hmc804x, generic".into()
                    }
                    "korad" => KORAD_MODELS.join(", "),
                    _ => RidenModel::ALL
                        .map(|m| format!("riden-{}", m.name().to_ascii_lowercase()))
                        .join(", "),
                };
                write!(
                    f,
                    "unknown model {model:?} for driver {driver:?}; valid: {valid}"
                )
            }
        }
    }
}

impl Driver {
    pub fn new(driver: &str, model: &str) -> Result<Driver, DriverError> {
        let unknown_model = || DriverError::UnknownModel {
            driver: driver.to_string(),
            model: model.to_string(),
        };
        match driver {
            "scpi" => Dialect::for_model(model)
                .map(Driver::Scpi)
                .ok_or_else(unknown_model),
            "korad" => KORAD_MODELS
                .iter()
                .any(|m| m.eq_ignore_ascii_case(model))
                .then_some(Driver::Korad)
                .ok_or_else(unknown_model),
            "riden" => RidenModel::for_model(model)
                .map(Driver::Riden)
                .ok_or_else(unknown_model),
            _ => Err(DriverError::UnknownDriver(driver.to_string())),
        }
    }

    /// The highest channel number the instrument has.
    pub fn max_channel(self) -> u8 {
        match self {
            Driver::Scpi(dialect) => dialect.max_channel(),
            Driver::Korad | Driver::Riden(_) => 1,
        }
    }

    /// The baud rate of a `serial://` address that does not give one: the instrument's factory setting.
    pub fn serial_baud(self) -> u32 {
        match self {
            Driver::Scpi(_) => scpi::SERIAL_BAUD,
            Driver::Korad => korad::SERIAL_BAUD,
            Driver::Riden(_) => riden::SERIAL_BAUD,
        }
    }

    /// The family's name in messages.
    pub fn family(self) -> String {
        match self {
            Driver::Scpi(dialect) => format!("{dialect:?}"),
            Driver::Korad => "KA3005P".into(),
            Driver::Riden(model) => model.to_string(),
        }
    }
}

/// The supply a rig file's entry describes, named `name` in errors, driving `channels` within their limits.
/// Nothing is sent until its first call.
pub fn open(
    name: &str,
    driver: Driver,
    address: &str,
    channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
) -> Result<Arc<dyn PowerSupply>> {
    Ok(match driver {
        Driver::Scpi(dialect) => Arc::new(ScpiSupply::new(name, address, dialect, channels)?),
        Driver::Korad => Arc::new(KoradSupply::new(name, address, channels)?),
        Driver::Riden(model) => Arc::new(RidenSupply::new(name, address, model, channels)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_and_models_resolve_or_say_what_is_valid() {
        assert_eq!(
            Driver::new("scpi", "rigol-dp832"),
            Ok(Driver::Scpi(Dialect::RigolDp800))
        );
        assert_eq!(Driver::new("korad", "Tenma-72-2540"), Ok(Driver::Korad));
        assert_eq!(
            Driver::new("riden", "riden-rd6006p"),
            Ok(Driver::Riden(RidenModel::Rd6006p))
        );
        let e = Driver::new("visa", "x").unwrap_err().to_string();
        assert!(e.contains("valid drivers: scpi, korad, riden"), "{e}");
        let e = Driver::new("korad", "ka3305p").unwrap_err().to_string();
        assert!(e.contains("valid: korad-ka3005p"), "{e}");
        let e = Driver::new("riden", "rd6024").unwrap_err().to_string();
        assert!(e.contains("riden-rd6006, riden-rd6006p"), "{e}");
        assert_eq!(Driver::Riden(RidenModel::Rd6018).serial_baud(), 115_200);
        assert_eq!(Driver::Korad.max_channel(), 1);
    }
}
