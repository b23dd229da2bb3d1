//! Korad/Tenma KA3005P over its serial protocol (REFERENCE "Bench supplies"): commands without a terminator
//! (`VSET1:12.60`, `OUT1`, `VOUT1?`) and replies without one either, so a reply is framed by its known length or,
//! for `*IDN?`, by the line going quiet. The unit has no error queue: every set is read back. It drops commands
//! that follow each other within about 80 ms, so they are paced.

use super::address::Address;
use super::channels::{shown, Channels};
use super::port::Port;
use super::{ChannelLimits, OverCurrentProtection, PowerSupply};
use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Mutex;
use tokio::time::Instant;

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

pub struct KoradSupply {
    name: String,
    address: Address,
    channels: Channels,
    /// One exchange at a time: a reply belongs to the command before it.
    link: Mutex<Link>,
}

#[derive(Default)]
struct Link {
    port: Option<Port>,
    /// Set while an exchange is under way; still set at the next call if one was cut short (timed out or
    /// cancelled), so the port is reopened rather than trusted to hold no late reply.
    mid_exchange: bool,
    last: Option<Instant>,
}

/// How a command's reply is framed.
#[derive(Debug, Clone, Copy)]
enum Reply {
    None,
    Exactly(usize),
    UntilQuiet(usize),
}

impl KoradSupply {
    /// A KA3005P at `address` (`serial:///dev/…`, 9600 baud unless `?baud=` says otherwise; or `tcp://` through
    /// a byte bridge) named `name` in errors. Nothing is sent until the first call, which opens the port.
    pub fn new(
        name: &str,
        address: &str,
        channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
    ) -> Result<Self> {
        let address = Address::parse(address, SERIAL_BAUD).map_err(|e| anyhow!("{name}: {e}"))?;
        Ok(KoradSupply {
            name: name.to_string(),
            address,
            channels: Channels::new(name, "KA3005P", 1, channels)?,
            link: Mutex::new(Link::default()),
        })
    }

    /// Runs `commands` in order under one lock and one time bound; returns the last one's reply.
    async fn call(&self, commands: &[(String, Reply)]) -> Result<Vec<u8>> {
        let joined: Vec<&str> = commands.iter().map(|(c, _)| c.as_str()).collect();
        let joined = joined.join("; ");
        let attempt = async {
            let mut link = self.link.lock().await;
            if std::mem::take(&mut link.mid_exchange) {
                link.port = None;
            }
            let mut reply = Vec::new();
            for (command, framing) in commands {
                link.mid_exchange = true;
                reply = self
                    .exchange(&mut link, command, *framing)
                    .await
                    .inspect_err(|_| link.port = None)?;
                link.mid_exchange = false;
            }
            Ok(reply)
        };
        super::bounded(&self.name, &self.address, &joined, attempt).await
    }

    /// One paced command: opens the port if needed, drops stale input, writes the command, reads its reply.
    async fn exchange(&self, link: &mut Link, command: &str, framing: Reply) -> Result<Vec<u8>> {
        let failed =
            |e: std::io::Error| anyhow!("{}: `{command}` on {}: {e}", self.name, self.address);
        if let Some(last) = link.last {
            tokio::time::sleep_until(last + PACING).await;
        }
        let port = match &mut link.port {
            Some(port) => port,
            None => link.port.insert(
                Port::open(&self.address)
                    .await
                    .with_context(|| format!("{}: opening {}", self.name, self.address))?,
            ),
        };
        port.discard_pending().await.map_err(failed)?;
        port.write_all(command.as_bytes()).await.map_err(failed)?;
        let reply = match framing {
            Reply::None => Vec::new(),
            Reply::Exactly(n) => {
                let mut reply = vec![0; n];
                port.read_exact(&mut reply).await.map_err(failed)?;
                reply
            }
            Reply::UntilQuiet(max) => read_until_quiet(port, max).await.map_err(failed)?,
        };
        link.last = Some(Instant::now());
        Ok(reply)
    }

    /// A five-character number query (`VOUT1?`), parsed.
    async fn number(&self, command: String) -> Result<f64> {
        let reply = self
            .call(&[(command.clone(), Reply::Exactly(NUMBER_LEN))])
            .await?;
        let reply = String::from_utf8_lossy(&reply);
        parse_reply(&reply).ok_or_else(|| {
            anyhow!(
                "{}: `{command}` answered {}, not a number",
                self.name,
                shown(&reply)
            )
        })
    }

