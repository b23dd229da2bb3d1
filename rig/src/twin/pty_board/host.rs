//! The CPython processes behind a pty board: the app (firmware/host/cpython/run.py, unchanged) and the REPL host
//! (repl_host.py), plus the control socket both talk to (firmware/host/PROTOCOL.md).

use crate::twin::bench_state::{BenchState, LoadState};
use crate::twin::control::{Control, End};
use crate::twin::host_process::{board_env, HostCommand, HostProcess, ProcessSignals, Writer};
use crate::twin::physics::Physics;
use anyhow::{Context, Result};
use rand::{rngs::SmallRng, SeedableRng};
use serde_json::json;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

const REPL_HOST: &str = include_str!("repl_host.py");
/// Output still in the pipes when a process ends is forwarded for at most this long.
const DRAIN: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub enum Event {
    /// Bytes the app printed (stdout and stderr: one UART).
    Output {
        gen: u64,
        bytes: Vec<u8>,
    },
    /// A frame from the REPL host (`o`, `e`, `d`, `r`, `s`).
    Frame {
        gen: u64,
        kind: u8,
        payload: Vec<u8>,
    },
    Exit {
        gen: u64,
        status: String,
    },
}

/// What a board keeps across boots and what its firmware last asked for, shared with the control socket.
#[derive(Debug, Default)]
pub struct Persist {
    pub reset_cause: u8,
    pub rtc_hex: String,
    pub sleep_ms: Option<u64>,
}

/// A running process; dropping it kills the process.
pub struct Proc {
    pub gen: u64,
    signals: ProcessSignals,
    stdin: Option<Writer>,
    _kill: oneshot::Sender<()>,
}

impl Proc {
    /// Ctrl-C on the console: KeyboardInterrupt in the running code.
    pub fn interrupt(&self) {
        self.signals.send(libc::SIGINT);
    }

    pub async fn send(&mut self, kind: u8, payload: &[u8]) -> Result<()> {
        let stdin = self.stdin.as_mut().context("the REPL host has no stdin")?;
        let mut frame = vec![kind];
        frame.extend((payload.len() as u32).to_le_bytes());
        frame.extend(payload);
        stdin.write_all(&frame).await?;
        Ok(stdin.flush().await?)
    }
}

pub struct Host {
    pub python: PathBuf,
    pub run_py: PathBuf,
    pub board: String,
    pub mac: String,
    pub folder: PathBuf,
    pub speed: f64,
    pub epoch_unix: f64,
    pub control_addr: String,
    pub events: mpsc::UnboundedSender<Event>,
    script: tempfile::NamedTempFile,
}

impl Host {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        python: PathBuf,
        run_py: PathBuf,
        board: String,
        mac: String,
        folder: PathBuf,
        speed: f64,
        epoch_unix: f64,
        control_addr: String,
        events: mpsc::UnboundedSender<Event>,
    ) -> Result<Host> {
        let mut script = crate::scratch::tempfile("repl-host-", ".py")
            .context("writing the REPL host script")?;
        std::io::Write::write_all(&mut script, REPL_HOST.as_bytes())?;
        Ok(Host {
            python,
            run_py,
            board,
            mac,
            folder,
            speed,
            epoch_unix,
            control_addr,
            events,
            script,
        })
    }

    fn command(&self, argv: Vec<OsString>, stdin_piped: bool) -> HostCommand {
        HostCommand {
            python: self.python.clone(),
            argv,
            cwd: self.folder.clone(),
            env: board_env(
                &self.control_addr,
                &self.board,
                &self.mac,
                self.epoch_unix,
                self.speed,
            ),
            stdin_piped,
            preload: None,
        }
    }

    /// One boot of the app: boot.py then main.py, as run.py does for the process-per-wake twin.
    pub fn spawn_app(&self, gen: u64) -> Result<Proc> {
        let child = self
            .command(vec![self.run_py.clone().into()], false)
            .spawn_here()
            .with_context(|| {
                format!(
                    "{}: starting {} (install CPython 3)",
                    self.board,
                    self.python.display()
                )
            })?;
        Ok(self.watch(child, gen, false))
    }

    pub fn spawn_repl(&self, gen: u64) -> Result<Proc> {
        let host_dir = self.run_py.parent().unwrap_or(Path::new("."));
        let argv = vec![self.script.path().into(), host_dir.into()];
        let child = self
            .command(argv, true)
            .spawn_here()
            .with_context(|| format!("{}: starting the REPL host", self.board))?;
        Ok(self.watch(child, gen, true))
    }

    fn watch(&self, mut child: HostProcess, gen: u64, framed: bool) -> Proc {
        let (kill, mut killed) = oneshot::channel::<()>();
        let signals = child.signals();
        let stdin = child.stdin.take();
        let events = self.events.clone();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        tokio::spawn(async move {
            let out = tokio::spawn(if framed {
                read_frames(stdout, gen, events.clone())
            } else {
                forward(stdout, gen, events.clone())
            });
            let err = tokio::spawn(forward(stderr, gen, events.clone()));
            let status = tokio::select! {
                s = child.wait() => s,
                _ = &mut killed => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let _ = tokio::time::timeout(DRAIN, async {
                let _ = out.await;
                let _ = err.await;
            })
            .await;
            let status = match status {
                Ok(s) => s.to_string(),
                Err(e) => format!("wait failed: {e}"),
            };
            let _ = events.send(Event::Exit { gen, status });
        });
        Proc {
            gen,
            signals,
            stdin,
            _kill: kill,
        }
    }
}

type BoxFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

fn forward(
    stream: Option<impl AsyncRead + Unpin + Send + 'static>,
    gen: u64,
    events: mpsc::UnboundedSender<Event>,
) -> BoxFuture {
    Box::pin(async move {
        let Some(mut stream) = stream else { return };
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0
                || events
                    .send(Event::Output {
                        gen,
                        bytes: buf[..n].to_vec(),
                    })
                    .is_err()
            {
                return;
            }
        }
    })
}

fn read_frames(
    stream: Option<impl AsyncRead + Unpin + Send + 'static>,
    gen: u64,
    events: mpsc::UnboundedSender<Event>,
) -> BoxFuture {
    Box::pin(async move {
        let Some(mut stream) = stream else { return };
        loop {
            let mut head = [0u8; 5];
            if stream.read_exact(&mut head).await.is_err() {
                return;
            }
            let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut payload = vec![0u8; len];
            if stream.read_exact(&mut payload).await.is_err() {
                return;
            }
            let frame = Event::Frame {
                gen,
                kind: head[0],
                payload,
            };
            if events.send(frame).is_err() {
                return;
            }
        }
    })
}

/// What the control socket serves a board's processes with.
#[derive(Clone)]
pub struct ControlSpec {
    pub board: String,
    pub physics: Physics,
    pub bench: Arc<BenchState>,
    pub channel: usize,
    /// The board's load on the bench, as `BenchState::add_board` numbered it.
    pub load_index: usize,
    pub wifi_available: bool,
    pub seed: u64,
    /// Hellos are answered only while this is open (closed while a warm app waits for its wake).
    pub gate: watch::Receiver<bool>,
}

/// Accepts the board's processes' control connections for as long as the listener lives.
pub async fn serve_control(listener: TcpListener, spec: ControlSpec, persist: Arc<Mutex<Persist>>) {
    let mut n = 0u64;
    while let Ok((stream, _)) = listener.accept().await {
        n += 1;
        tokio::spawn(serve_connection(
            stream,
            spec.clone(),
            persist.clone(),
            spec.seed.wrapping_add(n),
        ));
    }
}

async fn serve_connection(
    stream: TcpStream,
    mut spec: ControlSpec,
    persist: Arc<Mutex<Persist>>,
    seed: u64,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut control = Control {
        board: &spec.board,
        physics: &spec.physics,
        bench: &spec.bench,
        channel: spec.channel,
        wifi_available: spec.wifi_available,
        rng: &mut rng,
        wifi_on: false,
        rtc_hex: String::new(),
        end: None,
        load_index: spec.load_index,
    };
    while let Ok(Some(line)) = lines.next_line().await {
        let said: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        let reply = if said["op"] == "hello" && said["board"] == spec.board.as_str() {
            // Held until the wake; the board gone (the sender dropped) ends the connection.
            if spec.gate.wait_for(|open| *open).await.is_err() {
                return;
            }
            // Answered with this boot's reset cause and RTC memory, as they are at the wake.
            let p = persist.lock().unwrap_or_else(|e| e.into_inner());
            control.rtc_hex = p.rtc_hex.clone();
            json!({"ok": true, "reset_cause": p.reset_cause, "rtc_hex": p.rtc_hex})
        } else {
            let reply = control.handle(&line);
            let mut p = persist.lock().unwrap_or_else(|e| e.into_inner());
            p.rtc_hex = control.rtc_hex.clone();
            if let Some(End::Sleep { ms }) = control.end {
                p.sleep_ms = Some(ms);
                // The chip sleeps from its deepsleep call; the process's teardown is not awake time.
                spec.bench.set_load(spec.load_index, LoadState::Asleep);
            }
            reply
        };
        let mut text = reply.to_string();
        text.push('\n');
        if write.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}
