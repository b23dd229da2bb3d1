//! What a board can do, one trait per capability, so each board implements what it has: every board is known by
//! name, identifies its chip, takes the app's files, runs and shows its console ([`Board`]); a board on a serial
//! port is also found by its MAC wherever its port went, and flashed ([`WireBoard`]). The runner drives boards
//! through these, never through a chip's own type.

use super::error::BoardError;
use super::flash_records::FlashRecords;
use super::locate::Found;
use super::{AppFile, ConsoleLine, Mac, PortNotice};
use async_trait::async_trait;
use tokio::sync::mpsc;

/// The board's name in the rig file (or the twin bench's), which its events and errors carry.
pub trait Named: Send {
    fn name(&self) -> &str;
}

#[async_trait]
pub trait Identify: Named {
    /// The chip's MAC: boards are known by it, not by their port.
    async fn identify(&mut self) -> Result<Mac, BoardError>;
}

/// What a deploy did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeployReport {
    pub written: Vec<String>,
    pub unchanged: Vec<String>,
    pub bytes_sent: usize,
}

#[async_trait]
pub trait Deploy: Named {
    /// Puts the app files and its config on the board's filesystem.
    async fn deploy(&mut self, files: &[AppFile]) -> Result<DeployReport, BoardError>;

    /// [`Deploy::deploy`], calling `progress` as the files' bytes are dealt with (written, or found there
    /// already); boards that deploy in an instant need not say.
    async fn deploy_with_progress(
        &mut self,
        files: &[AppFile],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<DeployReport, BoardError> {
        let _ = progress;
        self.deploy(files).await
    }
}

#[async_trait]
pub trait Run: Named {
    /// Lets the board run its app from now on (on the process twin: from the next power-on).
    async fn start(&mut self) -> Result<(), BoardError>;
    /// Stops the app and releases the board; its console channel closes.
    async fn stop(&mut self) -> Result<(), BoardError>;
}

pub trait Console {
    /// The console, line by line; taken once.
    fn take_console(&mut self) -> Option<mpsc::Receiver<ConsoleLine>>;
    /// What became of the board's port, for boards on a port that can go away; taken once.
    fn take_port_notices(&mut self) -> Option<mpsc::UnboundedReceiver<PortNotice>> {
        None
    }
}

/// How far a write has got, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub written: usize,
    pub total: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FlashOutcome {
    /// Skipped: the board already holds the image; says how that was known.
    Unchanged(&'static str),
    Written {
        bytes: usize,
        seconds: f64,
    },
}

#[async_trait]
pub trait Flash: Named {
    /// Flashes a firmware image unless the board already holds it (by the chip's own hash of its flash where it
    /// has one, else by `records`), then resets it into the app.
    async fn flash(
        &mut self,
        image: &[u8],
        records: Option<&FlashRecords>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<FlashOutcome, BoardError>;
}

#[async_trait]
pub trait Locate: Named {
    /// The MAC the board is looked for by, when it has one (without, its port is taken as given).
    fn mac(&self) -> Option<Mac>;
    /// Finds the board by its MAC and moves to the port it answered on.
    async fn locate(&mut self) -> Result<Found, BoardError>;
}

/// Any board the timeline drives, hardware or twin.
pub trait Board: Identify + Deploy + Run + Console {}

impl<T: Identify + Deploy + Run + Console> Board for T {}

/// A board on a serial port, provisioned over it: found by MAC, flashed, then deployed to.
pub trait WireBoard: Board + Flash + Locate {}

impl<T: Board + Flash + Locate> WireBoard for T {}
