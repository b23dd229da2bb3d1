//! A twin ESP8266 board: each wake runs the real firmware files through the host runtime (firmware/host: the
//! MicroPython VM, or CPython for comparison), with ADC, WiFi, RTC memory and deep sleep served by the bench
//! physics.

use super::bench_state::{BenchState, LoadState};
use super::board_spec::TwinBoardSpec;
use super::control::{Control, End};
use super::host_process::{BoardProcess, HostCommand, HostProcess};
use super::reset_cause::{rom_cause, DEEPSLEEP_RESET, PWRON_RESET, SOFT_RESET};
use super::runtime::FirmwareRuntime;
use anyhow::{bail, Context, Result};
use async_trait::async_trait;
use model::clock::DeviceClock;
use rand::{rngs::SmallRng, SeedableRng};
use rig::board::{
    AppFile, BoardError, Console, ConsoleLine, Deploy, DeployReport, Identify, Mac, Named, Run,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Real-time bound on the host process's start; one that overruns it is a twin failure, not the firmware's.
const CONTROL_ACCEPT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a stopping board's wake may take to end.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub struct TwinBoard {
    spec: TwinBoardSpec,
    /// The spec's MAC, checked.
    mac: Mac,
    fs: tempfile::TempDir,
    runtime: Arc<HostRuntime>,
    console_tx: mpsc::Sender<ConsoleLine>,
    console_rx: Option<mpsc::Receiver<ConsoleLine>>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// How to start the firmware's host runtime.
struct HostRuntime {
    runtime: FirmwareRuntime,
    bench: Arc<BenchState>,
    clock: DeviceClock,
    load_index: usize,
}

impl TwinBoard {
    pub fn new(
        spec: TwinBoardSpec,
        bench: Arc<BenchState>,
        clock: DeviceClock,
        runtime: &FirmwareRuntime,
    ) -> Result<Self> {
        let mac = spec
            .mac
            .parse()
            .with_context(|| format!("{}: the twin board's MAC", spec.name))?;
        runtime.check()?;
        let fs = rig::scratch::tempdir(&format!("{}-fs-", spec.name))
            .context("creating the twin board's filesystem folder")?;
        let load_index = bench.add_board(spec.channel, spec.physics.clone());
        let (console_tx, console_rx) = mpsc::channel(1024);
        Ok(TwinBoard {
            spec,
            mac,
            fs,
            runtime: Arc::new(HostRuntime {
                runtime: runtime.clone(),
                bench,
                clock,
                load_index,
            }),
            console_tx,
            console_rx: Some(console_rx),
            shutdown: watch::channel(false).0,
            task: None,
        })
    }

    pub fn filesystem(&self) -> &Path {
        self.fs.path()
    }
}

impl Named for TwinBoard {
    fn name(&self) -> &str {
        &self.spec.name
    }
}

#[async_trait]
impl Identify for TwinBoard {
    async fn identify(&mut self) -> Result<Mac, BoardError> {
        Ok(self.mac)
    }
}

#[async_trait]
impl Deploy for TwinBoard {
    /// Copies the files into the board's folder, every one of them.
    async fn deploy(&mut self, files: &[AppFile]) -> Result<DeployReport, BoardError> {
        let mut report = DeployReport::default();
        for file in files {
            let relative = Path::new(&file.path);
            if relative.is_absolute()
                || relative
                    .components()
                    .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Err(BoardError::OutsideFilesystem {
                    board: self.spec.name.clone(),
                    path: file.path.clone(),
                });
            }
            let target = self.fs.path().join(relative);
            let written = async {
                if let Some(parent) = target.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                tokio::fs::write(&target, &file.contents).await
            };
            written.await.map_err(|error| BoardError::Write {
                board: self.spec.name.clone(),
                path: file.path.clone(),
                error,
            })?;
            report.written.push(file.path.clone());
            report.bytes_sent += file.contents.len();
        }
        Ok(report)
    }
}

