//! An ESP8266 running MicroPython, reached through a serial port: a real board on a USB-serial adapter (reset
//! and GPIO0 through DTR/RTS) or a twin pty board (the same through its side channel). Identify and flash go
//! through the ROM loader, deploy through the raw REPL, and the console is the port itself.

use super::console::{self, RomBoot};
use super::flasher::{self, FlashOutcome, FlashRecords, Flasher, Progress};
use super::raw_repl::{DeployReport, RawRepl};
use super::reset_lines::{reset_into_loader, reset_to_run, ResetLines};
use super::rom_loader::format_mac;
use super::serial::Tty;
use super::{AppFile, Board, ConsoleLine};
use anyhow::{Context, Result};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// MicroPython's and the ROM loader's speed.
pub const BAUD: u32 = 115_200;

pub struct Esp8266Board {
    name: String,
    port: PathBuf,
    /// None: the port's own DTR/RTS.
    side_lines: Option<Arc<dyn ResetLines>>,
    console_tx: Option<mpsc::Sender<ConsoleLine>>,
    console_rx: Option<mpsc::Receiver<ConsoleLine>>,
    reader: Option<JoinHandle<()>>,
    /// What the ROM said at the last reset this board saw.
    last_boot: Option<RomBoot>,
}

impl Esp8266Board {
    pub fn new(name: &str, port: &Path, side_lines: Option<Arc<dyn ResetLines>>) -> Self {
        let (tx, rx) = mpsc::channel(1024);
        Esp8266Board {
            name: name.to_string(),
            port: port.to_path_buf(),
            side_lines,
            console_tx: Some(tx),
            console_rx: Some(rx),
            reader: None,
            last_boot: None,
        }
    }

    pub fn last_boot(&self) -> Option<RomBoot> {
        self.last_boot
    }

    fn open(&self) -> Result<Tty> {
        Tty::open(&self.port, BAUD)
            .with_context(|| format!("{}: opening {}", self.name, self.port.display()))
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
        let port = self.open()?;
        let lines = self.lines_for(&port)?;
        reset_into_loader(lines.as_ref()).await?;
        let (f, _, outcome) =
            flasher::flash_image(port, &self.name, firmware, records, progress).await?;
        let mut port = f.into_port();
        self.reset_and_read_banner(&mut port, lines.as_ref())
            .await?;
        Ok(outcome)
    }

    /// Deploys through the raw REPL (Ctrl-C right after a reset catches the app's maintenance window) and
    /// leaves the board at its REPL; `start` resets it into the app.
    pub async fn deploy_files(&mut self, files: &[AppFile]) -> Result<DeployReport> {
        self.stop_reader().await;
        let mut port = self.open()?;
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
        let port = self.open()?;
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
        let port = self.open()?;
        let lines = self.lines_for(&port)?;
        reset_to_run(lines.as_ref()).await?;
        // The banner stays in the console (its rst cause is what the boot-reason check reads).
        self.reader = Some(tokio::spawn(console::forward_lines(
            port,
            self.name.clone(),
            tx,
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
}
