//! Child processes the rig starts (a spawned broker, twin boards' host runtimes) die with it, so a run killed with
//! `kill -9` leaves nothing behind on the bench machine.

use std::io;
use tokio::process::Command;

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
