//! Riden RD60xx over Modbus RTU (slave 1, 115200 baud): holding registers 0 (model id), 8/9 (V/I set), 10/11
//! (V/I out) and 18 (output), in counts whose scale depends on the model. The model register is read before
//! anything is written and must name the model the rig file gives, since a wrong scale would set ten times the
//! voltage. Stock firmware answers fewer than 10 queries a second, so requests are paced.

use super::address::Address;
use super::channels::Channels;
use super::port::Port;
use super::{ChannelLimits, OverCurrentProtection, PowerSupply};
use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use std::fmt;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;
use tokio_modbus::client::{rtu, Client};
use tokio_modbus::{Request, Response, Slave};

/// The factory serial rate.
pub const SERIAL_BAUD: u32 = 115_200;
/// The factory Modbus address.
pub const SLAVE: u8 = 1;
/// Least time from one reply to the next request.
pub const PACING: Duration = Duration::from_millis(100);

/// Holding registers (REFERENCE "Bench supplies").
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

impl fmt::Display for RidenModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub struct RidenSupply {
    name: String,
    address: Address,
    model: RidenModel,
    channels: Channels,
    /// One request at a time: a reply belongs to the request before it.
    link: Mutex<Link>,
}

#[derive(Default)]
struct Link {
    /// Open and identified.
    modbus: Option<tokio_modbus::client::Context>,
    /// Still set when a call starts if the last request was cut short: a late reply may be on its way, so the
    /// port is reopened rather than trusted.
    mid_request: bool,
    last: Option<Instant>,
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

impl RidenSupply {
    /// An RD60xx of `model` at `address` (`serial:///dev/…`, 115200 baud unless `?baud=` says otherwise)
    /// named `name` in errors. Nothing is sent until the first call, which opens the port and checks the model.
    pub fn new(
        name: &str,
        address: &str,
        model: RidenModel,
        channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
    ) -> Result<Self> {
        let address = Address::parse(address, SERIAL_BAUD).map_err(|e| anyhow!("{name}: {e}"))?;
        Ok(RidenSupply {
            name: name.to_string(),
            address,
            model,
            channels: Channels::new(name, model.name(), 1, channels)?,
            link: Mutex::new(Link::default()),
        })
    }

    /// One bounded call: opens and identifies the unit if needed, then makes the request.
    async fn call(&self, op: Op) -> Result<Vec<u16>> {
        let attempt = async {
            let mut link = self.link.lock().await;
            if std::mem::take(&mut link.mid_request) {
                link.modbus = None;
            }
            if link.modbus.is_none() {
                self.open(&mut link).await?;
            }
            self.request(&mut link, op).await
        };
        super::bounded(&self.name, &self.address, &op, attempt).await
    }

    /// Opens the port and reads the model register; a unit of another model is refused before any write.
    async fn open(&self, link: &mut Link) -> Result<()> {
        let port = Port::open(&self.address)
            .await
            .with_context(|| format!("{}: opening {}", self.name, self.address))?;
        link.modbus = Some(rtu::attach_slave(port, Slave(SLAVE)));
        let checked = self.check_model(link).await;
        if checked.is_err() {
            link.modbus = None;
        }
        checked
    }

    async fn check_model(&self, link: &mut Link) -> Result<()> {
        let read = Op::Read {
            register: register::MODEL_ID,
            count: 1,
        };
        let id = self.request(link, read).await?[0];
        match RidenModel::from_id(id) {
            Some(model) if model == self.model => Ok(()),
            Some(model) => bail!(
                "{}: the model register reads {id}, an {model}, but the rig file says {}; their V/A scales differ, so nothing was written",
                self.name,
                self.model
            ),
            None => bail!(
                "{}: the model register reads {id}, not a Riden model this driver knows ({}); nothing was written",
                self.name,
                RidenModel::ALL.map(|m| format!("{m} {}", m.id())).join(", ")
            ),
        }
    }

