//! A twin ESP8266 on a pty: the port a real board's USB-serial adapter would be. In its ROM loader it answers
//! the serial loader protocol (and the stub's, once esptool uploads one) and keeps a 4 MiB flash; running, it
//! prints the ROM banner, boots the image's app (the firmware files in its folder, on the board's firmware runtime:
//! the MicroPython VM, or CPython for comparison) and, when the app ends without deep sleep, offers MicroPython's
//! friendly, raw and raw-paste REPL.
//! Reset and GPIO0 come through a side channel ([`TwinLines`]) because a pty has no modem lines.
//! [`PtyBoard::reenumerate`] moves the board to a new pty, as a USB-serial adapter replugged elsewhere: the old
//! port disappears (its clients read end of file) and the chip runs on undisturbed. A pty has no USB device in
//! sysfs, so the board's adapter identity ([`PtyBoard::usb_id`], a CP2102's with a serial number of its own) is
//! given by the name of a by-id-like link to its port, which the bench keeps. The app's
//! process is started while the chip sleeps, is held in reset or has no power, and its hello is answered at the
//! boot (warm start, firmware/host/PROTOCOL.md), so the process's start-up is not awake time. The firmware ends its
//! wake by telling the control socket (deep sleep, REPL, reset); the board then ends the process itself.
//!
//! REPL code runs in a REPL host process on the same runtime (host.rs), set up as for a boot: on the VM it sees
//! the chip's modules and heap and the board folder as the device's "/", so what mpremote or our client sends
//! (file writes, `os.ilistdir`, `hashlib`, `machine.reset()`) runs as on the chip.

mod host;
mod loader;
mod repl;
#[cfg(test)]
mod tests;

use crate::bench_state::{BenchState, LoadState};
use crate::board_spec::TwinBoardSpec;
use crate::control::End;
use crate::reset_cause::{rom_cause, DEEPSLEEP_RESET, HARD_RESET, PWRON_RESET, SOFT_RESET};
use crate::runtime::FirmwareRuntime;
use anyhow::{Context, Result};
use async_trait::async_trait;
use host::{ControlSpec, Event, Host, Persist, Proc};
use loader::{Action, Loader};
use model::clock::DeviceClock;
use rand::{rngs::SmallRng, SeedableRng};
use repl::{ExecKind, Repl, Step};
use rig::board::esp8266::{image, slip, Esp8266, BAUD};
use rig::board::reset_lines::{LinesError, Pins, ResetLines};
use rig::board::serial::{self, Tty};
use rig::board::usb_id::UsbId;
use rig::board::{Chip, Mac};
use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Bytes typed while the app runs wait in the UART's buffer for the REPL; the rest is lost, as on the chip.
const UART_RX_BUFFER: usize = 256;
/// A pty nobody reads fills up; after this long its unread bytes are dropped, like a UART into no cable.
const WRITE_STALL: Duration = Duration::from_secs(2);
/// Bytes per pacing step when throttled.
const PACE_CHUNK: usize = 256;

#[derive(Debug, Clone)]
pub struct PtyBoardSpec {
    /// What it shares with every twin board.
    pub board: TwinBoardSpec,
    /// Power up in the ROM loader (GPIO0 held low) rather than booting the app.
    pub start_in_loader: bool,
    /// Flash at power-on; None: a small valid image, so the board boots.
    pub flash: Option<Vec<u8>>,
    /// What the app and the REPL code run on.
    pub runtime: FirmwareRuntime,
    /// The serial number of the board's (imitated) USB-serial adapter.
    pub usb_serial: String,
}

impl PtyBoardSpec {
    pub fn new(name: &str, mac: &str, runtime: &FirmwareRuntime) -> Self {
        PtyBoardSpec {
            board: TwinBoardSpec::new(name, mac),
            start_in_loader: false,
            flash: None,
            runtime: runtime.clone(),
            // One of its own per board, where real CP2102s often share the factory's 0001.
            usb_serial: mac.replace(':', "").to_ascii_uppercase(),
        }
    }
}

