//! One long-lived CPython that forks twin boards' host processes (fork_server.py, firmware/host/PROTOCOL.md).
//! A CPython start costs ~60-120 ms of CPU; a hundred boards at speed 10 start a hundred every few seconds, which
//! starved the boards still awake. Forking an interpreter that has already imported the standard library costs
//! a few milliseconds.

use crate::host_command::HostCommand;
use rustix::net::{
    sendmsg, socketpair, AddressFamily, SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
    SocketFlags, SocketType,
};
use std::collections::HashMap;
use std::io::{self, IoSlice, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream as StdUnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::net::unix::pipe;
use tokio::net::UnixStream;

const SERVER_PY: &str = include_str!("fork_server.py");
/// The fd the server reads requests from (fork_server.py).
const SERVER_FD: i32 = 3;
/// How long the server may take to import what it pre-loads and say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Set to `0` to start every host process as a fresh interpreter (for comparisons and debugging).
pub const DISABLE_ENV: &str = "HIL_FORK_SERVER";

/// Servers by interpreter and the module folder each preloads.
type Servers = Mutex<HashMap<(PathBuf, Option<PathBuf>), Option<Arc<ForkServer>>>>;

/// The servers this process shares, one per interpreter path.
static SERVERS: OnceLock<Servers> = OnceLock::new();

pub struct ForkServer {
    control: Mutex<OwnedFd>,
    pid: u32,
    _script: tempfile::TempPath,
}

impl ForkServer {
    /// Starts a server on `python`. Its parent-death signal is bound to a thread that lives exactly as long as
    /// the server (it waits for it), so the server, and with it every child, dies with this process.
    /// `preload`: a folder whose `micropython_run` module (the VM) the server imports once for all its children.
    pub fn start(python: &Path, preload: Option<&Path>) -> io::Result<ForkServer> {
        let mut script = rig::scratch::tempfile("fork-server-", ".py")?;
        script.write_all(SERVER_PY.as_bytes())?;
        let script = script.into_temp_path();
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        let mut command = std::process::Command::new(python);
        command
            .arg("-u")
            .arg(&script)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("HIL_VM_SITE", preload.unwrap_or(Path::new("")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let their_fd = theirs.as_raw_fd();
        // SAFETY: runs in the forked child before exec and calls only prctl, dup2 and fcntl, which are
        // async-signal-safe and touch nothing but the child's own state.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // dup2 onto itself keeps close-on-exec, so clear it explicitly.
                let moved = if their_fd == SERVER_FD {
                    libc::fcntl(SERVER_FD, libc::F_SETFD, 0)
                } else {
                    libc::dup2(their_fd, SERVER_FD)
                };
                if moved == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("hil-fork-server".into())
            .spawn(move || match command.spawn() {
                Ok(mut child) => {
                    let stdout = child.stdout.take();
                    let _ = started_tx.send(Ok((child.id(), stdout)));
                    let _ = child.wait();
                }
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                }
            })?;
        let (pid, stdout) = started_rx
            .recv()
            .map_err(|_| io::Error::other("the fork server's thread ended"))??;
        drop(theirs);
        wait_ready(stdout)?;
        Ok(ForkServer {
            control: Mutex::new(ours),
            pid,
            _script: script,
        })
    }

    /// The server for `python` this process shares, started on first use; None when it cannot start or is
    /// turned off (`HIL_FORK_SERVER=0`), and host processes then start as fresh interpreters.
    pub fn shared(python: &Path, preload: Option<&Path>) -> Option<Arc<ForkServer>> {
        if std::env::var(DISABLE_ENV).is_ok_and(|v| v == "0") {
            return None;
        }
        let mut servers = SERVERS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        servers
            .entry((python.to_path_buf(), preload.map(Path::to_path_buf)))
            .or_insert_with(|| match ForkServer::start(python, preload) {
                Ok(server) => Some(Arc::new(server)),
                Err(e) => {
                    tracing::warn!(
                        "cannot start the fork server on {} ({e}); twin boards start a fresh interpreter per wake",
                        python.display()
                    );
                    None
                }
            })
            .clone()
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// CPU seconds of the server and of the children it has reaped (its children are not this process's, so
    /// getrusage here does not see them).
    pub fn cpu_seconds(&self) -> io::Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid))?;
        // Fields after the command name, which ends at the last ')': state is field 3, utime..cstime 14..17.
        let after = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .ok_or_else(|| io::Error::other("unreadable /proc stat"))?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..15)
            .ok_or_else(|| io::Error::other("short /proc stat"))?
            .iter()
            .map(|f| f.parse::<f64>().unwrap_or(0.0))
            .sum();
        // SAFETY: sysconf only reads a configuration value.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Ok(ticks / per_second.max(1) as f64)
    }

    /// CPU seconds of every shared server and its reaped children, for the rig's own cost figures.
    pub fn shared_cpu_seconds() -> f64 {
        let Some(servers) = SERVERS.get() else {
            return 0.0;
        };
        let servers = servers.lock().unwrap_or_else(|e| e.into_inner());
        servers
            .values()
            .flatten()
            .filter_map(|s| s.cpu_seconds().ok())
            .sum()
    }

    /// Forks `python3 -u SCRIPT ARGS...` as `command` describes. Must be called inside a Tokio runtime (the
    /// pipes register with it).
    pub fn spawn(&self, command: &HostCommand) -> io::Result<Forked> {
        let request = serde_json::json!({
            "argv": command.argv_lossy(),
            "cwd": command.cwd.to_string_lossy(),
            "env": command.env.iter().cloned().collect::<HashMap<String, String>>(),
        })
        .to_string();
        let (stdin, child_stdin) = if command.stdin_piped {
            let (ours, theirs) = pipe::pipe()?;
            (Some(ours), theirs.into_blocking_fd()?)
        } else {
            (None, OwnedFd::from(std::fs::File::open("/dev/null")?))
        };
        let (child_stdout, stdout) = pipe::pipe()?;
        let (child_stderr, stderr) = pipe::pipe()?;
        let child_stdout = child_stdout.into_blocking_fd()?;
        let child_stderr = child_stderr.into_blocking_fd()?;
        let (status, child_status) = StdUnixStream::pair()?;
        let fds = [
            child_stdin.as_fd(),
            child_stdout.as_fd(),
            child_stderr.as_fd(),
            child_status.as_fd(),
        ];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(4))];
        let mut ancillary = SendAncillaryBuffer::new(&mut space);
        ancillary.push(SendAncillaryMessage::ScmRights(&fds));
        {
            let control = self.control.lock().unwrap_or_else(|e| e.into_inner());
            sendmsg(
                &*control,
                &[IoSlice::new(request.as_bytes())],
                &mut ancillary,
                SendFlags::NOSIGNAL,
            )?;
        }
        status.set_nonblocking(true)?;
        let signals = Signaller(Arc::new(status.try_clone()?));
        Ok(Forked {
            stdin,
            stdout: Some(stdout),
            stderr: Some(stderr),
            status: BufReader::new(UnixStream::from_std(status)?).lines(),
            signals,
            pid: None,
        })
    }
}