#[async_trait]
impl Run for TwinBoard {
    async fn start(&mut self) -> Result<(), BoardError> {
        if self.task.is_some() {
            return Ok(());
        }
        let life = Life {
            spec: self.spec.clone(),
            fs: self.fs.path().to_path_buf(),
            runtime: self.runtime.clone(),
            console: self.console_tx.clone(),
            shutdown: self.shutdown.subscribe(),
            rng: SmallRng::seed_from_u64(self.spec.seed),
        };
        self.task = Some(tokio::spawn(life.run()));
        Ok(())
    }

    async fn stop(&mut self) -> Result<(), BoardError> {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.take() {
            // The life task kills its host process on shutdown; bounded in case a wake is mid-exit.
            if tokio::time::timeout(STOP_TIMEOUT, task).await.is_err() {
                return Err(BoardError::NotStopped {
                    board: self.spec.name.clone(),
                    seconds: STOP_TIMEOUT.as_secs(),
                });
            }
        }
        self.runtime
            .bench
            .set_load(self.runtime.load_index, LoadState::Off);
        Ok(())
    }
}

impl Console for TwinBoard {
    fn take_console(&mut self) -> Option<mpsc::Receiver<ConsoleLine>> {
        self.console_rx.take()
    }
}

/// How one wake ended.
enum WakeEnd {
    Slept {
        ms: u64,
        rtc_hex: String,
    },
    /// The firmware stopped without sleeping: the board sits at its REPL, awake, until its power goes.
    Repl,
    /// `machine.reset()`: the board boots again at once.
    Reset {
        rtc_hex: String,
    },
    PowerLost,
    /// The host runtime failed (not the firmware: that ends at the REPL).
    Failed(String),
    Shutdown,
}

/// A host process started ahead of its wake: connected, its hello read and not yet answered.
struct Warm {
    child: HostProcess,
    lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
    console: [JoinHandle<()>; 2],
}

/// The board's life across wakes: power, boot, run, deep sleep, wake again.
struct Life {
    spec: TwinBoardSpec,
    fs: PathBuf,
    runtime: Arc<HostRuntime>,
    console: mpsc::Sender<ConsoleLine>,
    shutdown: watch::Receiver<bool>,
    rng: SmallRng,
}

