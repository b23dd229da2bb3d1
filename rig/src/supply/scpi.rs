//! SCPI supplies over raw TCP (`tcp://host:port`) or a serial port (`serial:///dev/…?baud=N`), lines ending in
//! `\n`: the driver for the lab's supplies and for the twin's SCPI server alike.

use super::address::Address;
use super::channels::{shown, Channels};
use super::dialect::{self, Dialect, IDENTIFY, NEXT_ERROR};
use super::port::Port;
use super::{ChannelLimits, OverCurrentProtection, PowerSupply};
use anyhow::{anyhow, bail, Context, Result};
use async_trait::async_trait;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Longer replies are garbage: no supply says that much to one query.
const MAX_REPLY: usize = 4096;
/// How many entries of the error queue are read after a refusal or on connecting (SCPI queues hold ≥ 2).
const MAX_QUEUED_ERRORS: usize = 16;
/// RS-232 SCPI supplies leave the factory at 9600 baud (DP800, SPD3303X, HMC804x).
pub const SERIAL_BAUD: u32 = 9600;

pub struct ScpiSupply {
    name: String,
    address: Address,
    dialect: Dialect,
    channels: Channels,
    /// One exchange at a time: a reply belongs to the query before it.
    link: Mutex<Link>,
}

#[derive(Default)]
struct Link {
    stream: Option<BufReader<Port>>,
    /// Still set when a call starts if the last exchange was cut short (timed out, cancelled or answered
    /// garbage): a late reply may be on its way, so that connection is not used again.
    mid_exchange: bool,
    last_sent: Option<Instant>,
}

/// Why an exchange failed.
enum Failure {
    /// The connection broke: worth one reconnection.
    Dropped(anyhow::Error),
    /// The instrument refused or answered wrongly.
    Instrument(anyhow::Error),
}