/// The server writes `ready` on its stdout once it has imported what it pre-loads.
fn wait_ready(stdout: Option<std::process::ChildStdout>) -> io::Result<()> {
    let mut stdout = stdout.ok_or_else(|| io::Error::other("the fork server has no stdout"))?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut word = [0u8; 6];
        let _ = tx.send(stdout.read_exact(&mut word).map(|()| word));
    });
    match rx.recv_timeout(READY_TIMEOUT) {
        Ok(Ok(word)) if &word == b"ready\n" => Ok(()),
        Ok(Ok(word)) => Err(io::Error::other(format!(
            "the fork server said {:?} instead of ready",
            String::from_utf8_lossy(&word)
        ))),
        Ok(Err(e)) => Err(io::Error::other(format!(
            "the fork server ended before it was ready ({e})"
        ))),
        Err(_) => Err(io::Error::other(format!(
            "the fork server was not ready within {READY_TIMEOUT:?}"
        ))),
    }
}

/// A process the fork server started: its pipes, and its status socket (exit status in, signals out).
pub struct Forked {
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    status: Lines<BufReader<UnixStream>>,
    signals: Signaller,
    pid: Option<u32>,
}

impl Forked {
    /// The process's id, once the server has reported it (`wait` reads the report).
    pub fn id(&self) -> Option<u32> {
        self.pid
    }

    /// Cancel-safe: the status lines are read whole.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        while let Some(line) = self.status.next_line().await? {
            let (word, number) = line.split_once(' ').unwrap_or((&line, ""));
            match (word, number.parse::<i64>()) {
                ("pid", Ok(pid)) => self.pid = u32::try_from(pid).ok(),
                ("exit", Ok(raw)) => return Ok(ExitStatus::from_raw(raw as i32)),
                _ => return Err(io::Error::other(format!("the fork server said {line:?}"))),
            }
        }
        Err(io::Error::other("the fork server is gone"))
    }

    pub fn signaller(&self) -> Signaller {
        self.signals.clone()
    }
}

/// Signals a forked process through its status socket (the server knows its pid from the fork, so no signal
/// can reach a recycled pid).
#[derive(Clone)]
pub struct Signaller(Arc<StdUnixStream>);

impl Signaller {
    pub fn send(&self, signal: i32) -> io::Result<()> {
        (&*self.0).write_all(format!("sig {signal}\n").as_bytes())
    }
}
