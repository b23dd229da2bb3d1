//! Riden RD60xx over Modbus RTU (slave 1, 115200 baud): holding registers 0 (model id), 8/9 (V/I set), 10/11
//! (V/I out) and 18 (output), in counts whose scale depends on the model. The model register is read before
//! anything is written and must name the model the rig file gives, since a wrong scale would set ten times the
//! voltage. Stock firmware answers fewer than 10 queries a second, so requests are paced.

use super::channels::Channels;
use super::driver::{ModelInfo, SupplyDriver};
use super::error::SupplyError;
use super::limits::Setting;
use super::link::{Endpoint, Link, Pacer, Protocol};
use super::port::Port;
use super::{ChannelLimits, OcpTrip, OverCurrentProtection, PowerSupply};
use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio_modbus::client::{rtu, Client, Context};
use tokio_modbus::{Request, Response, Slave};

/// The factory serial rate.
pub const SERIAL_BAUD: u32 = 115_200;
/// The factory Modbus address.
pub const SLAVE: u8 = 1;
/// Least time from one reply to the next request.
pub const PACING: Duration = Duration::from_millis(100);

/// Holding registers, as the Riden RD60xx Modbus register map numbers them.
pub mod register {
    pub const MODEL_ID: u16 = 0;
    pub const SERIAL_HIGH: u16 = 1;
    pub const SERIAL_LOW: u16 = 2;
    pub const FIRMWARE: u16 = 3;
    pub const VOLTS_SET: u16 = 8;
    pub const AMPS_SET: u16 = 9;
    pub const VOLTS_OUT: u16 = 10;
    pub const AMPS_OUT: u16 = 11;
    /// Which protection switched the output off: [`super::PROTECTION_OCP`], 1 for over-voltage, 0 for none.
    pub const PROTECTION: u16 = 16;
    pub const OUTPUT: u16 = 18;
    /// The over-current level in use (memory M0's), in current-set counts.
    pub const OCP_SET: u16 = 83;
}

/// The value of [`register::PROTECTION`] after an over-current trip.
pub const PROTECTION_OCP: u16 = 2;

/// The RD60xx models whose scaling is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RidenModel {
    Rd6006,
    Rd6006p,
    Rd6012,
    Rd6018,
}

impl RidenModel {
    pub const ALL: [RidenModel; 4] = [
        RidenModel::Rd6006,
        RidenModel::Rd6006p,
        RidenModel::Rd6012,
        RidenModel::Rd6018,
    ];

    /// The model for a rig file's `model` (`riden-rd6006`, `rd6006p`, …), case-insensitive.
    pub fn for_model(model: &str) -> Option<RidenModel> {
        let model = model.to_ascii_lowercase();
        let bare = model.strip_prefix("riden-").unwrap_or(&model);
        RidenModel::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(bare))
    }

    /// The model a model-register value names: the model number times ten plus a revision digit
    /// (60062 is an RD6006); the RD6006P has 60065 of its own.
    pub fn from_id(id: u16) -> Option<RidenModel> {
        match id {
            60065 => Some(RidenModel::Rd6006p),
            60060..=60064 => Some(RidenModel::Rd6006),
            60120..=60124 => Some(RidenModel::Rd6012),
            60180..=60189 => Some(RidenModel::Rd6018),
            _ => None,
        }
    }

    /// A model-register value the unit reports (the twin's).
    pub fn id(self) -> u16 {
        match self {
            RidenModel::Rd6006 => 60062,
            RidenModel::Rd6006p => 60065,
            RidenModel::Rd6012 => 60121,
            RidenModel::Rd6018 => 60181,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RidenModel::Rd6006 => "RD6006",
            RidenModel::Rd6006p => "RD6006P",
            RidenModel::Rd6012 => "RD6012",
            RidenModel::Rd6018 => "RD6018",
        }
    }

    /// Register counts per volt and per amp.
    pub fn scale(self) -> (f64, f64) {
        match self {
            RidenModel::Rd6006 => (100.0, 1000.0),
            RidenModel::Rd6006p => (1000.0, 10000.0),
            RidenModel::Rd6012 | RidenModel::Rd6018 => (100.0, 100.0),
        }
    }

    /// The programmable range.
    pub fn max_volts(self) -> f64 {
        60.0
    }

    pub fn max_amps(self) -> f64 {
        match self {
            RidenModel::Rd6006 | RidenModel::Rd6006p => 6.0,
            RidenModel::Rd6012 => 12.0,
            RidenModel::Rd6018 => 18.0,
        }
    }
}

/// `driver = "riden"`: a model is one of [`RidenModel::ALL`].
pub struct RidenDriver;

