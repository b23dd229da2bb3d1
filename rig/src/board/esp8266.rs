//! An ESP8266 running MicroPython, reached through a serial port: a real board on a USB-serial adapter (reset
//! and GPIO0 through DTR/RTS) or a twin pty board (the same through its side channel). Identify and flash go
//! through the ROM loader, deploy through the raw REPL, and the console is the port itself. A board known by
//! its MAC is looked for again whenever its port goes away, between steps and while its console is read: by the
//! USB identity of the adapter it was found on, which leaves the chip running, else by MAC, which resets it.

use super::console::{self, RomBoot};
use super::flasher::{self, FlashOutcome, FlashRecords, Flasher, Progress};
use super::locate::{Found, PortFinder};
use super::raw_repl::{DeployReport, RawRepl};
use super::reset_lines::{reset_into_loader, reset_to_run, ResetLines};
use super::rom_loader::format_mac;
use super::serial::Tty;
use super::usb_id::UsbId;
use super::{AppFile, Board, ConsoleLine, FoundBy, PortNotice};
use anyhow::{Context, Result};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// MicroPython's and the ROM loader's speed.
pub const BAUD: u32 = 115_200;

/// How often a board whose port went away mid-run is looked for.
const RELOCATE_PAUSE: Duration = Duration::from_secs(1);

pub struct Esp8266Board {
    name: String,
    /// Where the board is now: moves when the board is found elsewhere (also by the console reader).
    port: Arc<Mutex<PathBuf>>,
    /// None: the port's own DTR/RTS.
    side_lines: Option<Arc<dyn ResetLines>>,
    /// The MAC (and USB identity) it is known by and where to look for it; None: the port is taken as given.
    identity: Option<Identity>,
    console_tx: Option<mpsc::Sender<ConsoleLine>>,
    console_rx: Option<mpsc::Receiver<ConsoleLine>>,
    notices_tx: mpsc::UnboundedSender<PortNotice>,
    notices_rx: Option<mpsc::UnboundedReceiver<PortNotice>>,
    reader: Option<JoinHandle<()>>,
    /// What the ROM said at the last reset this board saw.
    last_boot: Option<RomBoot>,
}

#[derive(Clone)]
struct Identity {
    mac: [u8; 6],
    /// The port the board was first said to be on: looked at first, whatever port the board was found on since
    /// (a port that went away may come back as another device's; a hint is what the rig's owner vouched for).
    hint: PathBuf,
    finder: Arc<PortFinder>,
    /// The serial number of the board's USB-serial adapter, when the rig names it: the board is taken only there.
    usb_serial: Option<String>,
    /// The USB identity of the adapter the board was last found on by MAC (shared with the console reader).
    usb: Arc<Mutex<Option<UsbId>>>,
}

/// Everything that finds a board again, cloned into the console reader.
#[derive(Clone)]
struct Locator {
    name: String,
    port: Arc<Mutex<PathBuf>>,
    side_lines: Option<Arc<dyn ResetLines>>,
    identity: Identity,
    notices: mpsc::UnboundedSender<PortNotice>,
}

