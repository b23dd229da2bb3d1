//! The processes behind a pty board, on the board's firmware runtime (the MicroPython VM, or CPython for
//! comparison): the app (one boot of the firmware) and the REPL host (the code typed at the board's REPL), each
//! with a control connection of its own (firmware/host/PROTOCOL.md) that tells how the firmware ended its wake.
//!
//! REPL host protocol, both runtimes (firmware/host/{micropython,cpython}/repl_host.py): stdin carries frames
//! `kind(1) len(u32 LE) payload` from the board: `x` raw-REPL code, `i` one friendly-REPL line, `b` run boot.py;
//! stdout carries frames back: `o` output, `e` the uncaught exception in MicroPython's format, `d` done, `r`
//! machine.reset() asked, `s` a soft reset asked.

use crate::bench_state::{BenchState, LoadState};
use crate::control::{Control, End};
use crate::host_process::{BoardProcess, HostCommand, HostProcess, ProcessSignals, Writer};
use crate::physics::Physics;
use crate::runtime::FirmwareRuntime;
use anyhow::{Context, Result};
use model::clock::DeviceClock;
use rand::{rngs::SmallRng, SeedableRng};
use serde_json::json;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

/// Output still in the pipes when a process ends is forwarded for at most this long.
const DRAIN: Duration = Duration::from_secs(2);
/// A frame longer than this is not a REPL host's: its stream is dropped rather than its length allocated.
const MAX_FRAME: usize = 16 << 20;

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
    /// The firmware said how its wake ends; its process idles (the VM) or exits (CPython) and is the board's to end.
    End {
        gen: u64,
        end: End,
    },
    Exit {
        gen: u64,
        status: String,
    },
}

/// What a board keeps across boots, shared with its processes' control connections.
#[derive(Debug, Default)]
pub struct Persist {
    pub reset_cause: u8,
    pub rtc_hex: String,
}

/// A running process; dropping it kills the process.
pub struct Proc {
    pub gen: u64,
    signals: ProcessSignals,
    stdin: Option<Writer>,
    kill: Option<oneshot::Sender<()>>,
}

impl Proc {
    /// Ctrl-C on the console: KeyboardInterrupt in the running code.
    pub fn interrupt(&self) {
        self.signals.send(libc::SIGINT);
    }

    /// Ends the process, keeping it current: what it printed before still arrives, then its `Exit`.
    pub fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
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
    pub runtime: FirmwareRuntime,
    pub board: String,
    pub mac: String,
    pub folder: PathBuf,
    pub clock: DeviceClock,
    /// What each process's control connection is served with.
    pub control: ControlSpec,
    pub persist: Arc<Mutex<Persist>>,
    pub events: mpsc::UnboundedSender<Event>,
}

impl Host {
    /// One boot of the app: boot.py then main.py, as the process twin's boots run.
    pub fn spawn_app(&self, gen: u64) -> Result<Proc> {
        self.spawn(gen, self.runtime.boot_command(), false)
            .with_context(|| format!("{}: starting the app", self.board))
    }

    pub fn spawn_repl(&self, gen: u64) -> Result<Proc> {
        self.spawn(gen, self.runtime.repl_command(), true)
            .with_context(|| format!("{}: starting the REPL host", self.board))
    }

    /// Starts the process with a control socket of its own, so what its connection reports is known to be its.
    fn spawn(
        &self,
        gen: u64,
        command: (Vec<OsString>, Vec<(String, String)>),
        framed: bool,
    ) -> Result<Proc> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .context("binding a control socket")?;
        let addr = listener.local_addr()?.to_string();
        let listener = TcpListener::from_std(listener)?;
        let who = BoardProcess {
            control_addr: &addr,
            board: &self.board,
            mac: &self.mac,
            clock: self.clock,
            folder: &self.folder,
        };
        let child = HostCommand::for_board(&self.runtime, command, &who, framed)
            .spawn_here()
            .with_context(|| {
                format!(
                    "running {} (install CPython 3: apt-get install -y python3)",
                    self.runtime.python().display()
                )
            })?;
        let control = tokio::spawn(serve_process(
            listener,
            self.control.clone(),
            self.persist.clone(),
            gen,
            self.events.clone(),
        ));
        Ok(self.watch(child, gen, framed, control))
    }

    fn watch(
        &self,
        mut child: HostProcess,
        gen: u64,
        framed: bool,
        control: tokio::task::JoinHandle<()>,
    ) -> Proc {
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
            // Sent or dropped, the process is to end.
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
            // The process is gone: its control socket has nothing more to say (or waits for no connection).
            control.abort();
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
            kill: Some(kill),
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
            if len > MAX_FRAME {
                return;
            }
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

/// Serves the one connection of process `gen` (it lives as long as the process: the watcher aborts it).
async fn serve_process(
    listener: TcpListener,
    spec: ControlSpec,
    persist: Arc<Mutex<Persist>>,
    gen: u64,
    events: mpsc::UnboundedSender<Event>,
) {
    let Ok((stream, _)) = listener.accept().await else {
        return;
    };
    drop(listener);
    let seed = spec.seed.wrapping_add(gen);
    serve_connection(stream, spec, persist, seed, |end| {
        let _ = events.send(Event::End { gen, end });
    })
    .await;
}

async fn serve_connection(
    stream: TcpStream,
    mut spec: ControlSpec,
    persist: Arc<Mutex<Persist>>,
    seed: u64,
    ended: impl Fn(End),
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
            let before = control.end;
            let reply = control.handle(&line);
            persist.lock().unwrap_or_else(|e| e.into_inner()).rtc_hex = control.rtc_hex.clone();
            if let Some(end) = control.end.filter(|_| before.is_none()) {
                if let End::Sleep { .. } = end {
                    // The chip sleeps from its deepsleep call; the process's teardown is not awake time.
                    spec.bench.set_load(spec.load_index, LoadState::Asleep);
                }
                // Told before the reply, so a process that exits on the reply (CPython) has said it first.
                ended(end);
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