    /// One paced request; checks that the reply is the one asked for. A broken or confused link is closed so
    /// the next call reopens it.
    async fn request(&self, link: &mut Link, op: Op) -> Result<Vec<u16>> {
        if let Some(last) = link.last {
            tokio::time::sleep_until(last + PACING).await;
        }
        let Some(modbus) = link.modbus.as_mut() else {
            bail!("{}: `{op}`: the port is not open", self.name);
        };
        let request = match op {
            Op::Read { register, count } => Request::ReadHoldingRegisters(register, count),
            Op::Write { register, value } => Request::WriteSingleRegister(register, value),
        };
        link.mid_request = true;
        let reply = modbus.call(request).await;
        link.mid_request = false;
        link.last = Some(Instant::now());
        let failed = match reply {
            Ok(Ok(response)) => match (op, response) {
                (Op::Read { count, .. }, Response::ReadHoldingRegisters(words))
                    if words.len() == usize::from(count) =>
                {
                    return Ok(words)
                }
                (Op::Write { register, value }, Response::WriteSingleRegister(r, v))
                    if (r, v) == (register, value) =>
                {
                    return Ok(Vec::new())
                }
                (_, other) => anyhow!("{}: `{op}` answered {other:?}", self.name),
            },
            Ok(Err(exception)) => {
                // The unit understood and refused: the link itself is fine.
                bail!(
                    "{}: `{op}` was refused: Modbus exception {exception}",
                    self.name
                )
            }
            Err(e) => anyhow!("{}: `{op}` on {}: {e}", self.name, self.address),
        };
        link.modbus = None;
        Err(failed)
    }

    /// Writes a setting in counts; `what` and `unit` name it in a refusal.
    async fn write_scaled(&self, register: u16, value: f64, counts_per_unit: f64) -> Result<()> {
        let counts = (value * counts_per_unit).round();
        // The channel limits are far below a register's range; this guards a limit set wider than the unit.
        if !(0.0..=f64::from(u16::MAX)).contains(&counts) {
            bail!(
                "{}: {value} does not fit register {register} of an {}; nothing was sent",
                self.name,
                self.model
            );
        }
        self.call(Op::Write {
            register,
            value: counts as u16,
        })
        .await
        .map(drop)
    }

    async fn read_scaled(&self, register: u16, counts_per_unit: f64) -> Result<f64> {
        let words = self.call(Op::Read { register, count: 1 }).await?;
        Ok(f64::from(words[0]) / counts_per_unit)
    }
}

#[async_trait]
impl PowerSupply for RidenSupply {
    fn name(&self) -> &str {
        &self.name
    }

    async fn identify(&self) -> Result<String> {
        let words = self
            .call(Op::Read {
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

    async fn set_volts(&self, channel: u8, volts: f64) -> Result<()> {
        let (per_volt, _) = self.model.scale();
        let sent = self
            .channels
            .volts_on_grid(channel, volts, 1.0 / per_volt)?;
        self.write_scaled(register::VOLTS_SET, sent, per_volt).await
    }

    async fn set_current_limit(&self, channel: u8, amps: f64) -> Result<()> {
        let (_, per_amp) = self.model.scale();
        let sent = self.channels.amps_on_grid(channel, amps, 1.0 / per_amp)?;
        self.write_scaled(register::AMPS_SET, sent, per_amp).await
    }

    async fn set_output(&self, channel: u8, on: bool) -> Result<()> {
        self.channels.limits(channel)?;
        self.call(Op::Write {
            register: register::OUTPUT,
            value: u16::from(on),
        })
        .await
        .map(drop)
    }

    async fn measure_volts(&self, channel: u8) -> Result<f64> {
        self.channels.limits(channel)?;
        self.read_scaled(register::VOLTS_OUT, self.model.scale().0)
            .await
    }

    async fn measure_amps(&self, channel: u8) -> Result<f64> {
        self.channels.limits(channel)?;
        self.read_scaled(register::AMPS_OUT, self.model.scale().1)
            .await
    }

    async fn set_over_current_protection(
        &self,
        channel: u8,
        trip_amps: Option<f64>,
    ) -> Result<OverCurrentProtection> {
        let (_, per_amp) = self.model.scale();
        // The unit's protection cannot be switched off: disarming moves it to the model's full current.
        let level = match trip_amps {
            Some(amps) => self
                .channels
                .trip_amps_on_grid(channel, amps, 1.0 / per_amp)?,
            None => {
                self.channels.limits(channel)?;
                self.model.max_amps()
            }
        };
        self.write_scaled(register::OCP_SET, level, per_amp).await?;
        Ok(match trip_amps {
            Some(_) => OverCurrentProtection::TripsAt(level),
            None => OverCurrentProtection::Off,
        })
    }

    async fn over_current_tripped(&self, channel: u8) -> Result<Option<bool>> {
        self.channels.limits(channel)?;
        let words = self
            .call(Op::Read {
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
