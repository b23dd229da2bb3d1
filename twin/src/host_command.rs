//! What a twin board's host process runs: the interpreter, script and arguments, folder and environment. The
//! fork server and a fresh interpreter start it alike (host_process.rs).

use crate::runtime::FirmwareRuntime;
use model::clock::DeviceClock;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// `python -u` with `argv` in `cwd`, with `env` on top of the rig's: one host process to start.
pub struct HostCommand {
    pub python: PathBuf,
    /// The script, then its arguments.
    pub argv: Vec<OsString>,
    pub cwd: PathBuf,
    /// Set on top of the rig's own environment.
    pub env: Vec<(String, String)>,
    pub stdin_piped: bool,
    /// What a fork server should import once for every such process (the MicroPython VM's folder).
    pub preload: Option<PathBuf>,
}

/// Which board a host process is for, as the environment of firmware/host/PROTOCOL.md tells it.
pub struct BoardProcess<'a> {
    /// `127.0.0.1:PORT` of the process's control socket.
    pub control_addr: &'a str,
    pub board: &'a str,
    pub mac: &'a str,
    pub clock: DeviceClock,
    /// The board's filesystem folder, the process's working directory.
    pub folder: &'a Path,
}

impl HostCommand {
    /// `command` (a runtime's boot or REPL command: arguments and extra environment) as `who`'s process on
    /// `runtime`, with the environment of firmware/host/PROTOCOL.md and the command's own on top.
    pub fn for_board(
        runtime: &FirmwareRuntime,
        (argv, extra_env): (Vec<OsString>, Vec<(String, String)>),
        who: &BoardProcess,
        stdin_piped: bool,
    ) -> HostCommand {
        let mut env: Vec<(String, String)> = vec![
            ("HIL_TWIN_ADDR".into(), who.control_addr.into()),
            ("HIL_BOARD".into(), who.board.into()),
            ("HIL_MAC".into(), who.mac.into()),
            ("HIL_EPOCH".into(), format!("{:.6}", who.clock.epoch_unix())),
            ("HIL_SPEED".into(), who.clock.speed().to_string()),
            ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        ];
        env.extend(extra_env);
        HostCommand {
            python: runtime.python().to_path_buf(),
            argv,
            cwd: who.folder.to_path_buf(),
            env,
            stdin_piped,
            preload: runtime.preload(),
        }
    }

    pub(crate) fn argv_lossy(&self) -> Vec<String> {
        self.argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }
}
