//! Boards under test, by what they can do (`capability.rs`), hardware or twin. Each chip is a folder (`esp8266/`)
//! and a line in the chip registry (`registry.rs`); what chips share is here: the serial port and its reset lines,
//! finding a board by MAC or USB identity, the console, MicroPython's raw REPL, flash records.

mod capability;
pub mod chip;
pub mod console;
pub mod error;
pub mod esp8266;
pub mod flash_records;
pub mod locate;
pub mod locator;
mod mac;
pub mod raw_repl;
pub mod registry;
pub mod remote_lines;
pub mod reset_lines;
pub mod serial;
pub mod usb_id;

pub use capability::{
    Board, Console, Deploy, DeployReport, Flash, FlashOutcome, Identify, Locate, Named, Progress,
    Run, WireBoard,
};
pub use chip::{Chip, ChipMacError, FlashSettings, Locating, Wiring, DEFAULT_FLASH_BAUD};
pub use error::{BoardError, FlashError};
pub use mac::{Mac, MacError};
pub use registry::{ChipRegistry, UnknownChip};

/// A file to put on a board's filesystem (app module or per-board `config.json`).
#[derive(Debug, Clone)]
pub struct AppFile {
    pub path: String,
    pub contents: Vec<u8>,
}

/// One line of a board's serial console.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleLine {
    pub board: String,
    pub line: String,
}

/// How a board is found on a port: by its chip's MAC, read through the ROM loader (which resets the chip), or by
/// its adapter's USB identity, which leaves the chip alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundBy {
    Mac,
    Usb,
}

impl FoundBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FoundBy::Mac => "mac",
            FoundBy::Usb => "usb",
        }
    }
}

/// A board's port went away or was found again while the rig held the board.
#[derive(Debug, Clone, PartialEq)]
pub enum PortNotice {
    Lost {
        board: String,
        port: std::path::PathBuf,
        /// How it is looked for: by USB identity when one is known.
        by: FoundBy,
    },
    Found {
        board: String,
        mac: String,
        port: std::path::PathBuf,
        /// False when the board was on the port it was looked for first.
        scanned: bool,
        by: FoundBy,
        /// The port's USB identity (its by-id name), when known.
        usb: Option<String>,
    },
}