impl SupplyDriver for RidenDriver {
    fn name(&self) -> &'static str {
        "riden"
    }

    fn models(&self) -> String {
        RidenModel::ALL
            .map(|m| format!("riden-{}", m.name().to_ascii_lowercase()))
            .join(", ")
    }

    fn model(&self, model: &str) -> Option<ModelInfo> {
        RidenModel::for_model(model).map(|model| ModelInfo {
            family: model.to_string(),
            max_channel: 1,
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
        let model = RidenModel::for_model(model).ok_or_else(|| SupplyError::Driver {
            instrument: name.to_string(),
            error: self.unknown_model(model),
        })?;
        Ok(Arc::new(RidenSupply::new(
            name,
            address,
            model,
            channels.iter().copied(),
        )?))
    }
}

impl fmt::Display for RidenModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub struct RidenSupply {
    link: Link<RidenProtocol>,
    model: RidenModel,
    channels: Channels,
}

/// One Modbus request, as errors name it.
#[derive(Debug, Clone, Copy)]
enum Op {
    Read { register: u16, count: u16 },
    Write { register: u16, value: u16 },
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Op::Read { register, count: 1 } => write!(f, "read register {register}"),
            Op::Read { register, count } => {
                write!(f, "read registers {register}..={}", register + count - 1)
            }
            Op::Write { register, value } => write!(f, "write {value} to register {register}"),
        }
    }
}

/// Modbus RTU to slave [`SLAVE`], the unit's model checked before anything else.
struct RidenProtocol {
    model: RidenModel,
}

#[async_trait]
impl Protocol for RidenProtocol {
    type Connection = Context;
    type Request = Op;
    type Reply = Vec<u16>;

    /// Reads the model register: a unit of another model is refused before any write.
    async fn dial(
        &self,
        at: &Endpoint,
        port: Port,
        pacer: &mut Pacer,
    ) -> Result<Context, SupplyError> {
        let mut modbus = rtu::attach_slave(port, Slave(SLAVE));
        let read = Op::Read {
            register: register::MODEL_ID,
            count: 1,
        };
        let id = self.exchange(at, &mut modbus, pacer, &read).await?[0];
        let found = match RidenModel::from_id(id) {
            Some(model) if model == self.model => return Ok(modbus),
            Some(model) => format!(
                "the model register reads {id}, an {model}, but the rig file says {} (their V/A scales differ)",
                self.model
            ),
            None => format!(
                "the model register reads {id}, not a Riden model this driver knows ({})",
                RidenModel::ALL.map(|m| format!("{m} {}", m.id())).join(", ")
            ),
        };
        Err(SupplyError::WrongInstrument {
            instrument: at.instrument.clone(),
            found,
        })
    }

    /// One paced request; checks that the reply is the one asked for.
    async fn exchange(
        &self,
        at: &Endpoint,
        modbus: &mut Context,
        pacer: &mut Pacer,
        op: &Op,
    ) -> Result<Vec<u16>, SupplyError> {
        pacer.wait().await;
        let request = match *op {
            Op::Read { register, count } => Request::ReadHoldingRegisters(register, count),
            Op::Write { register, value } => Request::WriteSingleRegister(register, value),
        };
        let reply = modbus.call(request).await;
        pacer.mark();
        match reply {
            Ok(Ok(response)) => match (*op, response) {
                (Op::Read { count, .. }, Response::ReadHoldingRegisters(words))
                    if words.len() == usize::from(count) =>
                {
                    Ok(words)
                }
                (Op::Write { register, value }, Response::WriteSingleRegister(r, v))
                    if (r, v) == (register, value) =>
                {
                    Ok(Vec::new())
                }
                (_, other) => Err(at.bad_reply(op, format!("{other:?}"))),
            },
            // The unit understood and refused: the link itself is fine.
            Ok(Err(exception)) => Err(SupplyError::Refused {
                instrument: at.instrument.clone(),
                command: op.to_string(),
                reason: format!("Modbus exception {exception}"),
            }),
            Err(tokio_modbus::Error::Transport(e)) => Err(at.dropped(op, e)),
            Err(tokio_modbus::Error::Protocol(e)) => Err(at.bad_reply(op, e.to_string())),
        }
    }
}

impl RidenSupply {
    /// An RD60xx of `model` at `address` (`serial:///dev/…`, 115200 baud unless `?baud=` says otherwise)
    /// named `name` in errors. Nothing is sent until the first call, which opens the port and checks the model.
    pub fn new(
        name: &str,
        address: &str,
        model: RidenModel,
        channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
    ) -> Result<Self, SupplyError> {
        Ok(RidenSupply {
            link: Link::new(
                Endpoint::parse(name, address, SERIAL_BAUD)?,
                RidenProtocol { model },
                PACING,
            ),
            model,
            channels: Channels::new(name, model.name(), 1, channels)?,
        })
    }

    /// Writes a setting in counts.
    async fn write_scaled(
        &self,
        register: u16,
        value: f64,
        counts_per_unit: f64,
    ) -> Result<(), SupplyError> {
        let counts = (value * counts_per_unit).round();
        // The channel limits are far below a register's range; this guards a limit set wider than the unit.
        if !(0.0..=f64::from(u16::MAX)).contains(&counts) {
            return Err(SupplyError::DoesNotFit {
                instrument: self.link.endpoint().instrument.clone(),
                value,
                target: format!("register {register} of an {}", self.model),
            });
        }
        let write = Op::Write {
            register,
            value: counts as u16,
        };
        self.link.call(&write).await.map(drop)
    }

