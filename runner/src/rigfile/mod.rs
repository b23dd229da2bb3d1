//! Rig files: the bench a run uses (supplies, boards, broker, secrets by reference), parsed and validated with
//! errors that name file:line:column.

mod board_section;
mod lock;
mod raw;
mod supply_section;

pub use lock::{BenchLock, LockError};

use model::diagnostic::{Diagnostic, UserTomlFile};
use raw::RigFileRaw;
use rig::board::{Chip, ChipRegistry, FlashSettings};
use rig::mqtt::TlsTrust;
use rig::secret::Secret;
use rig::supply::{ChannelLimits, SupplyKind};
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
    /// The driver and model, resolved by the supply registry: what opens the instrument.
    pub kind: SupplyKind,
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
    /// `[boards] flash_baud` and `stub`.
    pub flash: FlashSettings,
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

impl UserTomlFile for RigFile {
    type Raw = RigFileRaw;
    const KIND: &'static str = "rig file";
    const FORMAT_HELP: &'static str = "see the rig file format in README.md";

    fn validate(path: &Path, source: &str, raw: RigFileRaw) -> Result<RigFile, Diagnostic> {
        Validator {
            path,
            source,
            chips: &ChipRegistry::default(),
        }
        .validate(raw)
    }
}

impl RigFile {
    /// Parses a rig file whose boards' chips are those of `chips`.
    pub fn parse_with(
        path: &Path,
        source: &str,
        chips: &ChipRegistry,
    ) -> Result<RigFile, Diagnostic> {
        let raw = RigFile::parse_raw(path, source)?;
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
        let supplies = self.supplies(&raw.supply)?;
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
