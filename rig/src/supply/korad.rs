//! Korad/Tenma KA3005P over its serial remote-control protocol: commands without a terminator
//! (`VSET1:12.60`, `OUT1`, `VOUT1?`) and replies without one either, so a reply is framed by its known length or,
//! for `*IDN?`, by the line going quiet. The unit has no error queue: every set is read back. It drops commands
//! that follow each other within about 80 ms, so they are paced.

use super::channels::Channels;
use super::driver::{ModelInfo, SupplyDriver};
use super::error::{shown, SupplyError};
use super::limits::Setting;
use super::link::{Endpoint, Link, Pacer, Protocol};
use super::port::Port;
use super::{ChannelLimits, OcpTrip, OverCurrentProtection, PowerSupply};
use async_trait::async_trait;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The KA3005P's fixed serial rate (8N1).
pub const SERIAL_BAUD: u32 = 9600;
/// Least time from the end of one exchange to the next command (the unit needs ≥ 80 ms).
pub const PACING: Duration = Duration::from_millis(100);
/// A reply of unknown length (`*IDN?`) has ended once the line is quiet this long (at 9600 baud a byte takes ~1 ms).
const QUIET: Duration = Duration::from_millis(60);
/// Longer identities are garbage.
const MAX_IDENTITY: usize = 64;
/// `VSET1?`, `ISET1?`, `VOUT1?` and `IOUT1?` answer five characters: `12.60`, `0.500`.
const NUMBER_LEN: usize = 5;
/// The bit of the `STATUS?` byte that is set while the output is on.
pub const STATUS_OUTPUT_ON: u8 = 0x40;
/// Settings resolution: 10 mV, 1 mA.
const VOLTS_STEP: f64 = 0.01;
const AMPS_STEP: f64 = 0.001;
/// The models a rig file may give: the KA3005P and its Tenma rebadge.
const MODELS: [&str; 2] = ["korad-ka3005p", "tenma-72-2540"];
/// The family's name in messages.
const FAMILY: &str = "KA3005P";

/// `driver = "korad"`.
pub struct KoradDriver;

impl SupplyDriver for KoradDriver {
    fn name(&self) -> &'static str {
        "korad"
    }

    fn models(&self) -> String {
        MODELS.join(", ")
    }

    fn model(&self, model: &str) -> Option<ModelInfo> {
        MODELS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(model))
            .then(|| ModelInfo {
                family: FAMILY.into(),
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
        if self.model(model).is_none() {
            return Err(SupplyError::Driver {
                instrument: name.to_string(),
                error: self.unknown_model(model),
            });
        }
        Ok(Arc::new(KoradSupply::new(
            name,
            address,
            channels.iter().copied(),
        )?))
    }
}

pub struct KoradSupply {
    link: Link<KoradProtocol>,
    channels: Channels,
}

/// How a command's reply is framed.
#[derive(Debug, Clone, Copy)]
enum Reply {
    None,
    Exactly(usize),
    UntilQuiet(usize),
}

/// Commands sent in order under one lock and one time bound; the reply is the last one's.
struct Commands(Vec<(String, Reply)>);

impl fmt::Display for Commands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let commands: Vec<&str> = self.0.iter().map(|(c, _)| c.as_str()).collect();
        f.write_str(&commands.join("; "))
    }
}

/// The unit's protocol: unterminated commands, each paced, its reply framed by its known length.
struct KoradProtocol;

#[async_trait]
impl Protocol for KoradProtocol {
    type Connection = Port;
    type Request = Commands;
    type Reply = Vec<u8>;

    async fn dial(&self, _: &Endpoint, port: Port, _: &mut Pacer) -> Result<Port, SupplyError> {
        Ok(port)
    }

    /// Each command paced: stale input dropped, the command written, its reply read.
    async fn exchange(
        &self,
        at: &Endpoint,
        port: &mut Port,
        pacer: &mut Pacer,
        commands: &Commands,
    ) -> Result<Vec<u8>, SupplyError> {
        let mut reply = Vec::new();
        for (command, framing) in &commands.0 {
            let failed = |e| at.dropped(command, e);
            pacer.wait().await;
            port.discard_pending().await.map_err(failed)?;
            port.write_all(command.as_bytes()).await.map_err(failed)?;
            reply = match *framing {
                Reply::None => Vec::new(),
                Reply::Exactly(n) => {
                    let mut reply = vec![0; n];
                    port.read_exact(&mut reply).await.map_err(failed)?;
                    reply
                }
                Reply::UntilQuiet(max) => read_until_quiet(port, max).await.map_err(failed)?,
            };
            pacer.mark();
        }
        Ok(reply)
    }
}