impl Life {
    fn powered(&self) -> bool {
        let bench = &self.runtime.bench;
        self.spec
            .physics
            .powered(bench.measured_volts(self.spec.channel))
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    fn set_load(&self, state: LoadState) {
        self.runtime.bench.set_load(self.runtime.load_index, state);
    }

    async fn say(&self, line: String) {
        let _ = self
            .console
            .send(ConsoleLine {
                board: self.spec.name.clone(),
                line,
            })
            .await;
    }

    async fn run(mut self) {
        let mut power = self.runtime.bench.subscribe();
        let mut rtc_hex = String::new();
        let mut cause = PWRON_RESET;
        let mut warm: Option<Warm> = None;
        while !self.stopping() {
            if !self.powered() {
                // Dropping a pre-started process kills it: the board it was for lost power.
                warm = None;
                self.set_load(LoadState::Off);
                rtc_hex.clear();
                cause = PWRON_RESET;
                if !self.wait_for(&mut power, true).await {
                    return;
                }
                continue;
            }
            let started = match warm.take() {
                Some(w) => Ok(w),
                None => self.warm_up().await,
            };
            let end = match started {
                Ok(w) => self.wake(cause, &rtc_hex, w).await,
                Err(e) => WakeEnd::Failed(format!("{e:#}")),
            };
            match end {
                WakeEnd::Slept { ms, rtc_hex: kept } => {
                    rtc_hex = kept;
                    self.set_load(LoadState::Asleep);
                    let clock = self.runtime.clock;
                    let wake_at = clock.now() + self.spec.physics.sleep_secs(ms, &mut self.rng);
                    // The next wake's process starts now, while the board sleeps.
                    warm = self.warm_up().await.ok();
                    tokio::select! {
                        _ = tokio::time::sleep(clock.real_until(wake_at)) => {
                            cause = DEEPSLEEP_RESET;
                            // Late when the next wake's process took longer to start than the sleep, or the
                            // timer fired late: the host could not keep up.
                            let lag = clock.now() - wake_at;
                            self.runtime.bench.report_lag(self.runtime.load_index, lag);
                        }
                        alive = self.wait_for(&mut power, false) => {
                            if !alive { return; }
                            // Power lost while asleep: the loop top sees it and forgets RTC memory.
                        }
                    }
                }
                WakeEnd::PowerLost => {
                    self.say("twin: brownout, board lost power".into()).await;
                    rtc_hex.clear();
                    cause = PWRON_RESET;
                }
                WakeEnd::Reset { rtc_hex: kept } => {
                    rtc_hex = kept;
                    cause = SOFT_RESET;
                }
                WakeEnd::Repl | WakeEnd::Failed(_) => {
                    if let WakeEnd::Failed(why) = end {
                        self.say(format!(
                            "twin: the host runtime failed ({why}); the board stops here"
                        ))
                        .await;
                    }
                    // Awake at the REPL, no further wakes, until the power goes (then a power-on boot).
                    self.set_load(LoadState::Awake);
                    if !self.wait_for(&mut power, false).await {
                        return;
                    }
                }
                WakeEnd::Shutdown => return,
            }
        }
    }

    /// Waits until the board's power is `want` (true: powered). Returns false on shutdown.
    async fn wait_for(&mut self, power: &mut watch::Receiver<u64>, want: bool) -> bool {
        loop {
            if self.stopping() {
                return false;
            }
            if self.powered() == want {
                return true;
            }
            tokio::select! {
                changed = power.changed() => if changed.is_err() { return false; },
                _ = self.shutdown.changed() => {}
            }
        }
    }

    /// Starts the host runtime and reads its hello, leaving it waiting for the wake.
    async fn warm_up(&mut self) -> Result<Warm> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the control socket")?;
        let addr = listener.local_addr()?;
        let runtime = self.runtime.clone();
        let who = BoardProcess {
            control_addr: &addr.to_string(),
            board: &self.spec.name,
            mac: &self.spec.mac,
            clock: runtime.clock,
            folder: &self.fs,
        };
        let command = HostCommand::for_board(
            &runtime.runtime,
            runtime.runtime.boot_command(),
            &who,
            false,
        );
        let mut child = command.spawn().await.with_context(|| {
            format!(
                "starting {} (install CPython 3: apt-get install -y python3)",
                runtime.runtime.python().display()
            )
        })?;
        let console = [
            forward_lines(
                child.stdout.take(),
                &self.spec.name,
                "",
                self.console.clone(),
            ),
            forward_lines(
                child.stderr.take(),
                &self.spec.name,
                "stderr: ",
                self.console.clone(),
            ),
        ];
        let (stream, _) = tokio::time::timeout(CONTROL_ACCEPT_TIMEOUT, listener.accept())
            .await
            .context("the host runtime never connected to its control socket")??;
        let (read, write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let hello = tokio::time::timeout(CONTROL_ACCEPT_TIMEOUT, lines.next_line())
            .await
            .context("the host runtime sent no hello")??
            .unwrap_or_default();
        let said: serde_json::Value = serde_json::from_str(&hello).unwrap_or_default();
        if said["op"] != "hello" || said["board"] != self.spec.name.as_str() {
            bail!("the host runtime's first request was not this board's hello: {hello:?}");
        }
        Ok(Warm {
            child,
            lines,
            write,
            console,
        })
    }

    /// One wake: the ROM banner, the hello answered with this boot's reset cause and RTC memory, then the
    /// firmware's requests until it sleeps, dies, loses power or the bench stops.
    async fn wake(&mut self, cause: u8, rtc_hex: &str, warm: Warm) -> WakeEnd {
        self.say(format!(
            "ets Jan  8 2013,rst cause:{}, boot mode:(3,6)",
            rom_cause(cause)
        ))
        .await;
        self.set_load(LoadState::Awake);
        match self.run_firmware(cause, rtc_hex, warm).await {
            Ok(end) => end,
            Err(e) => WakeEnd::Failed(format!("{e:#}")),
        }
    }

    async fn run_firmware(&mut self, cause: u8, rtc_hex: &str, warm: Warm) -> Result<WakeEnd> {
        let Warm {
            mut child,
            mut lines,
            mut write,
            console: [stdout, stderr],
        } = warm;
        let mut reply = json!({"ok": true, "reset_cause": cause, "rtc_hex": rtc_hex}).to_string();
        reply.push('\n');
        write.write_all(reply.as_bytes()).await?;

        let runtime = self.runtime.clone();
        let mut power = runtime.bench.subscribe();
        let mut control = Control {
            board: &self.spec.name,
            physics: &self.spec.physics,
            bench: &runtime.bench,
            channel: self.spec.channel,
            wifi_available: self.spec.wifi_available,
            rng: &mut self.rng,
            wifi_on: false,
            rtc_hex: rtc_hex.to_string(),
            end: None,
            load_index: runtime.load_index,
        };
        let mut shutdown = self.shutdown.clone();
        let physics = self.spec.physics.clone();
        let channel = self.spec.channel;
        let bench = runtime.bench.clone();
        let power_lost = async move {
            loop {
                if !physics.powered(bench.measured_volts(channel)) {
                    return;
                }
                if power.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        // The wake ends when the firmware says how (deep sleep, REPL, reset): the chip stops there, so the process
        // is ended by the board, not left to run on. A process that ends without saying so failed.
        let end = tokio::select! {
            served = serve_control(&mut lines, &mut write, &mut control) => {
                served?;
                match control.end {
                    Some(End::Sleep { ms }) => {
                        // The chip is asleep from its deepsleep call; the process's teardown is not awake time.
                        runtime.bench.set_load(runtime.load_index, LoadState::Asleep);
                        WakeEnd::Slept { ms, rtc_hex: control.rtc_hex.clone() }
                    }
                    Some(End::Repl) => WakeEnd::Repl,
                    Some(End::Reset) => WakeEnd::Reset { rtc_hex: control.rtc_hex.clone() },
                    None => {
                        let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                        WakeEnd::Failed(match status {
                            Ok(Ok(s)) => format!("it exited with {s} without sleeping"),
                            _ => "its control socket closed".into(),
                        })
                    }
                }
            }
            _ = power_lost => WakeEnd::PowerLost,
            _ = async { let _ = shutdown.wait_for(|stop| *stop).await; } => WakeEnd::Shutdown,
        };
        let _ = child.start_kill();
        let _ = child.wait().await;
        // Let the console readers drain what the process printed before it ended.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = stdout.await;
            let _ = stderr.await;
        })
        .await;
        Ok(end)
    }
}

/// Answers the host runtime's requests until it says how the wake ends, or closes the socket.
async fn serve_control(
    lines: &mut tokio::io::Lines<BufReader<OwnedReadHalf>>,
    write: &mut OwnedWriteHalf,
    control: &mut Control<'_>,
) -> Result<()> {
    while let Some(line) = lines.next_line().await? {
        let mut reply = control.handle(&line).to_string();
        reply.push('\n');
        write.write_all(reply.as_bytes()).await?;
        if control.end.is_some() {
            break;
        }
    }
    Ok(())
}

fn forward_lines(
    stream: Option<impl AsyncRead + Unpin + Send + 'static>,
    board: &str,
    prefix: &'static str,
    console: mpsc::Sender<ConsoleLine>,
) -> JoinHandle<()> {
    let board = board.to_string();
    tokio::spawn(async move {
        let Some(stream) = stream else { return };
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buf);
                    let line = format!("{prefix}{}", text.trim_end_matches(['\r', '\n']));
                    let _ = console
                        .send(ConsoleLine {
                            board: board.clone(),
                            line,
                        })
                        .await;
                }
            }
        }
    })
}