    async fn read_scaled(&self, register: u16, counts_per_unit: f64) -> Result<f64, SupplyError> {
        let words = self.link.call(&Op::Read { register, count: 1 }).await?;
        Ok(f64::from(words[0]) / counts_per_unit)
    }
}

#[async_trait]
impl PowerSupply for RidenSupply {
    fn name(&self) -> &str {
        &self.link.endpoint().instrument
    }

    async fn identify(&self) -> Result<String, SupplyError> {
        let words = self
            .link
            .call(&Op::Read {
                register: register::MODEL_ID,
                count: register::FIRMWARE + 1,
            })
            .await?;
        let serial = u32::from(words[usize::from(register::SERIAL_HIGH)]) << 16
            | u32::from(words[usize::from(register::SERIAL_LOW)]);
        Ok(format!(
            "RIDEN {},SN {serial:08},firmware {}",
            self.model,
            words[usize::from(register::FIRMWARE)]
        ))
    }

    async fn set_volts(&self, channel: u8, volts: f64) -> Result<(), SupplyError> {
        let (per_volt, _) = self.model.scale();
        let sent = self
            .channels
            .on_grid(channel, Setting::Volts, volts, 1.0 / per_volt)?;
        self.write_scaled(register::VOLTS_SET, sent, per_volt).await
    }

    async fn set_current_limit(&self, channel: u8, amps: f64) -> Result<(), SupplyError> {
        let (_, per_amp) = self.model.scale();
        let sent = self
            .channels
            .on_grid(channel, Setting::CurrentLimit, amps, 1.0 / per_amp)?;
        self.write_scaled(register::AMPS_SET, sent, per_amp).await
    }

    async fn set_output(&self, channel: u8, on: bool) -> Result<(), SupplyError> {
        self.channels.limits(channel)?;
        let write = Op::Write {
            register: register::OUTPUT,
            value: u16::from(on),
        };
        self.link.call(&write).await.map(drop)
    }

    async fn measure_volts(&self, channel: u8) -> Result<f64, SupplyError> {
        self.channels.limits(channel)?;
        self.read_scaled(register::VOLTS_OUT, self.model.scale().0)
            .await
    }

    async fn measure_amps(&self, channel: u8) -> Result<f64, SupplyError> {
        self.channels.limits(channel)?;
        self.read_scaled(register::AMPS_OUT, self.model.scale().1)
            .await
    }

    fn over_current(&self) -> Option<&dyn OverCurrentProtection> {
        Some(self)
    }
}

#[async_trait]
impl OverCurrentProtection for RidenSupply {
    async fn set_trip(&self, channel: u8, trip_amps: Option<f64>) -> Result<OcpTrip, SupplyError> {
        let (_, per_amp) = self.model.scale();
        // The unit's protection cannot be switched off: disarming moves it to the model's full current.
        let level = match trip_amps {
            Some(amps) => self
                .channels
                .on_grid(channel, Setting::TripAmps, amps, 1.0 / per_amp)?,
            None => {
                self.channels.limits(channel)?;
                self.model.max_amps()
            }
        };
        self.write_scaled(register::OCP_SET, level, per_amp).await?;
        Ok(match trip_amps {
            Some(_) => OcpTrip::AtLevel(level),
            None => OcpTrip::Off,
        })
    }

    async fn tripped(&self, channel: u8) -> Result<Option<bool>, SupplyError> {
        self.channels.limits(channel)?;
        let words = self
            .link
            .call(&Op::Read {
                register: register::PROTECTION,
                count: 1,
            })
            .await?;
        Ok(Some(words[0] == PROTECTION_OCP))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_known_by_name_and_by_register() {
        assert_eq!(
            RidenModel::for_model("riden-rd6006"),
            Some(RidenModel::Rd6006)
        );
        assert_eq!(RidenModel::for_model("RD6006P"), Some(RidenModel::Rd6006p));
        assert_eq!(RidenModel::for_model("rd6024"), None);
        for model in RidenModel::ALL {
            assert_eq!(RidenModel::from_id(model.id()), Some(model));
        }
        assert_eq!(RidenModel::from_id(60060), Some(RidenModel::Rd6006));
        assert_eq!(RidenModel::from_id(60241), None);
        assert_eq!(RidenModel::Rd6006.scale(), (100.0, 1000.0));
        assert_eq!(RidenModel::Rd6006p.scale(), (1000.0, 10000.0));
    }

    #[test]
    fn requests_are_named_in_errors() {
        assert_eq!(
            Op::Read {
                register: 10,
                count: 1
            }
            .to_string(),
            "read register 10"
        );
        assert_eq!(
            Op::Read {
                register: 0,
                count: 4
            }
            .to_string(),
            "read registers 0..=3"
        );
        assert_eq!(
            Op::Write {
                register: 8,
                value: 1260
            }
            .to_string(),
            "write 1260 to register 8"
        );
    }
}