impl KoradSupply {
    /// A KA3005P at `address` (`serial:///dev/…`, 9600 baud unless `?baud=` says otherwise; or `tcp://` through
    /// a byte bridge) named `name` in errors. Nothing is sent until the first call, which opens the port.
    pub fn new(
        name: &str,
        address: &str,
        channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
    ) -> Result<Self, SupplyError> {
        Ok(KoradSupply {
            link: Link::new(
                Endpoint::parse(name, address, SERIAL_BAUD)?,
                KoradProtocol,
                PACING,
            ),
            channels: Channels::new(name, FAMILY, 1, channels)?,
        })
    }

    async fn call(&self, commands: Vec<(String, Reply)>) -> Result<Vec<u8>, SupplyError> {
        self.link.call(&Commands(commands)).await
    }

    fn at(&self) -> &Endpoint {
        self.link.endpoint()
    }

    /// A five-character number query (`VOUT1?`), parsed.
    async fn number(&self, command: String) -> Result<f64, SupplyError> {
        let reply = self
            .call(vec![(command.clone(), Reply::Exactly(NUMBER_LEN))])
            .await?;
        let reply = String::from_utf8_lossy(&reply);
        parse_reply(&reply).ok_or_else(|| {
            self.at()
                .bad_reply(command, format!("{}, not a number", shown(&reply)))
        })
    }

    /// Sends a setting, then reads it back: the unit acknowledges nothing, and ignores what it cannot take.
    async fn set_and_verify(
        &self,
        set: String,
        read_back: String,
        sent: f64,
        step: f64,
    ) -> Result<(), SupplyError> {
        let reply = self
            .call(vec![
                (set.clone(), Reply::None),
                (read_back.clone(), Reply::Exactly(NUMBER_LEN)),
            ])
            .await?;
        let reply = String::from_utf8_lossy(&reply);
        let instrument = self.at().instrument.clone();
        match parse_reply(&reply) {
            Some(value) if (value - sent).abs() < step / 2.0 => Ok(()),
            Some(_) => Err(SupplyError::NotTaken {
                instrument,
                command: set,
                evidence: format!("`{read_back}` reads {}", shown(&reply)),
            }),
            None => Err(SupplyError::BadReply {
                instrument,
                command: read_back,
                after: Some(set),
                answer: format!("{}, not a number", shown(&reply)),
            }),
        }
    }
}

/// Reads a reply of unknown length: whatever arrives until the line is quiet, at most `max` bytes.
async fn read_until_quiet(port: &mut Port, max: usize) -> std::io::Result<Vec<u8>> {
    let mut reply = Vec::new();
    let mut buf = [0u8; 64];
    // The first byte may take the whole call's time; after it, a quiet line ends the reply.
    let n = port.read(&mut buf).await?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    reply.extend_from_slice(&buf[..n]);
    while reply.len() < max {
        match tokio::time::timeout(QUIET, port.read(&mut buf)).await {
            Err(_) | Ok(Ok(0)) => break,
            Ok(Ok(n)) => reply.extend_from_slice(&buf[..n]),
            Ok(Err(e)) => return Err(e),
        }
    }
    reply.truncate(max);
    Ok(reply)
}

