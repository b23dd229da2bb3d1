//! A watchdog process that makes a rig's supplies safe if `hil run` dies without doing so itself.
//!
//! The run makes every channel safe on each exit path it controls (end, failure, Ctrl-C, SIGTERM, a panic in a
//! task). What it cannot control — SIGKILL, an abort, the OOM killer, a panic on the main thread — ends the
//! process with the outputs as they were. So a run on a rig first starts this guard: a second `hil` process, in
//! a process group of its own (a Ctrl-C in the terminal is the run's to handle, not the guard's), holding the
//! read end of a pipe. A run that finishes writes `disarm` and closes the pipe; if the pipe closes without it,
//! the run died, and the guard opens the rig's supplies and puts every channel the run held into the rig's safe
//! state (`safe_volts`, else output off), and no other: another run may be using the rest of the bench. It
//! inherits the run's channel locks, so a new run cannot take those channels before the guard is done with them.

use crate::exec::RigDrivers;
use crate::plan::RigChannel;
use crate::rigfile::{BenchLock, RigFile};
use anyhow::{bail, Context, Result};
use model::diagnostic::UserTomlFile;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const DISARM: &[u8] = b"disarm\n";
/// How long a disarmed guard may take to exit.
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// The run's end of the pipe to its guard.
pub struct SafetyGuard {
    child: Child,
    pipe: Option<ChildStdin>,
}

impl SafetyGuard {
    /// Starts the guard of `channels` of the rig file at `rig`: `hil safety-guard --rig FILE --channel
    /// SUPPLY:N…`. It inherits the locks' descriptors, so they outlive a killed run until the guard has made
    /// the channels safe.
    pub fn arm(rig: &Path, channels: &[RigChannel], locks: &[BenchLock]) -> Result<SafetyGuard> {
        let exe =
            std::env::current_exe().context("finding the hil executable for its safety guard")?;
        let lock_fds: Vec<_> = locks.iter().map(BenchLock::fd).collect();
        let mut command = Command::new(exe);
        command.arg("safety-guard").arg("--rig").arg(rig);
        for channel in channels {
            command.arg("--channel").arg(channel.to_string());
        }
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0);
        // SAFETY: between fork and exec the child only clears the close-on-exec flag of descriptors it
        // inherited; fcntl is async-signal-safe.
        unsafe {
            command.pre_exec(move || {
                for &lock_fd in &lock_fds {
                    let flags = libc::fcntl(lock_fd, libc::F_GETFD);
                    if flags < 0
                        || libc::fcntl(lock_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .context("starting the safety guard process")?;
        let pipe = child.stdin.take();
        Ok(SafetyGuard { child, pipe })
    }

    /// The run made the bench safe itself: the guard exits without touching it. Its exit is awaited, not
    /// waited for on the runtime's thread.
    pub async fn disarm(mut self) {
        if let Some(mut pipe) = self.pipe.take() {
            // Seven bytes into a pipe nobody else writes: the write cannot block.
            if let Err(e) = pipe.write_all(DISARM) {
                tracing::warn!("disarming the safety guard: {e}");
            }
        }
        let deadline = Instant::now() + EXIT_WAIT;
        while Instant::now() < deadline {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
        tracing::warn!("the safety guard did not exit within {EXIT_WAIT:?}");
    }
}

/// The guard's side: waits for the run's pipe to close; unless it was disarmed, makes the run's `channels` of
/// the rig safe. Returns whether it acted. The pipe is read on a blocking thread: the wait lasts as long as the
/// run.
pub async fn watch(
    rig_path: &Path,
    channels: &[RigChannel],
    pipe: impl Read + Send + 'static,
) -> Result<bool> {
    // Loaded now, while the run is alive, so a rig file edited later cannot change what is made safe.
    let rig = RigFile::load(rig_path).map_err(|d| anyhow::anyhow!("{}", d.render()))?;
    let received = tokio::task::spawn_blocking(move || {
        let mut received = Vec::new();
        pipe.take(64).read_to_end(&mut received).map(|_| received)
    })
    .await
    .context("the thread reading the run's pipe")?
    .context("reading the run's pipe")?;
    if received == DISARM {
        return Ok(false);
    }
    make_channels_safe(&rig, channels).await?;
    Ok(true)
}

/// The run's channels, into the rig's safe state; tries all before reporting failures.
async fn make_channels_safe(rig: &RigFile, channels: &[RigChannel]) -> Result<()> {
    let mut drivers = RigDrivers::default();
    let mut failures = Vec::new();
    for RigChannel {
        supply: name,
        channel,
    } in channels
    {
        let (name, channel) = (name.as_str(), *channel);
        let Some(entry) = rig.supplies.get(name) else {
            failures.push(format!(
                "{name}:{channel}: no [supply.{name}] in the rig file"
            ));
            continue;
        };
        let made_safe = match drivers.channel(entry, channel) {
            Ok(bench_channel) => bench_channel.make_safe(None).await,
            Err(e) => Err(e),
        };
        match made_safe {
            Ok(()) => eprintln!(
                "hil safety guard: the run ended without making the bench safe; {name}:{channel} is now {}",
                entry
                    .safe_volts
                    .map_or_else(|| "off".to_string(), |volts| format!("at {volts} V"))
            ),
            Err(e) => failures.push(format!("{name}:{channel}: {e:#}")),
        }
    }
    if !failures.is_empty() {
        bail!(
            "could not make the bench safe — check it by hand: {}",
            failures.join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rig::testing::ticks_during;
    use std::os::unix::net::UnixStream;

    #[tokio::test]
    async fn disarming_awaits_the_guards_exit_without_stalling_other_tasks() {
        // A guard that reads its pipe to the end, then takes a while to exit.
        let mut child = Command::new("sh")
            .args(["-c", "cat >/dev/null; sleep 0.2"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let pipe = child.stdin.take();
        let ((), ticks) = ticks_during(SafetyGuard { child, pipe }.disarm()).await;
        assert!(ticks >= 10, "other tasks ran {ticks} times in the wait");
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "disarm returned before the guard exited"
        );
    }

    #[tokio::test]
    async fn watching_the_pipe_leaves_the_runtimes_thread_to_other_tasks() {
        let dir = tempfile::tempdir().unwrap();
        let rig = dir.path().join("rig.toml");
        std::fs::write(
            &rig,
            "[supply.psu]\ndriver = \"scpi\"\nmodel = \"rigol-dp832\"\naddress = \"tcp://127.0.0.1:5555\"\n\
             channels = { 1 = { max_volts = 15.0, max_amps = 1.0 } }\n",
        )
        .unwrap();
        let (guard_end, mut run_end) = UnixStream::pair().unwrap();
        let run = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            run_end.write_all(DISARM).unwrap();
        });
        let (acted, ticks) = ticks_during(watch(&rig, &[], guard_end)).await;
        assert!(
            !acted.unwrap(),
            "disarmed: the guard leaves the bench alone"
        );
        assert!(ticks >= 10, "other tasks ran {ticks} times in the wait");
        run.join().unwrap();
    }
}
