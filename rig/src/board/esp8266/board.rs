//! An ESP8266 running MicroPython, reached through a serial port: a real board on a USB-serial adapter (reset
//! and GPIO0 through DTR/RTS) or a twin pty board (the same through its side channel). Identify and flash go
//! through the ROM loader, deploy through the raw REPL, and the console is the port itself. A board known by
//! its MAC is looked for again whenever its port goes away, between steps and while its console is read
//! (`locator.rs`).

use super::flasher::{self, Flasher};
use super::probe::RomLoaderProbe;
use super::rom_banner::{self, RomBoot};
use super::stub_cache;
use super::BAUD;
use crate::board::chip::{FlashSettings, Wiring};
use crate::board::console;
use crate::board::error::{BoardError, FlashError, LocateError};
use crate::board::flash_records::FlashRecords;
use crate::board::locate::Found;
use crate::board::locator::{CurrentPort, Locator};
use crate::board::raw_repl::RawRepl;
use crate::board::reset_lines::{reset_into_loader, reset_to_run, ResetLines};
use crate::board::serial::Tty;
use crate::board::{
    AppFile, Console, ConsoleLine, Deploy, DeployReport, Flash, FlashOutcome, FoundBy, Identify,
    Locate, Mac, Named, PortNotice, Progress, Run,
};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How often a board whose port went away mid-run is looked for.
const RELOCATE_PAUSE: Duration = Duration::from_secs(1);

pub struct Esp8266Board {
    name: String,
    port: CurrentPort,
    /// None: the port's own DTR/RTS.
    side_lines: Option<Arc<dyn ResetLines>>,
    /// Finds the board by its MAC wherever its port went; None: the port is taken as given.
    locator: Option<Locator>,
    console_tx: Option<mpsc::Sender<ConsoleLine>>,
    console_rx: Option<mpsc::Receiver<ConsoleLine>>,
    notices_rx: Option<mpsc::UnboundedReceiver<PortNotice>>,
    reader: Option<JoinHandle<()>>,
    /// What the ROM said at the last reset this board saw.
    last_boot: Option<RomBoot>,
    flash_settings: FlashSettings,
}

/// Whether opening a port failed because its device is gone (unplugged, or a pty whose master closed).
fn port_gone(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
        || matches!(
            e.raw_os_error(),
            Some(libc::ENXIO) | Some(libc::ENODEV) | Some(libc::EIO)
        )
}

/// Opens `port` for board `board` at MicroPython's speed.
async fn open_port(board: &str, port: &Path) -> Result<Tty, BoardError> {
    Tty::open(port, BAUD)
        .await
        .map_err(|error| port_error(board, port, "opening", error))
}

fn port_error(board: &str, port: &Path, step: &'static str, error: std::io::Error) -> BoardError {
    BoardError::Port {
        board: board.to_string(),
        port: port.to_path_buf(),
        step,
        error,
    }
}

/// The reset lines of a board on `port`: its side channel's, else the port's own DTR/RTS.
fn lines_for(
    board: &str,
    side_lines: Option<&Arc<dyn ResetLines>>,
    port: &Tty,
    path: &Path,
) -> Result<Arc<dyn ResetLines>, BoardError> {
    match side_lines {
        Some(l) => Ok(l.clone()),
        None => port
            .modem_lines()
            .map(|m| Arc::new(m) as Arc<dyn ResetLines>)
            .map_err(|error| port_error(board, path, "taking DTR/RTS of", error)),
    }
}

impl Esp8266Board {
    pub fn new(wiring: Wiring) -> Self {
        let (tx, rx) = mpsc::channel(1024);
        let (notices_tx, notices_rx) = mpsc::unbounded_channel();
        let port = CurrentPort::new(&wiring.port);
        let locator = wiring.locating.map(|locating| {
            Locator::new(
                &wiring.name,
                port.clone(),
                wiring.lines.clone(),
                locating,
                Arc::new(RomLoaderProbe),
                notices_tx,
            )
        });
        Esp8266Board {
            name: wiring.name,
            notices_rx: locator.is_some().then_some(notices_rx),
            port,
            side_lines: wiring.lines,
            locator,
            console_tx: Some(tx),
            console_rx: Some(rx),
            reader: None,
            last_boot: None,
            flash_settings: wiring.flash,
        }
    }