    /// Sends a setting, then reads it back: the unit acknowledges nothing, and ignores what it cannot take.
    async fn set_and_verify(
        &self,
        set: String,
        read_back: String,
        sent: f64,
        step: f64,
    ) -> Result<()> {
        let reply = self
            .call(&[
                (set.clone(), Reply::None),
                (read_back.clone(), Reply::Exactly(NUMBER_LEN)),
            ])
            .await?;
        let reply = String::from_utf8_lossy(&reply);
        match parse_reply(&reply) {
            Some(value) if (value - sent).abs() < step / 2.0 => Ok(()),
            Some(_) => bail!(
                "{}: `{set}` was not taken: `{read_back}` reads {}",
                self.name,
                shown(&reply)
            ),
            None => bail!(
                "{}: `{read_back}` after `{set}` answered {}, not a number",
                self.name,
                shown(&reply)
            ),
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
        &self.name
    }

    async fn identify(&self) -> Result<String> {
        let reply = self
            .call(&[("*IDN?".into(), Reply::UntilQuiet(MAX_IDENTITY))])
            .await?;
        let reply = String::from_utf8_lossy(&reply);
        let identity = reply.trim();
        if identity.is_empty() || !identity.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
            bail!("{}: `*IDN?` answered {}", self.name, shown(&reply));
        }
        Ok(identity.to_string())
    }

    async fn set_volts(&self, channel: u8, volts: f64) -> Result<()> {
        let sent = self.channels.volts_on_grid(channel, volts, VOLTS_STEP)?;
        self.set_and_verify(
            format!("VSET{channel}:{sent:05.2}"),
            format!("VSET{channel}?"),
            sent,
            VOLTS_STEP,
        )
        .await
    }

    async fn set_current_limit(&self, channel: u8, amps: f64) -> Result<()> {
        let sent = self.channels.amps_on_grid(channel, amps, AMPS_STEP)?;
        self.set_and_verify(
            format!("ISET{channel}:{sent:.3}"),
            format!("ISET{channel}?"),
            sent,
            AMPS_STEP,
        )
        .await
    }

    async fn set_output(&self, channel: u8, on: bool) -> Result<()> {
        self.channels.limits(channel)?;
        let set = format!("OUT{}", u8::from(on));
        let status = self
            .call(&[
                (set.clone(), Reply::None),
                ("STATUS?".into(), Reply::Exactly(1)),
            ])
            .await?;
        let status = status.first().copied().unwrap_or_default();
        let is_on = status & STATUS_OUTPUT_ON != 0;
        if is_on != on {
            bail!(
                "{}: `{set}` was not taken: `STATUS?` reads {status:#04x}, output {}",
                self.name,
                if is_on { "on" } else { "off" }
            );
        }
        Ok(())
    }

    async fn measure_volts(&self, channel: u8) -> Result<f64> {
        self.channels.limits(channel)?;
        self.number(format!("VOUT{channel}?")).await
    }

    async fn measure_amps(&self, channel: u8) -> Result<f64> {
        self.channels.limits(channel)?;
        self.number(format!("IOUT{channel}?")).await
    }

    async fn set_over_current_protection(
        &self,
        channel: u8,
        trip_amps: Option<f64>,
    ) -> Result<OverCurrentProtection> {
        self.channels.check_trip(channel, trip_amps)?;
        // `OCP1`/`OCP0` take no level (the unit trips at its current setting) and cannot be read back: not every
        // firmware shows the protection in `STATUS?`. A `STATUS?` answer after it at least shows the unit there,
        // past the command.
        let armed = trip_amps.is_some();
        self.call(&[
            (format!("OCP{}", u8::from(armed)), Reply::None),
            ("STATUS?".into(), Reply::Exactly(1)),
        ])
        .await?;
        Ok(if armed {
            OverCurrentProtection::TripsAtCurrentLimit
        } else {
            OverCurrentProtection::Off
        })
    }

    async fn over_current_tripped(&self, channel: u8) -> Result<Option<bool>> {
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
