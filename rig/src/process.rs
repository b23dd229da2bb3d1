//! Child processes the rig starts (a spawned broker, twin boards' host runtimes) die with it, so a run killed with
//! `kill -9` leaves nothing behind on the bench machine.

use std::io;
use std::sync::mpsc as std_mpsc;
use std::sync::{Mutex, OnceLock};
use tokio::process::{Child, Command};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

pub fn die_with_parent(command: &mut Command) -> &mut Command {
    // SAFETY: the closure runs in the forked child before exec and only calls prctl, which is async-signal-safe
    // and changes nothing but the child's own state.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

type SpawnRequest = (Command, Handle, oneshot::Sender<io::Result<Child>>);

/// Starts `command` from one thread that lives as long as the process. The parent-death signal fires when the
/// *thread* that forked exits, so children must not come from Tokio's blocking threads (they end after 10 s idle,
/// killing every board asleep for longer); and fork+exec, which blocks for milliseconds, stays off the async
/// workers, so a hundred boards waking at once do not stall the bench.
pub async fn spawn(command: Command) -> io::Result<Child> {
    static SPAWNER: OnceLock<Mutex<std_mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let sender = SPAWNER.get_or_init(|| {
        let (tx, rx) = std_mpsc::channel::<SpawnRequest>();
        let started = std::thread::Builder::new()
            .name("hil-spawner".into())
            .spawn(move || {
                for (mut command, runtime, reply) in rx {
                    // The child's pipes register with the caller's runtime.
                    let _entered = runtime.enter();
                    let _ = reply.send(command.spawn());
                }
            });
        if let Err(e) = started {
            tracing::error!("cannot start the process spawner thread: {e}");
        }
        Mutex::new(tx)
    });
    let (reply, answer) = oneshot::channel();
    let sent =
        sender
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((command, Handle::current(), reply));
    if sent.is_err() {
        return Err(io::Error::other("the process spawner thread is gone"));
    }
    answer
        .await
        .unwrap_or_else(|_| Err(io::Error::other("the process spawner thread is gone")))
}
