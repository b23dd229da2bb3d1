//! Rig files: the bench a run uses (supplies, boards, broker, secrets by reference), parsed and validated with
//! errors that name file:line:column.

mod board_section;
mod lock;
mod raw;

pub use lock::BenchLock;

use model::diagnostic::Diagnostic;
use raw::RigFileRaw;
use rig::board::{Chip, ChipRegistry};
use rig::mqtt::TlsTrust;
use rig::secret::Secret;
use rig::supply::{Address, ChannelLimits, Driver, DriverError};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct RigFile {
    pub path: PathBuf,
    pub supplies: BTreeMap<String, SupplyEntry>,
    pub boards: Vec<BoardEntry>,
    /// Glob patterns of the ports a board is looked for on when it is not on its hint (`[boards] scan`).
    pub scan: Vec<String>,
    pub broker: Option<BrokerEntry>,
    pub tap_listen: Option<String>,
    pub tap_advertise: Option<String>,
    pub wifi: Option<WifiEntry>,
    pub image: Option<PathBuf>,
    /// `[payload]`: the format of scenarios that declare none.
    pub payload: Option<model::payload::PayloadFormat>,
}

#[derive(Debug, Clone)]
pub struct SupplyEntry {
    pub name: String,
    pub model: String,
    /// The driver and model, as `rig::supply::open` takes them.
    pub driver: Driver,
    pub address: String,
    pub channels: BTreeMap<u8, ChannelLimits>,
    /// The channels whose over-current protection trips below their `max_amps` (`ocp_amps`).
    pub ocp_amps: BTreeMap<u8, f64>,
    pub safe_volts: Option<f64>,
}

impl SupplyEntry {
    /// Where the channel's over-current protection is armed: its `ocp_amps`, else its `max_amps`.
    pub fn trip_amps(&self, channel: u8) -> Option<f64> {
        let limits = self.channels.get(&channel)?;
        Some(
            self.ocp_amps
                .get(&channel)
                .copied()
                .unwrap_or(limits.max_amps),
        )
    }
}

#[derive(Debug, Clone)]
pub struct BoardEntry {
    pub name: String,
    /// The board's chip, from the chip registry the rig file was read with: what opens the board on its port.
    pub chip: Arc<dyn Chip>,
    pub mac: String,
    pub port: String,
    /// The serial number of the board's USB-serial adapter: the board is taken only on that adapter.
    pub usb_serial: Option<String>,
    pub supply: String,
    pub channel: u8,
    /// Reset-lines side channel, for ports without modem lines.
    pub lines: Option<String>,
    pub adc: Option<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub struct BrokerEntry {
    pub host: String,
    pub port: u16,
    /// Some for `mqtts://`: the system's CAs, or only those in `ca_file`.
    pub tls: Option<TlsTrust>,
    pub username: String,
    pub password: SecretRef,
}

#[derive(Debug, Clone)]
pub struct WifiEntry {
    pub ssid: String,
    pub password: SecretRef,
}

/// Where a secret lives: never in the rig file itself.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
}

impl SecretRef {
    /// Reads the secret; the error names the variable or file, never a value.
    pub fn resolve(&self) -> Result<Secret, String> {
        match self {
            SecretRef::Env(var) => std::env::var(var)
                .map(Secret::new)
                .map_err(|_| format!("the environment variable {var} is not set (the rig file takes the password from it)")),
            SecretRef::File(path) => std::fs::read_to_string(path)
                .map(|s| Secret::new(s.trim_end_matches(['\r', '\n'])))
                .map_err(|e| format!("cannot read the password file {}: {e}", path.display())),
        }
    }
}

impl RigFile {
    pub fn load(path: &Path) -> Result<RigFile, Diagnostic> {
        let source = model::diagnostic::read_user_file(path, "rig file")?;
        RigFile::parse(path, &source)
    }