    pub fn last_boot(&self) -> Option<RomBoot> {
        self.last_boot
    }

    /// The port the board is on (as last found).
    pub fn port(&self) -> PathBuf {
        self.port.get()
    }

    /// Opens the board's port; a port that has gone away is looked for again first (every step that opens it
    /// resets the chip anyway).
    async fn open(&mut self) -> Result<(Tty, PathBuf), BoardError> {
        let port = self.port();
        match (Tty::open(&port, BAUD).await, &self.locator) {
            (Err(e), Some(locator)) if port_gone(&e) => {
                locator.notify_lost();
                let (found, _) = locator.relocate().await?;
                let tty = open_port(&self.name, &found.port).await?;
                Ok((tty, found.port))
            }
            (Ok(tty), _) => Ok((tty, port)),
            (Err(error), _) => Err(port_error(&self.name, &port, "opening", error)),
        }
    }

    /// Opens the board's port and its reset lines.
    async fn open_with_lines(&mut self) -> Result<(Tty, Arc<dyn ResetLines>), BoardError> {
        let (tty, path) = self.open().await?;
        let lines = lines_for(&self.name, self.side_lines.as_ref(), &tty, &path)?;
        Ok((tty, lines))
    }

    /// The console reader holds the port: a command that needs it stops the reader first.
    async fn stop_reader(&mut self) {
        if let Some(r) = self.reader.take() {
            r.abort();
            // Wait for the task to drop its port (and the port's lock).
            let _ = r.await;
        }
    }

    async fn reset_and_read_banner(
        &mut self,
        port: &mut Tty,
        lines: &dyn ResetLines,
    ) -> Result<(), BoardError> {
        reset_to_run(lines).await?;
        self.last_boot = rom_banner::read_rom_banner(port, BAUD, Duration::from_millis(500))
            .await
            .map_err(|error| {
                port_error(&self.name, &self.port(), "reading the ROM banner on", error)
            })?;
        Ok(())
    }
}

impl Named for Esp8266Board {
    fn name(&self) -> &str {
        &self.name
    }
}

#[async_trait]
impl Identify for Esp8266Board {
    async fn identify(&mut self) -> Result<Mac, BoardError> {
        self.stop_reader().await;
        let (port, lines) = self.open_with_lines().await?;
        reset_into_loader(lines.as_ref()).await?;
        let mut f = Flasher::connect(port, &self.name).await?;
        f.check_chip().await?;
        let mac = f.read_mac().await?;
        let mut port = f.into_port();
        self.reset_and_read_banner(&mut port, lines.as_ref())
            .await?;
        Ok(mac)
    }
}

#[async_trait]
impl Locate for Esp8266Board {
    fn mac(&self) -> Option<Mac> {
        self.locator.as_ref().map(Locator::mac)
    }

    /// Finds the board by its MAC (hint first, then a scan) and moves to that port, recording its adapter's USB
    /// identity; the chip is left in its loader.
    async fn locate(&mut self) -> Result<Found, BoardError> {
        self.stop_reader().await;
        let locator = self.locator.as_ref().ok_or_else(|| LocateError::NoMac {
            board: self.name.clone(),
        })?;
        Ok(locator.locate().await?)
    }
}

impl Esp8266Board {
    /// Resets the chip into its loader and flashes through `link`; returns the port and lines for the reset after.
    async fn flash_through(
        &mut self,
        link: &flasher::FlashLink,
        image: &[u8],
        records: Option<&FlashRecords>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<(Tty, Arc<dyn ResetLines>, FlashOutcome), BoardError> {
        let (port, lines) = self.open_with_lines().await?;
        reset_into_loader(lines.as_ref()).await?;
        let expect_mac = self.locator.as_ref().map(Locator::mac);
        let (f, _, outcome) =
            flasher::flash_image_onto(port, &self.name, expect_mac, link, image, records, progress)
                .await?;
        Ok((f.into_port(), lines, outcome))
    }
}

#[async_trait]
impl Flash for Esp8266Board {
    /// Flashes a MicroPython image unless the board already holds it, then resets it into the app; a board known
    /// by its MAC is flashed only where that MAC answers.
    async fn flash(
        &mut self,
        image: &[u8],
        records: Option<&FlashRecords>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<FlashOutcome, BoardError> {
        self.stop_reader().await;
        let link = stub_cache::flash_link(&self.flash_settings).await;
        let (mut port, lines, outcome) =
            match self.flash_through(&link, image, records, progress).await {
                Err(BoardError::Flash(e @ FlashError::StubSilent { .. })) => {
                    // A stub that does not start leaves the chip lost: reset it and go through the ROM.
                    tracing::warn!("{e}");
                    stub_cache::give_up(&self.flash_settings).await;
                    let rom = flasher::FlashLink::rom();
                    self.flash_through(&rom, image, records, progress).await?
                }
                other => other?,
            };
        self.reset_and_read_banner(&mut port, lines.as_ref())
            .await?;
        Ok(outcome)
    }
}

#[async_trait]
impl Deploy for Esp8266Board {
    /// Deploys through the raw REPL (Ctrl-C right after a reset catches the app's maintenance window) and
    /// leaves the board at its REPL; `start` resets it into the app.
    async fn deploy(&mut self, files: &[AppFile]) -> Result<DeployReport, BoardError> {
        self.deploy_with_progress(files, &mut |_| {}).await
    }

