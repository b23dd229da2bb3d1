//! The rig file format (README.md, "Rig files") as written by a user: the bench's instruments, boards, broker and
//! secrets by reference. Unknown keys are errors.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RigFileRaw {
    #[serde(default)]
    pub supply: BTreeMap<String, Spanned<SupplyRaw>>,
    #[serde(default)]
    pub board: Vec<Spanned<BoardRaw>>,
    pub boards: Option<BoardsRaw>,
    pub broker: Option<Spanned<BrokerRaw>>,
    pub tap: Option<TapRaw>,
    pub wifi: Option<Spanned<WifiRaw>>,
    pub micropython: Option<MicropythonRaw>,
    /// How the bench's firmware sends its readings, for scenarios that do not say.
    pub payload: Option<Spanned<model::payload::PayloadSection>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplyRaw {
    pub driver: Spanned<String>,
    pub model: Spanned<String>,
    pub address: Spanned<String>,
    pub channels: Spanned<BTreeMap<String, ChannelRaw>>,
    /// Volts the outputs go to when a run ends instead of off (e.g. to keep a board's RTC alive).
    pub safe_volts: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelRaw {
    pub max_volts: f64,
    pub max_amps: f64,
    /// Where the channel's over-current protection trips, within `max_amps` (default: `max_amps`).
    pub ocp_amps: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardRaw {
    pub name: Spanned<String>,
    /// A chip of the chip registry; none: the registry's first.
    pub chip: Option<Spanned<String>>,
    pub mac: Spanned<String>,
    /// Where to look first; the board is found by MAC wherever it enumerated.
    pub port: Spanned<String>,
    /// The serial number of the board's USB-serial adapter, as its /dev/serial/by-id name ends.
    pub usb_serial: Option<Spanned<String>>,
    pub supply: Spanned<String>,
    /// Reset lines over a side channel (`tcp://HOST:PORT`) where the port has no DTR/RTS (a twin's pty).
    pub lines: Option<Spanned<String>>,
    pub adc: Option<AdcRaw>,
}

/// What holds for every board: where to look for a board that is not on its port hint, and how to flash it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardsRaw {
    /// Absolute glob patterns of candidate serial ports.
    pub scan: Option<Vec<Spanned<String>>>,
    /// The link's speed while the flasher stub writes (the ROM and the console stay at 115200).
    pub flash_baud: Option<Spanned<u32>>,
    /// esptool's flasher stub JSON for the chip, where the installed esptool's is not to be used.
    pub stub: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdcRaw {
    pub divider: f64,
    #[serde(default = "one")]
    pub full_scale_volts: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerRaw {
    pub url: Spanned<String>,
    pub username: String,
    /// PEM CA for an mqtts broker, relative to the rig file; default: the system's CAs.
    pub ca_file: Option<Spanned<String>>,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TapRaw {
    pub listen: Spanned<String>,
    /// The address boards are configured to connect to (the tap as the boards' network sees it).
    pub advertise: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WifiRaw {
    pub ssid: String,
    pub password_env: Option<String>,
    pub password_file: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MicropythonRaw {
    pub image: Spanned<String>,
}