/// A Korad number (`12.60`, `0.500`): digits and one point, nothing else.
fn parse_reply(reply: &str) -> Option<f64> {
    let digits_and_point = reply.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && reply.bytes().filter(|&b| b == b'.').count() == 1;
    if !digits_and_point {
        return None;
    }
    reply.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[async_trait]
impl PowerSupply for KoradSupply {
    fn name(&self) -> &str {
        &self.at().instrument
    }

    async fn identify(&self) -> Result<String, SupplyError> {
        let reply = self
            .call(vec![("*IDN?".into(), Reply::UntilQuiet(MAX_IDENTITY))])
            .await?;
        let reply = String::from_utf8_lossy(&reply);
        let identity = reply.trim();
        if identity.is_empty() || !identity.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            return Err(self.at().bad_reply("*IDN?", shown(&reply)));
        }
        Ok(identity.to_string())
    }

    async fn set_volts(&self, channel: u8, volts: f64) -> Result<(), SupplyError> {
        let sent = self
            .channels
            .on_grid(channel, Setting::Volts, volts, VOLTS_STEP)?;
        self.set_and_verify(
            format!("VSET{channel}:{sent:05.2}"),
            format!("VSET{channel}?"),
            sent,
            VOLTS_STEP,
        )
        .await
    }

    async fn set_current_limit(&self, channel: u8, amps: f64) -> Result<(), SupplyError> {
        let sent = self
            .channels
            .on_grid(channel, Setting::CurrentLimit, amps, AMPS_STEP)?;
        self.set_and_verify(
            format!("ISET{channel}:{sent:.3}"),
            format!("ISET{channel}?"),
            sent,
            AMPS_STEP,
        )
        .await
    }

    async fn set_output(&self, channel: u8, on: bool) -> Result<(), SupplyError> {
        self.channels.limits(channel)?;
        let set = format!("OUT{}", u8::from(on));
        let status = self
            .call(vec![
                (set.clone(), Reply::None),
                ("STATUS?".into(), Reply::Exactly(1)),
            ])
            .await?;
        let status = status.first().copied().unwrap_or_default();
        let is_on = status & STATUS_OUTPUT_ON != 0;
        if is_on != on {
            return Err(SupplyError::NotTaken {
                instrument: self.at().instrument.clone(),
                command: set,
                evidence: format!(
                    "`STATUS?` reads {status:#04x}, output {}",
                    if is_on { "on" } else { "off" }
                ),
            });
        }
        Ok(())
    }

    async fn measure_volts(&self, channel: u8) -> Result<f64, SupplyError> {
        self.channels.limits(channel)?;
        self.number(format!("VOUT{channel}?")).await
    }

    async fn measure_amps(&self, channel: u8) -> Result<f64, SupplyError> {
        self.channels.limits(channel)?;
        self.number(format!("IOUT{channel}?")).await
    }

    fn over_current(&self) -> Option<&dyn OverCurrentProtection> {
        Some(self)
    }
}

#[async_trait]
impl OverCurrentProtection for KoradSupply {
    async fn set_trip(&self, channel: u8, trip_amps: Option<f64>) -> Result<OcpTrip, SupplyError> {
        self.channels.check_trip(channel, trip_amps)?;
        // `OCP1`/`OCP0` take no level (the unit trips at its current setting) and cannot be read back: not every
        // firmware shows the protection in `STATUS?`. A `STATUS?` answer after it at least shows the unit there,
        // past the command.
        let armed = trip_amps.is_some();
        self.call(vec![
            (format!("OCP{}", u8::from(armed)), Reply::None),
            ("STATUS?".into(), Reply::Exactly(1)),
        ])
        .await?;
        Ok(if armed {
            OcpTrip::AtCurrentLimit
        } else {
            OcpTrip::Off
        })
    }

    async fn tripped(&self, channel: u8) -> Result<Option<bool>, SupplyError> {
        self.channels.limits(channel)?;
        // `STATUS?` has no trip bit: a trip shows only as the output going off, as it would for any other reason.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supply::channels::on_grid;

    #[test]
    fn replies_are_plain_decimals_or_refused() {
        assert_eq!(parse_reply("12.60"), Some(12.6));
        assert_eq!(parse_reply("0.500"), Some(0.5));
        for garbage in [
            "", "12,60", "-1.00", "1.2.3", "12600", "1e3.0", " 1.00", "nan",
        ] {
            assert_eq!(parse_reply(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn settings_snap_to_the_unit_s_grid() {
        assert_eq!(format!("{:05.2}", on_grid(12.6, VOLTS_STEP)), "12.60");
        assert_eq!(format!("{:05.2}", on_grid(5.0, VOLTS_STEP)), "05.00");
        assert_eq!(format!("{:05.2}", on_grid(3.3049, VOLTS_STEP)), "03.30");
        assert_eq!(format!("{:.3}", on_grid(0.5, AMPS_STEP)), "0.500");
    }
}