impl Locator {
    fn port(&self) -> PathBuf {
        self.port.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_port(&self, port: &Path) {
        *self.port.lock().unwrap_or_else(|e| e.into_inner()) = port.to_path_buf();
    }

    fn known_usb(&self) -> Option<UsbId> {
        self.identity
            .usb
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Looks for the board by MAC, first on the port with its `usb_serial` if there is one, else on its hint; the
    /// chip is left in its loader. Records the USB identity of the port it answered on.
    async fn locate(&self) -> Result<Found> {
        let finder = &self.identity.finder;
        finder.release(&self.port());
        let hint = (self.identity.usb_serial.as_deref())
            .and_then(|serial| finder.with_usb_serial(serial))
            .unwrap_or_else(|| self.identity.hint.clone());
        let mut found = finder
            .find(
                &self.name,
                self.identity.mac,
                &hint,
                self.side_lines.as_ref(),
            )
            .await?;
        let usb = finder.usb_id(&found.port, &self.identity.hint);
        if let Some(want) = &self.identity.usb_serial {
            if !matches!(&usb, Ok(id) if id.serial_number() == want) {
                finder.release(&found.port);
                let shows = match &usb {
                    Ok(id) => format!("whose adapter is {id}"),
                    Err(why) => why.clone(),
                };
                anyhow::bail!(
                    "{}: MAC {} answered on {}, {shows}; the rig file names its adapter usb_serial = {want:?} \
                     (correct usb_serial, or put the board back on that adapter)",
                    self.name,
                    format_mac(self.identity.mac),
                    found.port.display()
                );
            }
        }
        // Said again, as a warning, if the port does go away.
        if let Err(why) = &usb {
            tracing::info!(
                "{}: {why}: if its port goes away mid-run, the board is found again by MAC, which resets it",
                self.name
            );
        }
        found.usb = usb.ok();
        *self.identity.usb.lock().unwrap_or_else(|e| e.into_inner()) = found.usb.clone();
        self.set_port(&found.port);
        Ok(found)
    }

    /// How the board will be looked for now.
    fn looked_for_by(&self) -> FoundBy {
        if self.known_usb().is_some() {
            FoundBy::Usb
        } else {
            FoundBy::Mac
        }
    }

    fn notify_lost(&self) {
        let by = self.looked_for_by();
        if by == FoundBy::Mac {
            tracing::warn!(
                "{}: its port {} went away and no USB identity is known for it: it is looked for by MAC, which \
                 resets the chip",
                self.name,
                self.port().display()
            );
        }
        let _ = self.notices.send(PortNotice::Lost {
            board: self.name.clone(),
            port: self.port(),
            by,
        });
    }

    /// Looks for the board again after its port went away and says where it was found: by its adapter's USB
    /// identity when one is known (the chip is not touched), else by MAC (the chip is left in its loader).
    async fn relocate(&self) -> Result<(Found, FoundBy)> {
        let finder = &self.identity.finder;
        let by_usb = match self.known_usb() {
            Some(id) => {
                finder.release(&self.port());
                match finder.find_by_usb(&id) {
                    Ok(Some(found)) => Some(found),
                    Ok(None) => anyhow::bail!("{}: no port shows {id} yet", self.name),
                    Err(why) => {
                        tracing::warn!(
                            "{}: {why}: looking for the board by MAC, which resets it",
                            self.name
                        );
                        None
                    }
                }
            }
            None => None,
        };
        let (found, by) = match by_usb {
            Some(found) => {
                self.set_port(&found.port);
                (found, FoundBy::Usb)
            }
            None => (self.locate().await?, FoundBy::Mac),
        };
        let _ = self.notices.send(PortNotice::Found {
            board: self.name.clone(),
            mac: format_mac(self.identity.mac),
            port: found.port.clone(),
            scanned: found.scanned,
            by,
            usb: found.usb.as_ref().map(UsbId::to_string),
        });
        Ok((found, by))
    }
}

/// Whether opening a port failed because its device is gone (unplugged, or a pty whose master closed).
fn port_gone(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
        || matches!(
            e.raw_os_error(),
            Some(libc::ENXIO) | Some(libc::ENODEV) | Some(libc::EIO)
        )
}

impl Esp8266Board {
    pub fn new(name: &str, port: &Path, side_lines: Option<Arc<dyn ResetLines>>) -> Self {
        let (tx, rx) = mpsc::channel(1024);
        let (notices_tx, notices_rx) = mpsc::unbounded_channel();
        Esp8266Board {
            name: name.to_string(),
            port: Arc::new(Mutex::new(port.to_path_buf())),
            side_lines,
            identity: None,
            console_tx: Some(tx),
            console_rx: Some(rx),
            notices_tx,
            notices_rx: Some(notices_rx),
            reader: None,
            last_boot: None,
        }
    }

    /// Knows the board by `mac` (and, when given, by its adapter's USB serial number): `port` becomes a hint, and
    /// `finder` looks for the board wherever it went.
    pub fn found_by_mac(
        mut self,
        mac: [u8; 6],
        usb_serial: Option<String>,
        finder: Arc<PortFinder>,
    ) -> Self {
        self.identity = Some(Identity {
            mac,
            hint: self.port(),
            finder,
            usb_serial,
            usb: Arc::default(),
        });
        self
    }

    /// The MAC the board is known by, when it is.
    pub fn mac(&self) -> Option<String> {
        self.identity.as_ref().map(|i| format_mac(i.mac))
    }

    pub fn last_boot(&self) -> Option<RomBoot> {
        self.last_boot
    }

    /// The port the board is on (as last found).
    pub fn port(&self) -> PathBuf {
        self.port.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn locator(&self) -> Option<Locator> {
        Some(Locator {
            name: self.name.clone(),
            port: self.port.clone(),
            side_lines: self.side_lines.clone(),
            identity: self.identity.clone()?,
            notices: self.notices_tx.clone(),
        })
    }

    /// Finds the board by its MAC (hint first, then a scan) and moves to that port, recording its adapter's USB
    /// identity; the chip is left in its loader. Only for a board made with [`Esp8266Board::found_by_mac`].
    pub async fn locate(&mut self) -> Result<Found> {
        self.stop_reader().await;
        let locator = self
            .locator()
            .with_context(|| format!("{}: no MAC to find the board by", self.name))?;
        locator.locate().await
    }

    /// Opens the board's port; a port that has gone away is looked for again first (every step that opens it
    /// resets the chip anyway).
    async fn open(&mut self) -> Result<Tty> {
        let port = self.port();
        match (Tty::open(&port, BAUD).await, self.locator()) {
            (Err(e), Some(locator)) if port_gone(&e) => {
                locator.notify_lost();
                let (found, _) = locator.relocate().await?;
                Tty::open(&found.port, BAUD)
                    .await
                    .with_context(|| format!("{}: opening {}", self.name, found.port.display()))
            }
            (opened, _) => {
                opened.with_context(|| format!("{}: opening {}", self.name, port.display()))
            }
        }
    }

    fn lines_for(&self, port: &Tty) -> Result<Arc<dyn ResetLines>> {
        match &self.side_lines {
            Some(l) => Ok(l.clone()),
            None => Ok(Arc::new(port.modem_lines()?)),
        }
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
    ) -> Result<()> {
        reset_to_run(lines).await?;
        self.last_boot = console::read_rom_banner(port, BAUD, Duration::from_millis(500)).await?;
        Ok(())
    }

    /// Flashes a MicroPython image unless the board already holds it, then resets it into the app.
    pub async fn flash(
        &mut self,
        firmware: &[u8],
        records: Option<&FlashRecords>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<FlashOutcome> {
        self.stop_reader().await;
        let port = self.open().await?;
        let lines = self.lines_for(&port)?;
        reset_into_loader(lines.as_ref()).await?;
        let expect_mac = self.identity.as_ref().map(|i| i.mac);
        let (f, _, outcome) =
            flasher::flash_image_onto(port, &self.name, expect_mac, firmware, records, progress)
                .await?;
        let mut port = f.into_port();
        self.reset_and_read_banner(&mut port, lines.as_ref())
            .await?;
        Ok(outcome)
    }

    /// Deploys through the raw REPL (Ctrl-C right after a reset catches the app's maintenance window) and
    /// leaves the board at its REPL; `start` resets it into the app.
    pub async fn deploy_files(&mut self, files: &[AppFile]) -> Result<DeployReport> {
        self.stop_reader().await;
        let mut port = self.open().await?;
        let lines = self.lines_for(&port)?;
        self.reset_and_read_banner(&mut port, lines.as_ref())
            .await?;
        let mut repl = RawRepl::enter(port, &self.name).await?;
        repl.deploy(files).await
    }
}

#[async_trait]
impl Board for Esp8266Board {
    fn name(&self) -> &str {
        &self.name
    }

    async fn identify(&mut self) -> Result<String> {
        self.stop_reader().await;
        let port = self.open().await?;
        let lines = self.lines_for(&port)?;
        reset_into_loader(lines.as_ref()).await?;
        let mut f = Flasher::connect(port, &self.name).await?;
        f.check_chip().await?;
        let mac = f.read_mac().await?;
        let mut port = f.into_port();
        self.reset_and_read_banner(&mut port, lines.as_ref())
            .await?;
        Ok(format_mac(mac))
    }

    async fn deploy(&mut self, files: &[AppFile]) -> Result<()> {
        self.deploy_files(files).await.map(|_| ())
    }

    async fn start(&mut self) -> Result<()> {
        self.stop_reader().await;
        let tx = self
            .console_tx
            .clone()
            .with_context(|| format!("{}: the board was stopped", self.name))?;
        let port = self.open().await?;
        let lines = self.lines_for(&port)?;
        reset_to_run(lines.as_ref()).await?;
        // The banner stays in the console (its rst cause is what the boot-reason check reads).
        self.reader = Some(tokio::spawn(follow_console(
            port,
            self.name.clone(),
            tx,
            self.locator(),
        )));
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        self.stop_reader().await;
        self.console_tx = None;
        Ok(())
    }

    fn take_console(&mut self) -> Option<mpsc::Receiver<ConsoleLine>> {
        self.console_rx.take()
    }

    fn take_port_notices(&mut self) -> Option<mpsc::UnboundedReceiver<PortNotice>> {
        self.notices_rx.take()
    }
}

/// Forwards the console's lines; when the port goes away (and the board has a MAC to be found by) it looks for
/// the board until it is found again and goes on reading there, the chip undisturbed when found by USB identity
/// and reset into its app when found by MAC. Ends when the console's receiver does, or when the board is stopped
/// (the task is aborted).
async fn follow_console(
    mut port: Tty,
    name: String,
    tx: mpsc::Sender<ConsoleLine>,
    locator: Option<Locator>,
) {
    loop {
        console::forward_lines(port, name.clone(), tx.clone()).await;
        let Some(locator) = locator.as_ref().filter(|_| !tx.is_closed()) else {
            return;
        };
        locator.notify_lost();
        port = loop {
            tokio::time::sleep(RELOCATE_PAUSE).await;
            match reopen_running(locator).await {
                Ok(p) => break p,
                Err(e) => tracing::debug!("{e:#}"),
            }
        };
    }
}

/// Finds a board that went away and opens the port it was found on for reading, its app running there.
async fn reopen_running(locator: &Locator) -> Result<Tty> {
    let (found, by) = locator.relocate().await?;
    let port = Tty::open(&found.port, BAUD)
        .await
        .with_context(|| format!("{}: opening {}", locator.name, found.port.display()))?;
    if by == FoundBy::Usb {
        return Ok(port);
    }
    // Reading the MAC left the chip in its ROM loader.
    let modem;
    let lines: &dyn ResetLines = match &locator.side_lines {
        Some(l) => l.as_ref(),
        None => {
            modem = port.modem_lines()?;
            &modem
        }
    };
    reset_to_run(lines).await?;
    Ok(port)
}
