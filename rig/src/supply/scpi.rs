//! SCPI supplies over raw TCP (`tcp://host:port`) or a serial port (`serial:///dev/…?baud=N`): the driver for the
//! lab's supplies and for the twin's SCPI server alike. Each model speaks its [`Dialect`].

use super::channels::Channels;
use super::dialect::{self, Dialect, Protection, IDENTIFY};
use super::driver::{ModelInfo, SupplyDriver};
use super::error::{shown, SupplyError};
use super::limits::Setting;
use super::link::{Endpoint, Link};
use super::scpi_protocol::{ScpiProtocol, ScpiRequest};
use super::{ChannelLimits, OcpTrip, OverCurrentProtection, PowerSupply};
use async_trait::async_trait;
use std::sync::Arc;

/// RS-232 SCPI supplies leave the factory at 9600 baud (DP800, SPD3303X, HMC804x).
pub const SERIAL_BAUD: u32 = 9600;

/// `driver = "scpi"`: a model is one of the [`Dialect`]s.
pub struct ScpiDriver;

impl SupplyDriver for ScpiDriver {
    fn name(&self) -> &'static str {
        "scpi"
    }

    fn models(&self) -> String {
        dialect::MODELS.into()
    }

    fn model(&self, model: &str) -> Option<ModelInfo> {
        Dialect::for_model(model).map(|dialect| ModelInfo {
            family: format!("{dialect:?}"),
            max_channel: dialect.max_channel(),
        })
    }

    fn serial_baud(&self) -> u32 {
        SERIAL_BAUD
    }

    fn open(
        &self,
        name: &str,
        model: &str,
        address: &str,
        channels: &[(u8, ChannelLimits)],
    ) -> Result<Arc<dyn PowerSupply>, SupplyError> {
        let dialect = Dialect::for_model(model).ok_or_else(|| SupplyError::Driver {
            instrument: name.to_string(),
            error: self.unknown_model(model),
        })?;
        let supply = ScpiSupply::new(name, address, dialect, channels.iter().copied())?;
        Ok(Arc::new(supply))
    }
}

pub struct ScpiSupply {
    scpi: Arc<Scpi>,
    /// Present for the dialects that have over-current protection.
    protection: Option<ScpiProtection>,
}

/// What the supply and its protection share: one link, one set of channels.
struct Scpi {
    link: Link<ScpiProtocol>,
    dialect: Dialect,
    channels: Channels,
}

struct ScpiProtection {
    scpi: Arc<Scpi>,
    protection: Protection,
}

impl ScpiSupply {
    /// A supply at `address` (`tcp://host:port`, or `serial:///dev/…` at [`SERIAL_BAUD`] unless `?baud=` says
    /// otherwise) named `name` in errors, speaking `dialect`, with the channels it may drive and their limits.
    /// Nothing is sent until the first call, which connects.
    pub fn new(
        name: &str,
        address: &str,
        dialect: Dialect,
        channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
    ) -> Result<Self, SupplyError> {
        let at = Endpoint::parse(name, address, SERIAL_BAUD)?;
        let channels = Channels::new(
            name,
            &format!("{dialect:?}"),
            dialect.max_channel(),
            channels,
        )?;
        let scpi = Arc::new(Scpi {
            link: Link::new(at, ScpiProtocol, dialect.pacing()),
            dialect,
            channels,
        });
        Ok(ScpiSupply {
            protection: dialect.protection().map(|protection| ScpiProtection {
                scpi: scpi.clone(),
                protection,
            }),
            scpi,
        })
    }
}

impl Scpi {
    /// Sends a setting's lines, then reads the error queue so a refusal is an error naming the command.
    async fn set(&self, lines: Vec<String>) -> Result<(), SupplyError> {
        let request = ScpiRequest {
            lines,
            check_errors: true,
        };
        self.link.call(&request).await.map(drop)
    }

    /// Sends a query's lines; returns the reply and the request, which names it in errors.
    async fn query(&self, lines: Vec<String>) -> Result<(String, ScpiRequest), SupplyError> {
        let request = ScpiRequest {
            lines,
            check_errors: false,
        };
        let reply = self.link.call(&request).await?;
        Ok((reply, request))
    }

    /// A query whose reply is a number.
    async fn measure(&self, lines: Vec<String>) -> Result<f64, SupplyError> {
        let (reply, request) = self.query(lines).await?;
        dialect::parse_number(&reply).ok_or_else(|| {
            self.link
                .endpoint()
                .bad_reply(request, format!("{}, not a number", shown(&reply)))
        })
    }
}

#[async_trait]
impl PowerSupply for ScpiSupply {
    fn name(&self) -> &str {
        &self.scpi.link.endpoint().instrument
    }

    async fn identify(&self) -> Result<String, SupplyError> {
        let (reply, request) = self.scpi.query(vec![IDENTIFY.into()]).await?;
        if reply.trim().is_empty() {
            return Err(self
                .scpi
                .link
                .endpoint()
                .bad_reply(request, "an empty line"));
        }
        Ok(reply.trim().to_string())
    }

    async fn set_volts(&self, channel: u8, volts: f64) -> Result<(), SupplyError> {
        let scpi = &self.scpi;
        scpi.channels.check(channel, Setting::Volts, volts)?;
        scpi.set(scpi.dialect.set_volts(channel, volts)).await
    }

    async fn set_current_limit(&self, channel: u8, amps: f64) -> Result<(), SupplyError> {
        let scpi = &self.scpi;
        scpi.channels.check(channel, Setting::CurrentLimit, amps)?;
        scpi.set(scpi.dialect.set_current_limit(channel, amps))
            .await
    }

    async fn set_output(&self, channel: u8, on: bool) -> Result<(), SupplyError> {
        self.scpi.channels.limits(channel)?;
        self.scpi
            .set(self.scpi.dialect.set_output(channel, on))
            .await
    }

    async fn measure_volts(&self, channel: u8) -> Result<f64, SupplyError> {
        self.scpi.channels.limits(channel)?;
        self.scpi
            .measure(self.scpi.dialect.measure_volts(channel))
            .await
    }

    async fn measure_amps(&self, channel: u8) -> Result<f64, SupplyError> {
        self.scpi.channels.limits(channel)?;
        self.scpi
            .measure(self.scpi.dialect.measure_amps(channel))
            .await
    }

    fn over_current(&self) -> Option<&dyn OverCurrentProtection> {
        self.protection
            .as_ref()
            .map(|p| p as &dyn OverCurrentProtection)
    }
}

#[async_trait]
impl OverCurrentProtection for ScpiProtection {
    async fn set_trip(&self, channel: u8, trip_amps: Option<f64>) -> Result<OcpTrip, SupplyError> {
        self.scpi.channels.check_trip(channel, trip_amps)?;
        self.scpi
            .set(self.protection.set_trip(channel, trip_amps))
            .await?;
        Ok(match trip_amps {
            None => OcpTrip::Off,
            Some(amps) if self.protection.trips_at_level() => OcpTrip::AtLevel(amps),
            Some(_) => OcpTrip::AtCurrentLimit,
        })
    }

    async fn tripped(&self, channel: u8) -> Result<Option<bool>, SupplyError> {
        self.scpi.channels.limits(channel)?;
        let (reply, request) = self.scpi.query(self.protection.tripped(channel)).await?;
        dialect::parse_flag(&reply).map(Some).ok_or_else(|| {
            self.scpi
                .link
                .endpoint()
                .bad_reply(request, format!("{}, not yes or no", shown(&reply)))
        })
    }
}
