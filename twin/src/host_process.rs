//! A twin board's host process (`python3 -u SCRIPT ARGS...`): forked by the fork server when it runs, else
//! started as a fresh interpreter. Callers see one type either way.

use crate::fork_server::{ForkServer, Forked, Signaller};
pub use crate::host_command::{BoardProcess, HostCommand};
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::process::{Child, Command};

pub type Reader = Box<dyn AsyncRead + Send + Unpin>;
pub type Writer = Box<dyn AsyncWrite + Send + Unpin>;

pub struct HostProcess {
    pub stdin: Option<Writer>,
    pub stdout: Option<Reader>,
    pub stderr: Option<Reader>,
    inner: Inner,
}

enum Inner {
    /// Dropping it kills the process (`kill_on_drop`).
    Spawned(Child),
    /// Dropping it closes the status socket, and the server kills the process.
    Forked(Forked),
}

impl HostCommand {
    /// Starts the process off the async workers and bound to the rig's life (rig::process::spawn).
    pub async fn spawn(&self) -> io::Result<HostProcess> {
        if let Some(forked) = self.fork() {
            return Ok(forked);
        }
        let mut command = self.command();
        rig::process::die_with_parent(&mut command);
        rig::process::spawn(command).await.map(HostProcess::spawned)
    }

    /// Starts the process from the calling thread.
    pub fn spawn_here(&self) -> io::Result<HostProcess> {
        if let Some(forked) = self.fork() {
            return Ok(forked);
        }
        self.command().spawn().map(HostProcess::spawned)
    }

    /// Through the fork server; None when there is none or it failed (said once), so the caller starts it.
    fn fork(&self) -> Option<HostProcess> {
        static FAILED: AtomicBool = AtomicBool::new(false);
        let server = ForkServer::shared(&self.python, self.preload.as_deref())?;
        match server.spawn(self).map(HostProcess::forked) {
            Ok(p) => Some(p),
            Err(e) => {
                if !FAILED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "the fork server could not start a host process ({e}); starting fresh interpreters"
                    );
                }
                None
            }
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.python);
        c.arg("-u")
            .args(&self.argv)
            .current_dir(&self.cwd)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin_piped {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        c
    }
}

impl HostProcess {
    fn spawned(mut child: Child) -> HostProcess {
        HostProcess {
            stdin: child.stdin.take().map(|s| Box::new(s) as Writer),
            stdout: child.stdout.take().map(|s| Box::new(s) as Reader),
            stderr: child.stderr.take().map(|s| Box::new(s) as Reader),
            inner: Inner::Spawned(child),
        }
    }

    fn forked(mut forked: Forked) -> HostProcess {
        HostProcess {
            stdin: forked.stdin.take().map(|s| Box::new(s) as Writer),
            stdout: forked.stdout.take().map(|s| Box::new(s) as Reader),
            stderr: forked.stderr.take().map(|s| Box::new(s) as Reader),
            inner: Inner::Forked(forked),
        }
    }

    /// Cancel-safe.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        match &mut self.inner {
            Inner::Spawned(child) => child.wait().await,
            Inner::Forked(forked) => forked.wait().await,
        }
    }

    pub fn start_kill(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Spawned(child) => child.start_kill(),
            Inner::Forked(forked) => forked.signaller().send(libc::SIGKILL),
        }
    }

    /// What signals the process while something else owns it (a waiting task).
    pub fn signals(&self) -> ProcessSignals {
        match &self.inner {
            Inner::Spawned(child) => ProcessSignals(child.id().map(SignalTarget::Pid)),
            Inner::Forked(forked) => ProcessSignals(Some(SignalTarget::Server(forked.signaller()))),
        }
    }
}

#[derive(Clone)]
enum SignalTarget {
    Pid(u32),
    Server(Signaller),
}

#[derive(Clone)]
pub struct ProcessSignals(Option<SignalTarget>);

impl ProcessSignals {
    pub fn send(&self, signal: i32) {
        match &self.0 {
            Some(SignalTarget::Pid(pid)) => {
                // SAFETY: kill(2) with the pid of a child we started and still own (not yet reaped).
                unsafe {
                    libc::kill(*pid as libc::pid_t, signal);
                }
            }
            Some(SignalTarget::Server(s)) => {
                let _ = s.send(signal);
            }
            None => {}
        }
    }
}
