//! Boards under test: the trait the runner drives, hardware or twin.

pub mod console;
pub mod esp8266;
pub mod flasher;
pub mod image;
pub mod locate;
pub mod raw_repl;
pub mod remote_lines;
pub mod reset_lines;
pub mod rom_loader;
pub mod serial;
pub mod slip;
pub mod usb_id;

use async_trait::async_trait;
use tokio::sync::mpsc;

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

#[async_trait]
pub trait Board: Send {
    fn name(&self) -> &str;
    /// The chip's MAC: boards are known by it, not by their port.
    async fn identify(&mut self) -> anyhow::Result<String>;
    /// Puts the app files and its config on the board's filesystem.
    async fn deploy(&mut self, files: &[AppFile]) -> anyhow::Result<()>;
    /// Lets the board run its app from now on (on the twin: from the next power-on).
    async fn start(&mut self) -> anyhow::Result<()>;
    /// Stops the app and releases the board; its console channel closes.
    async fn stop(&mut self) -> anyhow::Result<()>;
    /// The console, line by line; taken once.
    fn take_console(&mut self) -> Option<mpsc::Receiver<ConsoleLine>>;
    /// What became of the board's port, for boards on a port that can go away; taken once.
    fn take_port_notices(&mut self) -> Option<mpsc::UnboundedReceiver<PortNotice>> {
        None
    }
}
