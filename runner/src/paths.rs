//! Where the project's files are: the firmware app, its host runtime and the scenarios.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The project checkout this `hil` was built from, unless HIL_PROJECT_ROOT points elsewhere.
pub fn project_root() -> PathBuf {
    match std::env::var_os("HIL_PROJECT_ROOT") {
        Some(root) => PathBuf::from(root),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
    }
}

pub fn default_firmware() -> PathBuf {
    project_root().join("firmware").join("app")
}

pub fn host_runtime() -> PathBuf {
    project_root().join("firmware").join("host").join("run.py")
}

/// `scenarios/` in the current folder if there is one, else the project's.
pub fn default_scenarios() -> PathBuf {
    let here = PathBuf::from("scenarios");
    if here.is_dir() {
        here
    } else {
        project_root().join("scenarios")
    }
}

/// The CPython that runs twin boards (HIL_PYTHON, default `python3`), resolved once to the interpreter itself:
/// version-manager shims (pyenv) cost ~50 ms per start, which device time multiplies by the speed.
pub fn python() -> PathBuf {
    static RESOLVED: OnceLock<PathBuf> = OnceLock::new();
    RESOLVED
        .get_or_init(|| {
            let named = std::env::var_os("HIL_PYTHON")
                .map_or_else(|| PathBuf::from("python3"), PathBuf::from);
            std::process::Command::new(&named)
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
                .filter(|p| p.is_file())
                .unwrap_or(named)
        })
        .clone()
}

/// Where `hil` keeps what it must remember between runs: HIL_STATE_DIR, else $XDG_STATE_HOME/hil, else
/// ~/.local/state/hil (the XDG base directory default), else a folder under the system's temporary directory.
pub fn state_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("HIL_STATE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(xdg) = var("XDG_STATE_HOME") {
        return PathBuf::from(xdg).join("hil");
    }
    match var("HOME") {
        Some(home) => PathBuf::from(home).join(".local/state/hil"),
        None => std::env::temp_dir().join("hil-state"),
    }
}

/// The per-MAC records of the image this rig flashed onto each board.
pub fn flash_records() -> PathBuf {
    state_dir().join("flashed")
}
