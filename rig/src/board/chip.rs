//! What a chip is to the rig: how its MACs are checked, how a board with it is opened on a port, and the image a
//! twin board of it is flashed with. Each chip implements [`Chip`] in its folder; the registry lists them.

use super::locate::PortFinder;
use super::mac::MacError;
use super::reset_lines::ResetLines;
use super::{Mac, WireBoard};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use thiserror::Error;

pub trait Chip: fmt::Debug + Send + Sync {
    /// What a rig file's `chip =` calls it.
    fn name(&self) -> &str;

    /// A board's `mac` as a rig file writes it, checked as this chip's MACs are; Err: why it is not one.
    fn parse_mac(&self, text: &str) -> Result<Mac, ChipMacError> {
        Ok(text.parse()?)
    }

    /// A board with this chip on a serial port.
    fn open(&self, wiring: Wiring) -> Box<dyn WireBoard>;

    /// A valid firmware image of about `bytes` bytes, for twin boards when the rig names no image.
    fn stand_in_image(&self, bytes: usize) -> Vec<u8>;
}

/// Why a rig file's `mac` is not one of a chip's.
#[derive(Debug, PartialEq, Eq, Error)]
pub enum ChipMacError {
    #[error(transparent)]
    NotAMac(#[from] MacError),
    /// A MAC this chip cannot have; `reason` follows the MAC in the message (`is not Espressif's: …`).
    #[error("{mac} {reason}")]
    Refused { mac: Mac, reason: String },
}

/// How a board is wired to the host.
pub struct Wiring {
    pub name: String,
    /// Where the board is (when it has a MAC to be found by: where it is looked for first).
    pub port: PathBuf,
    /// Reset lines over a side channel, where the port has none (a twin's pty); None: the port's own DTR/RTS.
    pub lines: Option<Arc<dyn ResetLines>>,
    /// How the board is found wherever its port went; None: the port is taken as given.
    pub locating: Option<Locating>,
    pub flash: FlashSettings,
}

/// How boards are flashed, as the rig file's `flash_baud` and `stub` say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashSettings {
    /// The link's speed while flashing, where the chip's loader can switch (the ESP8266's stub can).
    pub baud: u32,
    /// The flasher stub's file; None: the installed esptool's.
    pub stub: Option<PathBuf>,
}

/// esptool's default flashing speed.
pub const DEFAULT_FLASH_BAUD: u32 = 460_800;

impl Default for FlashSettings {
    fn default() -> Self {
        FlashSettings {
            baud: DEFAULT_FLASH_BAUD,
            stub: None,
        }
    }
}

/// What a board is found by, and where it is looked for.
pub struct Locating {
    pub mac: Mac,
    /// The serial number of the board's USB-serial adapter, when the rig names it: the board is taken only there.
    pub usb_serial: Option<String>,
    /// Shared by the boards of a run, so that a scan never probes a port another board was found on.
    pub finder: Arc<PortFinder>,
}