    async fn deploy_with_progress(
        &mut self,
        files: &[AppFile],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<DeployReport, BoardError> {
        self.stop_reader().await;
        let (mut port, lines) = self.open_with_lines().await?;
        self.reset_and_read_banner(&mut port, lines.as_ref())
            .await?;
        let mut repl = RawRepl::enter(port, &self.name).await?;
        Ok(repl.deploy_with_progress(files, progress).await?)
    }
}

#[async_trait]
impl Run for Esp8266Board {
    async fn start(&mut self) -> Result<(), BoardError> {
        self.stop_reader().await;
        let tx = self.console_tx.clone().ok_or_else(|| BoardError::Stopped {
            board: self.name.clone(),
        })?;
        let (port, lines) = self.open_with_lines().await?;
        reset_to_run(lines.as_ref()).await?;
        // The banner stays in the console (its rst cause is what the boot-reason check reads).
        self.reader = Some(tokio::spawn(follow_console(
            port,
            self.name.clone(),
            tx,
            self.locator.clone().map(|locator| Relocation {
                locator,
                side_lines: self.side_lines.clone(),
            }),
        )));
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), BoardError> {
        self.stop_reader().await;
        self.console_tx = None;
        Ok(())
    }
}

impl Console for Esp8266Board {
    fn take_console(&mut self) -> Option<mpsc::Receiver<ConsoleLine>> {
        self.console_rx.take()
    }

    fn take_port_notices(&mut self) -> Option<mpsc::UnboundedReceiver<PortNotice>> {
        self.notices_rx.take()
    }
}

/// What the console reader needs to follow a board to a new port and set its app running there.
struct Relocation {
    locator: Locator,
    side_lines: Option<Arc<dyn ResetLines>>,
}

/// Forwards the console's lines; when the port goes away (and the board has a MAC to be found by) it looks for
/// the board until it is found again and goes on reading there, the chip undisturbed when found by USB identity
/// and reset into its app when found by MAC. Ends when the console's receiver does, or when the board is stopped
/// (the task is aborted).
async fn follow_console(
    mut port: Tty,
    name: String,
    tx: mpsc::Sender<ConsoleLine>,
    relocation: Option<Relocation>,
) {
    loop {
        console::forward_lines(port, name.clone(), tx.clone()).await;
        let Some(relocation) = relocation.as_ref().filter(|_| !tx.is_closed()) else {
            return;
        };
        relocation.locator.notify_lost();
        port = loop {
            tokio::time::sleep(RELOCATE_PAUSE).await;
            match reopen_running(&name, relocation).await {
                Ok(p) => break p,
                Err(e) => tracing::debug!("{e}"),
            }
        };
    }
}

/// Finds a board that went away and opens the port it was found on for reading, its app running there.
async fn reopen_running(name: &str, relocation: &Relocation) -> Result<Tty, BoardError> {
    let (found, by) = relocation.locator.relocate().await?;
    let port = open_port(name, &found.port).await?;
    if by == FoundBy::Usb {
        return Ok(port);
    }
    // Reading the MAC left the chip in its ROM loader.
    let lines = lines_for(name, relocation.side_lines.as_ref(), &port, &found.port)?;
    reset_to_run(lines.as_ref()).await?;
    Ok(port)
}