impl Failure {
    fn into_error(self) -> anyhow::Error {
        match self {
            Failure::Dropped(e) | Failure::Instrument(e) => e,
        }
    }
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
    ) -> Result<Self> {
        let address = Address::parse(address, SERIAL_BAUD).map_err(|e| anyhow!("{name}: {e}"))?;
        let channels = Channels::new(
            name,
            &format!("{dialect:?}"),
            dialect.max_channel(),
            channels,
        )?;
        Ok(ScpiSupply {
            name: name.to_string(),
            address,
            dialect,
            channels,
            link: Mutex::new(Link::default()),
        })
    }

    /// Sends a set command's lines, then reads the error queue so a refusal is an error naming the command.
    async fn set(&self, lines: Vec<String>) -> Result<()> {
        self.call(&lines, true).await.map(drop)
    }

    /// Sends a query's lines and parses the reply as a number.
    async fn measure(&self, lines: Vec<String>) -> Result<f64> {
        let reply = self.call(&lines, false).await?;
        dialect::parse_number(&reply).ok_or_else(|| {
            anyhow!(
                "{}: `{}` answered {}, not a number",
                self.name,
                lines.join("; "),
                shown(&reply)
            )
        })
    }

    /// One bounded call: lock the link, connect if needed, exchange; reconnect once if a used connection dropped.
    /// Returns the last query's reply (empty when there was none).
    async fn call(&self, lines: &[String], check_errors: bool) -> Result<String> {
        let command = lines.join("; ");
        let attempt = async {
            let mut link = self.link.lock().await;
            if std::mem::take(&mut link.mid_exchange) {
                link.stream = None;
            }
            let reused = link.stream.is_some();
            if !reused {
                self.connect(&mut link).await.map_err(Failure::into_error)?;
            }
            match self.exchange(&mut link, lines, check_errors).await {
                Err(Failure::Dropped(e)) if reused => {
                    tracing::warn!("{e:#}; reconnecting once");
                    link.stream = None;
                    self.connect(&mut link)
                        .await
                        .map_err(Failure::into_error)
                        .with_context(|| {
                            format!("{}: reconnecting after `{command}` failed", self.name)
                        })?;
                    self.exchange(&mut link, lines, check_errors)
                        .await
                        .map_err(Failure::into_error)
                }
                other => other.map_err(Failure::into_error),
            }
        };
        super::bounded(&self.name, &self.address, &command, attempt).await
    }

    /// Opens the connection and empties the error queue, so errors from before are not blamed on our commands.
    async fn connect(&self, link: &mut Link) -> Result<(), Failure> {
        let port = Port::open(&self.address).await.map_err(|e| {
            Failure::Dropped(anyhow!(
                "{}: connecting to {}: {e}",
                self.name,
                self.address
            ))
        })?;
        link.stream = Some(BufReader::new(port));
        link.mid_exchange = true;
        let stale = self.drain_errors(link, NEXT_ERROR).await?;
        link.mid_exchange = false;
        if let Some(first) = stale.first() {
            tracing::warn!(
                "{}: the error queue held {} error(s) from before we connected, first {first}",
                self.name,
                stale.len()
            );
        }
        Ok(())
    }

    /// Sends `lines`, reading the reply of each query; then, for set commands, the error queue.
    async fn exchange(
        &self,
        link: &mut Link,
        lines: &[String],
        check_errors: bool,
    ) -> Result<String, Failure> {
        link.mid_exchange = true;
        let mut reply = String::new();
        for line in lines {
            reply = self.send(link, line).await?;
        }
        if check_errors {
            let command = lines.join("; ");
            let errors = self.drain_errors(link, &command).await?;
            link.mid_exchange = false;
            if let Some(first) = errors.first() {
                return Err(Failure::Instrument(anyhow!(
                    "{}: `{command}` was refused: {first}{}",
                    self.name,
                    match errors.len() {
                        1 => String::new(),
                        n => format!(" (and {} more)", n - 1),
                    }
                )));
            }
        }
        link.mid_exchange = false;
        Ok(reply)
    }

    /// Reads the error queue until `0` (bounded); returns the errors as the instrument wrote them.
    async fn drain_errors(&self, link: &mut Link, after: &str) -> Result<Vec<String>, Failure> {
        let mut errors = Vec::new();
        for _ in 0..MAX_QUEUED_ERRORS {
            let reply = self.send(link, NEXT_ERROR).await?;
            match dialect::parse_error(&reply) {
                Some((0, _)) => break,
                Some(_) => errors.push(reply),
                None => {
                    return Err(Failure::Instrument(anyhow!(
                        "{}: `{NEXT_ERROR}` after `{after}` answered {}, not an error code",
                        self.name,
                        shown(&reply)
                    )))
                }
            }
        }
        Ok(errors)
    }

    /// Writes one line, paced for the dialect; reads its reply if it is a query.
    async fn send(&self, link: &mut Link, line: &str) -> Result<String, Failure> {
        if let Some(last) = link.last_sent {
            tokio::time::sleep_until(last + self.dialect.pacing()).await;
        }
        let dropped = |e: std::io::Error| {
            Failure::Dropped(anyhow!(
                "{}: connection to {} lost at `{line}`: {e}",
                self.name,
                self.address
            ))
        };
        let Some(stream) = link.stream.as_mut() else {
            return Err(dropped(std::io::ErrorKind::NotConnected.into()));
        };
        stream
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(dropped)?;
        link.last_sent = Some(Instant::now());
        if !dialect::is_query(line) {
            return Ok(String::new());
        }
        let mut raw = Vec::new();
        let limit = MAX_REPLY as u64 + 1;
        stream
            .take(limit)
            .read_until(b'\n', &mut raw)
            .await
            .map_err(dropped)?;
        if raw.last() != Some(&b'\n') {
            if raw.len() > MAX_REPLY {
                return Err(Failure::Instrument(anyhow!(
                    "{}: `{line}` answered more than {MAX_REPLY} bytes without a line end",
                    self.name
                )));
            }
            return Err(dropped(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let text = String::from_utf8(raw).map_err(|e| {
            Failure::Instrument(anyhow!(
                "{}: `{line}` answered bytes that are not text: {}",
                self.name,
                shown(&String::from_utf8_lossy(e.as_bytes()))
            ))
        })?;
        Ok(text.trim_end_matches(['\n', '\r']).to_string())
    }
}

#[async_trait]
impl PowerSupply for ScpiSupply {
    fn name(&self) -> &str {
        &self.name
    }

    async fn identify(&self) -> Result<String> {
        let reply = self.call(&[IDENTIFY.to_string()], false).await?;
        if reply.trim().is_empty() {
            bail!("{}: `{IDENTIFY}` answered an empty line", self.name);
        }
        Ok(reply.trim().to_string())
    }

    async fn set_volts(&self, channel: u8, volts: f64) -> Result<()> {
        self.channels.check_volts(channel, volts)?;
        self.set(self.dialect.set_volts(channel, volts)).await
    }

    async fn set_current_limit(&self, channel: u8, amps: f64) -> Result<()> {
        self.channels.check_amps(channel, amps)?;
        self.set(self.dialect.set_current_limit(channel, amps))
            .await
    }

    async fn set_output(&self, channel: u8, on: bool) -> Result<()> {
        self.channels.limits(channel)?;
        self.set(self.dialect.set_output(channel, on)).await
    }

    async fn measure_volts(&self, channel: u8) -> Result<f64> {
        self.channels.limits(channel)?;
        self.measure(self.dialect.measure_volts(channel)).await
    }

    async fn measure_amps(&self, channel: u8) -> Result<f64> {
        self.channels.limits(channel)?;
        self.measure(self.dialect.measure_amps(channel)).await
    }

    async fn set_over_current_protection(
        &self,
        channel: u8,
        trip_amps: Option<f64>,
    ) -> Result<OverCurrentProtection> {
        self.channels.check_trip(channel, trip_amps)?;
        let Some(lines) = self.dialect.over_current_protection(channel, trip_amps) else {
            return Ok(OverCurrentProtection::Unsupported);
        };
        self.set(lines).await?;
        Ok(match trip_amps {
            None => OverCurrentProtection::Off,
            Some(amps) if self.dialect.trips_at_level() => OverCurrentProtection::TripsAt(amps),
            Some(_) => OverCurrentProtection::TripsAtCurrentLimit,
        })
    }

    async fn over_current_tripped(&self, channel: u8) -> Result<Option<bool>> {
        self.channels.limits(channel)?;
        let Some(lines) = self.dialect.over_current_tripped(channel) else {
            return Ok(None);
        };
        let reply = self.call(&lines, false).await?;
        dialect::parse_flag(&reply).map(Some).ok_or_else(|| {
            anyhow!(
                "{}: `{}` answered {}, not yes or no",
                self.name,
                lines.join("; "),
                shown(&reply)
            )
        })
    }
}