/// The USB strings of the adapter a twin board imitates, as udev spells them: a CP2102 on a NodeMCU.
const TWIN_ADAPTER: &str = "Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller";

/// What the twin is doing, for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BoardMode {
    Off,
    HeldInReset,
    RomLoader,
    Stub,
    App,
    Repl,
    Asleep,
    /// The flash holds no bootable image: the ROM printed its complaint and stopped.
    NoImage,
}

/// Reset and boot pins of one pty board, driven as DTR/RTS through the auto-reset circuit.
pub struct TwinLines {
    tx: mpsc::UnboundedSender<(bool, bool)>,
    board: String,
}

#[async_trait]
impl ResetLines for TwinLines {
    async fn set(&self, dtr: bool, rts: bool) -> Result<(), LinesError> {
        self.tx.send((dtr, rts)).map_err(|_| LinesError::Stopped {
            board: self.board.clone(),
        })
    }
}

struct Shared {
    loader: Mutex<Loader>,
    mode: Mutex<BoardMode>,
}

/// A new pty's master for the chip to read from, acknowledged once the old one is no longer read.
type Replug = (ReadHalf<Tty>, oneshot::Sender<()>);

pub struct PtyBoard {
    name: String,
    port: PathBuf,
    usb_serial: String,
    lines: Arc<TwinLines>,
    replug: mpsc::UnboundedSender<Replug>,
    out: mpsc::UnboundedSender<Out>,
    shared: Arc<Shared>,
    fs: tempfile::TempDir,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl PtyBoard {
    /// Creates the pty and powers the board on the bench's channel.
    pub async fn spawn(
        spec: PtyBoardSpec,
        bench: Arc<BenchState>,
        clock: DeviceClock,
    ) -> Result<PtyBoard> {
        let TwinBoardSpec { name, mac, .. } = &spec.board;
        let mac: Mac = mac
            .parse()
            .with_context(|| format!("{name}: the twin board's MAC"))?;
        spec.runtime
            .check()
            .with_context(|| format!("{}: starting the twin board", spec.board.name))?;
        let fs = rig::scratch::tempdir(&format!("{}-fs-", spec.board.name))
            .context("creating the board's filesystem folder")?;
        let pty = serial::open_pty().context("opening a pty for the twin board")?;
        let port = pty.slave_path.clone();
        let flash = spec
            .flash
            .clone()
            .unwrap_or_else(|| image::synthetic(4096, spec.board.seed));
        let shared = Arc::new(Shared {
            loader: Mutex::new(Loader::new(mac, flash, BAUD)),
            mode: Mutex::new(BoardMode::Off),
        });
        let (lines_tx, lines_rx) = mpsc::unbounded_channel();
        let (replug, replug_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let persist = Arc::new(Mutex::new(Persist::default()));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (gate, gate_rx) = watch::channel(true);
        let load_index = bench.add_board(spec.board.channel, spec.board.physics.clone());
        let host = Host {
            runtime: spec.runtime.clone(),
            board: spec.board.name.clone(),
            mac: spec.board.mac.clone(),
            folder: fs.path().to_path_buf(),
            clock,
            control: ControlSpec {
                board: spec.board.name.clone(),
                physics: spec.board.physics.clone(),
                bench: bench.clone(),
                channel: spec.board.channel,
                load_index,
                wifi_available: spec.board.wifi_available,
                seed: spec.board.seed,
                gate: gate_rx,
            },
            persist: persist.clone(),
            events: events_tx,
        };
        let (read, write) = tokio::io::split(pty.master);
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let guard = Arc::new(pty.slave_guard);
        let writer = tokio::spawn(write_paced(write, out_rx, guard, clock));
        let twin = Twin {
            rng: SmallRng::seed_from_u64(spec.board.seed),
            spec: spec.clone(),
            shared: shared.clone(),
            out: out_tx.clone(),
            read,
            decoder: slip::Decoder::new(),
            state: BoardMode::Off,
            repl: Repl::default(),
            inbox: VecDeque::new(),
            host,
            persist,
            proc: None,
            ended: None,
            warm: None,
            gate,
            gen: 0,
            exec: None,
            last_out: 0,
            baud: BAUD,
            rx_due: tokio::time::Instant::now(),
            pins: Pins::from_lines(false, false),
            latched_loader: false,
            wake_at: None,
            clock,
            bench,
            load_index,
        };
        let task = tokio::spawn(async move {
            twin.run(lines_rx, replug_rx, events_rx, shutdown_rx).await;
            writer.abort();
        });
        Ok(PtyBoard {
            name: spec.board.name.clone(),
            port,
            usb_serial: spec.usb_serial.clone(),
            lines: Arc::new(TwinLines {
                tx: lines_tx,
                board: spec.board.name,
            }),
            replug,
            out: out_tx,
            shared,
            fs,
            shutdown,
            task: Some(task),
        })
    }

    /// A board alone on a private bench powered at 12.6 V, in real time: for tools, tests and benchmarks.
    pub async fn spawn_standalone(spec: PtyBoardSpec) -> Result<PtyBoard> {
        PtyBoard::spawn_standalone_at(spec, 1.0).await
    }

    /// [`PtyBoard::spawn_standalone`] on a clock `speed` times real time (its link too).
    pub async fn spawn_standalone_at(spec: PtyBoardSpec, speed: f64) -> Result<PtyBoard> {
        let bench = Arc::new(BenchState::new(spec.board.channel + 1));
        bench.update_channel(spec.board.channel, |c| {
            c.set_volts = 12.6;
            c.limit_amps = 1.0;
            c.output_on = true;
        });
        PtyBoard::spawn(spec, bench, DeviceClock::start(speed)).await
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The port clients open (`/dev/pts/N`).
    pub fn port(&self) -> &Path {
        &self.port
    }

    /// The USB identity of the board's adapter: what a by-id link to its port is named (it stays the same when
    /// the board re-enumerates).
    pub fn usb_id(&self) -> UsbId {
        UsbId {
            serial_id: format!("{TWIN_ADAPTER}_{}", self.usb_serial),
            interface: "if00-port0".into(),
        }
    }

    /// Moves the board to a new pty and closes the old one, as unplugging its USB-serial adapter and plugging it
    /// in again would; returns the new port. The chip is not reset.
    pub async fn reenumerate(&mut self) -> Result<&Path> {
        let stopped = || anyhow::anyhow!("{}: the twin board has stopped", self.name);
        let pty = serial::open_pty().context("opening a new pty for the twin board")?;
        let (read, write) = tokio::io::split(pty.master);
        let (ack, acked) = oneshot::channel();
        self.replug.send((read, ack)).map_err(|_| stopped())?;
        // The writer lets go of the old pty only once the chip no longer reads it: a master read that saw the
        // old side close would be taken for the board going away.
        acked.await.map_err(|_| stopped())?;
        self.out
            .send(Out::Port(write, Arc::new(pty.slave_guard)))
            .map_err(|_| stopped())?;
        self.port = pty.slave_path;
        Ok(&self.port)
    }

    pub fn lines(&self) -> Arc<TwinLines> {
        self.lines.clone()
    }

    /// The chip the board is, as the registry holds it: what drives the board over its port.
    pub fn chip(&self) -> Arc<dyn Chip> {
        Arc::new(Esp8266)
    }

    /// The board's filesystem (the device's "/").
    pub fn filesystem(&self) -> &Path {
        self.fs.path()
    }

    pub fn mode(&self) -> BoardMode {
        *self.shared.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of `len` bytes of flash at `offset` (clamped to the flash's size; never-written flash reads 0xFF).
    pub fn read_flash(&self, offset: usize, len: usize) -> Vec<u8> {
        let loader = self.shared.loader.lock().unwrap_or_else(|e| e.into_inner());
        let held = loader.flash();
        let start = offset.min(loader::FLASH_SIZE);
        let end = start.saturating_add(len).min(loader::FLASH_SIZE);
        (start..end)
            .map(|i| held.get(i).copied().unwrap_or(0xFF))
            .collect()
    }

    /// Waits (bounded) until the board is in `mode`.
    pub async fn wait_for(&self, mode: BoardMode, within: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + within;
        while self.mode() != mode {
            if tokio::time::Instant::now() >= deadline {
                anyhow::bail!(
                    "{}: still {:?} after {within:?}, expected {mode:?}",
                    self.name,
                    self.mode()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    pub async fn stop(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for PtyBoard {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// `\n` → `\r\n` for text kept aside (tracebacks) before it goes out.
fn cooked(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 8);
    let mut last = 0u8;
    for &b in bytes {
        if b == b'\n' && last != b'\r' {
            v.push(b'\r');
        }
        v.push(b);
        last = b;
    }
    v
}

enum Out {
    Bytes(Vec<u8>),
    Baud(u32),
    /// From now on, write to this pty (the old one closes).
    Port(WriteHalf<Tty>, Arc<OwnedFd>),
}

/// How long `bytes` take on a UART at `baud` (10 bits a byte), in real time at the clock's speed: the line runs
/// in device time, as everything else on the twin does.
fn wire_time(bytes: usize, baud: u32, clock: &DeviceClock) -> Duration {
    clock.real(bytes as f64 * 10.0 / f64::from(baud.max(1)))
}

/// Waits until `bytes` more have crossed the line, counted from `due` (when the line went idle, if later): an
/// absolute deadline, so timer rounding does not add up over a long transfer.
async fn pace(due: &mut tokio::time::Instant, bytes: usize, baud: u32, clock: &DeviceClock) {
    *due = (*due).max(tokio::time::Instant::now()) + wire_time(bytes, baud, clock);
    tokio::time::sleep_until(*due).await;
}

/// Writes the board's output to the pty, paced at the link's baud rate; drops what nobody reads.
async fn write_paced(
    mut pty: WriteHalf<Tty>,
    mut rx: mpsc::UnboundedReceiver<Out>,
    mut slave_guard: Arc<OwnedFd>,
    clock: DeviceClock,
) {
    let mut baud = BAUD;
    let mut due = tokio::time::Instant::now();
    while let Some(out) = rx.recv().await {
        let data = match out {
            Out::Baud(b) => {
                baud = b;
                continue;
            }
            Out::Port(write, guard) => {
                pty = write;
                slave_guard = guard;
                continue;
            }
            Out::Bytes(d) => d,
        };
        for chunk in data.chunks(PACE_CHUNK) {
            match tokio::time::timeout(WRITE_STALL, pty.write_all(chunk)).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(_) => {
                    serial::discard_unread(&slave_guard);
                    break;
                }
            }
            pace(&mut due, chunk.len(), baud, &clock).await;
        }
    }
}

/// Where a reset takes the boot mode from.
enum Strap {
    /// GPIO0 as the lines hold it now (a pin reset, power-on, deep-sleep wake).
    Pins,
    /// As latched at the last pin reset: a software reset (the stub's reboot, `machine.reset()`).
    Latched,
    /// Held in the loader (a twin started that way).
    Loader,
}

/// What a REPL run in progress is.
enum Running {
    Code(ExecKind),
    /// boot.py after a soft reboot in raw mode; the raw banner follows.
    BootPy,
}

struct Exec {
    running: Running,
    error: Vec<u8>,
}

struct Twin {
    spec: PtyBoardSpec,
    shared: Arc<Shared>,
    out: mpsc::UnboundedSender<Out>,
    read: ReadHalf<Tty>,
    decoder: slip::Decoder,
    state: BoardMode,
    repl: Repl,
    inbox: VecDeque<u8>,
    host: Host,
    persist: Arc<Mutex<Persist>>,
    proc: Option<Proc>,
    /// How `proc`'s firmware said its wake ends; acted on once the process, ended by the board, is gone.
    ended: Option<End>,
    /// The next boot's app, started while the chip is not running and waiting for its hello reply.
    warm: Option<Proc>,
    /// Open: hellos are answered at once. Closed while `warm` waits, so its hello is answered at the wake
    /// instant and the process's start-up is not awake time (firmware/host/PROTOCOL.md, warm start).
    gate: watch::Sender<bool>,
    gen: u64,
    exec: Option<Exec>,
    last_out: u8,
    /// The link's speed: the ROM's after a reset, the stub's after CHANGE_BAUDRATE.
    baud: u32,
    /// When the bytes received so far have crossed the line.
    rx_due: tokio::time::Instant,
    pins: Pins,
    /// Boot mode latched from GPIO0 at the last pin reset or power-on; software resets boot it again.
    latched_loader: bool,
    wake_at: Option<f64>,
    clock: DeviceClock,
    bench: Arc<BenchState>,
    load_index: usize,
    rng: SmallRng,
}

impl Twin {
    async fn run(
        mut self,
        mut lines: mpsc::UnboundedReceiver<(bool, bool)>,
        mut replugs: mpsc::UnboundedReceiver<Replug>,
        mut events: mpsc::UnboundedReceiver<Event>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut power = self.bench.subscribe();
        if self.powered() {
            self.power_on(self.spec.start_in_loader);
        }
        let mut buf = vec![0u8; PACE_CHUNK];
        loop {
            let wake = self.wake_at.map(|t| self.clock.real(t - self.clock.now()));
            tokio::select! {
                r = self.read.read(&mut buf) => match r {
                    Ok(n) if n > 0 => {
                        self.input(&buf[..n]).await;
                        pace(&mut self.rx_due, n, self.baud, &self.clock).await;
                    }
                    // The slave side is held open by the board, so this is the pty going away.
                    _ => return self.set_mode(BoardMode::Off),
                },
                Some(ev) = events.recv() => self.event(ev).await,
                Some((dtr, rts)) = lines.recv() => self.lines(Pins::from_lines(dtr, rts)),
                Some((read, ack)) = replugs.recv() => {
                    self.read = read;
                    // A frame cut off by the unplug is lost, as on the wire.
                    self.decoder.reset();
                    let _ = ack.send(());
                }
                changed = power.changed() => {
                    if changed.is_err() { return; }
                    self.power_changed();
                }
                _ = tokio::time::sleep(wake.unwrap_or_default()), if wake.is_some() => {
                    if let Some(wake_at) = self.wake_at.take() {
                        // A timer firing late: the host could not keep up.
                        self.bench.report_lag(self.load_index, self.clock.now() - wake_at);
                    }
                    self.boot(DEEPSLEEP_RESET, Strap::Pins);
                }
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => {
                    self.proc = None;
                    self.set_load(LoadState::Off);
                    return self.set_mode(BoardMode::Off);
                }
            }
        }
    }

    fn powered(&self) -> bool {
        self.spec
            .board
            .physics
            .powered(self.bench.measured_volts(self.spec.board.channel))
    }

    fn set_mode(&mut self, mode: BoardMode) {
        self.state = mode;
        *self.shared.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
        let load = match mode {
            BoardMode::Off | BoardMode::HeldInReset => LoadState::Off,
            BoardMode::Asleep => LoadState::Asleep,
            _ => LoadState::Awake,
        };
        self.set_load(load);
    }

    fn set_load(&self, load: LoadState) {
        self.bench.set_load(self.load_index, load);
    }

    fn persist(&self) -> std::sync::MutexGuard<'_, Persist> {
        self.persist.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn send(&self, bytes: impl Into<Vec<u8>>) {
        let _ = self.out.send(Out::Bytes(bytes.into()));
    }

    /// Console output as MicroPython's UART sends it: `\n` goes out as `\r\n`.
    fn send_cooked(&mut self, bytes: &[u8]) {
        let mut v = Vec::with_capacity(bytes.len() + 8);
        for &b in bytes {
            if b == b'\n' && self.last_out != b'\r' {
                v.push(b'\r');
            }
            v.push(b);
            self.last_out = b;
        }
        self.send(v);
    }

    fn stop_everything(&mut self) {
        self.proc = None;
        self.ended = None;
        if self.warm.take().is_some() {
            self.gate.send_replace(true);
        }
        self.exec = None;
        self.wake_at = None;
        self.inbox.clear();
        self.decoder.reset();
    }

    fn power_on(&mut self, in_loader: bool) {
        let mut p = self.persist();
        p.rtc_hex.clear();
        drop(p);
        self.boot(
            PWRON_RESET,
            if in_loader {
                Strap::Loader
            } else {
                Strap::Pins
            },
        );
    }

    fn power_changed(&mut self) {
        let on = self.powered();
        match (self.state == BoardMode::Off, on) {
            (true, true) if self.pins.en_high => self.power_on(false),
            (false, false) => {
                self.stop_everything();
                self.set_mode(BoardMode::Off);
                self.start_warm();
            }
            _ => {}
        }
    }

    fn lines(&mut self, pins: Pins) {
        let was = self.pins;
        self.pins = pins;
        if self.state == BoardMode::Off {
            // Power that came while EN was held low starts the chip when EN is released.
            if pins.en_high && !was.en_high && self.powered() {
                self.power_on(false);
            }
            return;
        }
        if !pins.en_high && was.en_high {
            self.stop_everything();
            self.set_mode(BoardMode::HeldInReset);
            self.start_warm();
        } else if pins.en_high && !was.en_high {
            self.boot(HARD_RESET, Strap::Pins);
        }
    }

    /// A chip reset: the ROM waits in its loader or loads the image in flash, as the strapping says.
    fn boot(&mut self, cause: u8, strap: Strap) {
        let rom_cause = rom_cause(cause);
        // Taken before `stop_everything` would kill it: a deep-sleep wake runs the app started during the sleep.
        let warm = self.warm.take();
        self.stop_everything();
        self.persist().reset_cause = cause;
        self.last_out = 0;
        self.shared
            .loader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reset(BAUD);
        self.baud = BAUD;
        let _ = self.out.send(Out::Baud(BAUD));
        self.latched_loader = match strap {
            Strap::Loader => true,
            Strap::Pins => !self.pins.gpio0_high,
            Strap::Latched => self.latched_loader,
        };
        if self.latched_loader {
            self.send(format!(
                "\r\n ets Jan  8 2013,rst cause:{rom_cause}, boot mode:(1,6)\r\n\r\n"
            ));
            self.gate.send_replace(true);
            return self.set_mode(BoardMode::RomLoader);
        }
        self.send(format!(
            "\r\n ets Jan  8 2013,rst cause:{rom_cause}, boot mode:(3,6)\r\n\r\n"
        ));
        let info = {
            let loader = self.shared.loader.lock().unwrap_or_else(|e| e.into_inner());
            image::parse(loader.flash())
        };
        match info {
            Ok(info) => {
                let mut text = String::new();
                for s in &info.segments {
                    text.push_str(&format!(
                        "load 0x{:08x}, len {}, room 16 \r\n",
                        s.addr, s.len
                    ));
                }
                self.send(text);
                self.start_app(warm);
            }
            Err(_) => {
                // An erased or foreign flash: the ROM says where it gave up and the chip idles.
                self.send(" ets_main.c \r\n");
                self.gate.send_replace(true);
                self.set_mode(BoardMode::NoImage);
            }
        }
    }

    /// Runs the app: in `warm` when one was started ahead, else in a process started now.
    fn start_app(&mut self, warm: Option<Proc>) {
        self.stop_everything();
        let started = match warm {
            Some(p) => Ok(p),
            None => {
                self.gen += 1;
                self.host.spawn_app(self.gen)
            }
        };
        match started {
            Ok(p) => {
                self.proc = Some(p);
                self.set_mode(BoardMode::App);
            }
            Err(e) => {
                self.send_cooked(format!("twin: {e:#}\n").as_bytes());
                self.enter_repl(true);
            }
        }
        // The wake instant: a warm app's hello is answered now, with this boot's reset cause and RTC memory.
        self.gate.send_replace(true);
    }

    /// Starts the next boot's app while the chip sleeps, is held in reset or has no power; if it cannot start,
    /// the boot tries again and says why.
    fn start_warm(&mut self) {
        self.gate.send_replace(false);
        self.gen += 1;
        match self.host.spawn_app(self.gen) {
            Ok(p) => self.warm = Some(p),
            Err(_) => {
                self.gate.send_replace(true);
            }
        }
    }

    /// The friendly REPL takes the console; `greet`: print its banner and prompt (unless the firmware's runtime
    /// already did, as the VM does when main.py ends).
    fn enter_repl(&mut self, greet: bool) {
        self.proc = None;
        self.repl.enter_friendly();
        if greet {
            self.send(Repl::greeting());
        }
        self.set_mode(BoardMode::Repl);
    }

    async fn input(&mut self, bytes: &[u8]) {
        match self.state {
            BoardMode::RomLoader | BoardMode::Stub => {
                for frame in self.decoder.feed(bytes) {
                    // Bad framing is what a ROM would drop on the floor too.
                    let Ok(frame) = frame else { continue };
                    let actions = self
                        .shared
                        .loader
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .on_frame(&frame);
                    self.loader_actions(actions);
                    if !matches!(self.state, BoardMode::RomLoader | BoardMode::Stub) {
                        break;
                    }
                }
            }
            BoardMode::App | BoardMode::Repl => {
                for &b in bytes {
                    // Code that has ended its wake is no longer interrupted: the board is ending its process.
                    let busy = (self.state == BoardMode::App || self.exec.is_some())
                        && self.ended.is_none();
                    if b == 0x03 && busy {
                        if let Some(p) = &self.proc {
                            p.interrupt();
                        }
                    } else if self.inbox.len() < UART_RX_BUFFER || self.state == BoardMode::Repl {
                        self.inbox.push_back(b);
                    }
                }
                self.pump().await;
            }
            _ => {}
        }
    }

    fn loader_actions(&mut self, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Frame(f) => self.send(slip::encode(&f)),
                Action::Reboot => return self.boot(SOFT_RESET, Strap::Latched),
                Action::RunUserCode => {
                    self.persist().reset_cause = SOFT_RESET;
                    return self.start_app(None);
                }
                Action::Baud(b) => {
                    self.baud = b;
                    let _ = self.out.send(Out::Baud(b));
                }
            }
        }
        let stub = self
            .shared
            .loader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_stub();
        if stub && self.state == BoardMode::RomLoader {
            self.set_mode(BoardMode::Stub);
        }
    }

    /// Feeds waiting bytes to the REPL while it is free to take them.
    async fn pump(&mut self) {
        while self.state == BoardMode::Repl && self.exec.is_none() {
            let Some(b) = self.inbox.pop_front() else {
                return;
            };
            match self.repl.feed(b) {
                None => {}
                Some(Step::Out(v)) => self.send(v),
                Some(Step::Exec(kind, code)) => {
                    match kind {
                        ExecKind::Raw => self.send(&b"OK"[..]),
                        ExecKind::Paste => self.send(&b"\x04"[..]),
                        ExecKind::Line => self.send(&b"\r\n"[..]),
                    }
                    let frame = if kind == ExecKind::Line { b'i' } else { b'x' };
                    self.run_code(Running::Code(kind), frame, &code).await;
                }
                Some(Step::SoftReboot { raw: true }) => {
                    self.send(&b"OK\r\nMPY: soft reboot\r\n"[..]);
                    self.proc = None;
                    self.run_code(Running::BootPy, b'b', b"").await;
                }
                Some(Step::SoftReboot { raw: false }) => {
                    self.send(&b"\r\nMPY: soft reboot\r\n"[..]);
                    self.persist().reset_cause = SOFT_RESET;
                    self.start_app(None);
                }
            }
        }
    }

    async fn run_code(&mut self, running: Running, frame: u8, code: &[u8]) {
        if self.proc.is_none() {
            self.gen += 1;
            match self.host.spawn_repl(self.gen) {
                Ok(p) => self.proc = Some(p),
                Err(e) => {
                    let msg = format!("twin: {e:#}\r\n").into_bytes();
                    return self.finish(running, &msg);
                }
            }
        }
        self.exec = Some(Exec {
            running,
            error: Vec::new(),
        });
        let sent = match self.proc.as_mut() {
            Some(p) => p.send(frame, code).await,
            None => Ok(()),
        };
        if let Err(e) = sent {
            self.proc = None;
            self.exec = None;
            let msg = format!("twin: the REPL host is gone: {e:#}\r\n").into_bytes();
            self.finish(
                match frame {
                    b'i' => Running::Code(ExecKind::Line),
                    b'b' => Running::BootPy,
                    _ => Running::Code(ExecKind::Raw),
                },
                &msg,
            );
        }
    }

    fn finish(&mut self, running: Running, error: &[u8]) {
        self.exec = None;
        match running {
            Running::Code(kind) => {
                let tail = self.repl.finish(kind, error);
                self.send(tail);
            }
            Running::BootPy => {
                self.send(error.to_vec());
                self.repl.enter_raw();
                self.send(repl::RAW_BANNER);
            }
        }
    }

    async fn event(&mut self, ev: Event) {
        let current = self.proc.as_ref().map(|p| p.gen);
        match ev {
            Event::Output { gen, bytes } if Some(gen) == current => self.send_cooked(&bytes),
            Event::Frame { gen, kind, payload } if Some(gen) == current => match kind {
                b'o' => self.send_cooked(&payload),
                b'e' => {
                    let cooked = cooked(&payload);
                    if let Some(x) = self.exec.as_mut() {
                        x.error.extend(cooked);
                    }
                }
                b'd' => {
                    if let Some(x) = self.exec.take() {
                        self.finish(x.running, &x.error);
                    }
                    self.pump().await;
                }
                b'r' => self.boot(SOFT_RESET, Strap::Latched),
                b's' => {
                    // Raw-REPL code that soft-resets still ends its output and error sections, as on the chip.
                    if let Some(Exec {
                        running: Running::Code(ExecKind::Raw | ExecKind::Paste),
                        ..
                    }) = self.exec
                    {
                        self.send(&b"\x04\x04"[..]);
                    }
                    self.send(&b"MPY: soft reboot\r\n"[..]);
                    self.proc = None;
                    self.exec = None;
                    if self.repl.is_raw() {
                        self.run_code(Running::BootPy, b'b', b"").await;
                    } else {
                        self.start_app(None);
                    }
                }
                _ => {}
            },
            Event::End { gen, end } if Some(gen) == current => {
                self.ended = Some(end);
                if let Some(p) = self.proc.as_mut() {
                    p.kill();
                }
            }
            Event::Exit { gen, status } if Some(gen) == current => self.exited(status).await,
            // A warm app that died before its wake: the wake starts a fresh one (and shows why it fails).
            Event::Exit { gen, .. } if self.warm.as_ref().is_some_and(|w| w.gen == gen) => {
                self.warm = None;
                self.gate.send_replace(true);
            }
            _ => {}
        }
    }

    /// The current process is gone: the board goes where its firmware said (its output has all arrived).
    async fn exited(&mut self, status: String) {
        self.proc = None;
        match self.ended.take() {
            Some(End::Sleep { ms }) => {
                // Deep sleep: the RTC timer resets the chip (GPIO16 → RST) when it runs out.
                self.stop_everything();
                self.persist().reset_cause = DEEPSLEEP_RESET;
                let secs = self.spec.board.physics.sleep_secs(ms, &mut self.rng);
                self.wake_at = Some(self.clock.now() + secs);
                self.set_mode(BoardMode::Asleep);
                self.start_warm();
            }
            Some(End::Reset) => self.boot(SOFT_RESET, Strap::Latched),
            said if self.state == BoardMode::App => {
                // main.py ended (maintenance stop, an exception, or nothing to run): the REPL takes the console.
                let greeted = said == Some(End::Repl) && self.spec.runtime.prints_repl_banner();
                self.enter_repl(!greeted);
                self.pump().await;
            }
            _ => {
                if let Some(x) = self.exec.take() {
                    let msg = format!("twin: the REPL host ended ({status})\r\n").into_bytes();
                    self.finish(x.running, &msg);
                    self.pump().await;
                }
            }
        }
    }
}