    pub fn parse(path: &Path, source: &str) -> Result<RigFile, Diagnostic> {
        RigFile::parse_with(path, source, &ChipRegistry::default())
    }

    /// Parses a rig file whose boards' chips are those of `chips`.
    pub fn parse_with(
        path: &Path,
        source: &str,
        chips: &ChipRegistry,
    ) -> Result<RigFile, Diagnostic> {
        let raw: RigFileRaw =
            model::diagnostic::parse_toml(path, source, "see the rig file format in README.md")?;
        Validator {
            path,
            source,
            chips,
        }
        .validate(raw)
    }

    /// The limits of the channel a board hangs on.
    pub fn limits_of(&self, board: &BoardEntry) -> Option<ChannelLimits> {
        self.supplies
            .get(&board.supply)?
            .channels
            .get(&board.channel)
            .copied()
    }
}

struct Validator<'a> {
    path: &'a Path,
    source: &'a str,
    chips: &'a ChipRegistry,
}

impl Validator<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.path, self.source, Some(span), message)
    }

    fn relative(&self, file: &str) -> PathBuf {
        let p = Path::new(file);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.path.parent().unwrap_or(Path::new(".")).join(p)
        }
    }

    fn secret(
        &self,
        span: Range<usize>,
        what: &str,
        env: &Option<String>,
        file: &Option<String>,
    ) -> Result<SecretRef, Diagnostic> {
        match (env, file) {
            (Some(var), None) if !var.is_empty() => Ok(SecretRef::Env(var.clone())),
            (None, Some(f)) => Ok(SecretRef::File(self.relative(f))),
            _ => Err(self
                .error(
                    span,
                    format!("the {what} needs exactly one of password_env or password_file"),
                )
                .with_help(
                    "secrets never go in the rig file: password_env = \"HIL_MQTT_PASSWORD\"",
                )),
        }
    }

    fn validate(&self, raw: RigFileRaw) -> Result<RigFile, Diagnostic> {
        let mut supplies = BTreeMap::new();
        for (name, entry) in &raw.supply {
            let span = entry.span();
            let s = entry.get_ref();
            let driver =
                Driver::new(s.driver.get_ref(), s.model.get_ref()).map_err(|e| match e {
                    DriverError::UnknownDriver(_) => self.error(s.driver.span(), e.to_string()),
                    DriverError::UnknownModel { .. } => self.error(s.model.span(), e.to_string()),
                })?;
            let address = s.address.get_ref();
            Address::parse(address, driver.serial_baud()).map_err(|e| {
                self.error(s.address.span(), e).with_help(
                    "address = \"tcp://192.0.2.50:5025\" or \"serial:///dev/ttyUSB0?baud=9600\"",
                )
            })?;
            let mut channels = BTreeMap::new();
            let mut ocp_amps = BTreeMap::new();
            for (key, limits) in s.channels.get_ref() {
                let channel = key
                    .parse::<u8>()
                    .ok()
                    .filter(|c| (1..=driver.max_channel()).contains(c))
                    .ok_or_else(|| {
                        self.error(
                            s.channels.span(),
                            format!(
                                "channel {key:?}: a {} has channels 1..={}",
                                driver.family(),
                                driver.max_channel()
                            ),
                        )
                    })?;
                let positive = |x: f64| x.is_finite() && x > 0.0;
                if !positive(limits.max_volts) || !positive(limits.max_amps) {
                    return Err(self.error(
                        s.channels.span(),
                        format!("channel {channel}: max_volts and max_amps must be more than 0"),
                    ));
                }
                if let Some(trip) = &limits.ocp_amps {
                    let amps = *trip.get_ref();
                    if !(positive(amps) && amps <= limits.max_amps) {
                        return Err(self
                            .error(
                                trip.span(),
                                format!(
                                    "channel {channel}: ocp_amps {amps} must be more than 0 and at most its max_amps {}",
                                    limits.max_amps
                                ),
                            )
                            .with_help("the over-current protection trips within the channel's limit: ocp_amps = 0.8"));
                    }
                    ocp_amps.insert(channel, amps);
                }
                channels.insert(
                    channel,
                    ChannelLimits {
                        max_volts: limits.max_volts,
                        max_amps: limits.max_amps,
                    },
                );
            }
            if channels.is_empty() {
                return Err(self
                    .error(span, format!("supply {name} lists no channels"))
                    .with_help("channels = { 1 = { max_volts = 15.0, max_amps = 1.0 } }"));
            }
            if let Some(safe) = &s.safe_volts {
                let v = *safe.get_ref();
                if !(0.0..=channels
                    .values()
                    .map(|c| c.max_volts)
                    .fold(f64::MAX, f64::min))
                    .contains(&v)
                {
                    return Err(self.error(
                        safe.span(),
                        "safe_volts must be within every channel's max_volts",
                    ));
                }
            }
            supplies.insert(
                name.clone(),
                SupplyEntry {
                    name: name.clone(),
                    model: s.model.get_ref().clone(),
                    driver,
                    address: address.clone(),
                    channels,
                    ocp_amps,
                    safe_volts: s.safe_volts.as_ref().map(|v| *v.get_ref()),
                },
            );
        }
        let (boards, scan) = self.board_section(&raw, &supplies)?;
        let broker = match &raw.broker {
            Some(entry) => {
                let b = entry.get_ref();
                let url = b.url.get_ref();
                let (tls, rest) = match (url.strip_prefix("mqtt://"), url.strip_prefix("mqtts://"))
                {
                    (Some(r), _) => (false, r),
                    (_, Some(r)) => (true, r),
                    _ => {
                        return Err(self.error(
                            b.url.span(),
                            "url must be mqtt://HOST:PORT or mqtts://HOST:PORT",
                        ))
                    }
                };
                if rest.contains('@') {
                    return Err(self.error(b.url.span(), "put the user in `username` and the password in password_env or password_file, not in the url"));
                }
                let (host, port) = rest
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                    .filter(|(h, _)| !h.is_empty())
                    .ok_or_else(|| self.error(b.url.span(), "url must be mqtt://HOST:PORT"))?;
                let tls = match (tls, &b.ca_file) {
                    (false, None) => None,
                    (true, None) => Some(TlsTrust::System),
                    (true, Some(ca)) => Some(TlsTrust::CaFile(self.relative(ca.get_ref()))),
                    (false, Some(ca)) => {
                        return Err(
                            self.error(ca.span(), "ca_file applies to an mqtts:// broker only")
                        )
                    }
                };
                Some(BrokerEntry {
                    host,
                    port,
                    tls,
                    username: b.username.clone(),
                    password: self.secret(
                        entry.span(),
                        "broker",
                        &b.password_env,
                        &b.password_file,
                    )?,
                })
            }
            None => None,
        };
        let wifi = match &raw.wifi {
            Some(entry) => {
                let w = entry.get_ref();
                Some(WifiEntry {
                    ssid: w.ssid.clone(),
                    password: self.secret(
                        entry.span(),
                        "wifi",
                        &w.password_env,
                        &w.password_file,
                    )?,
                })
            }
            None => None,
        };
        Ok(RigFile {
            payload: model::payload::declared(self.path, self.source, raw.payload.as_ref())?,
            path: self.path.to_path_buf(),
            supplies,
            boards,
            scan,
            broker,
            tap_listen: raw.tap.as_ref().map(|t| t.listen.get_ref().clone()),
            tap_advertise: raw
                .tap
                .as_ref()
                .and_then(|t| t.advertise.as_ref().map(|a| a.get_ref().clone())),
            wifi,
            image: raw
                .micropython
                .as_ref()
                .map(|m| self.relative(m.image.get_ref())),
        })
    }
}

#[cfg(test)]
mod tests;
