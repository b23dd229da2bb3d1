//! Every scenario file in scenarios/ is one test: `hil run` on it must pass with the project's firmware.
//!
//! On the twin bench (the default) a scenario that requires Mosquitto runs against the system's `mosquitto`,
//! and fails with the install hint where it is missing: CI must not skip it quietly. With HIL_RIG set to a rig
//! file (the lab, nextest profile `lab`), each runs on that bench in real time with the rig's own broker.

mod common;

use common::{project_root, TEST_SPEED};
use libtest_mimic::{Arguments, Failed, Trial};
use model::diagnostic::UserTomlFile;
use model::scenario::{Requirement, Scenario};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let dir = project_root().join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let trials = files
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
            Trial::test(name, move || run(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

/// A program on PATH (or in /usr/sbin, where Debian puts mosquitto).
fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn run(path: &Path) -> Result<(), Failed> {
    let scenario = Scenario::load(path).map_err(|d| d.render())?;
    let report = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hil"));
    cmd.arg("run")
        .arg(path)
        .args(["--quiet", "--speed", TEST_SPEED, "--report"])
        .arg(report.path())
        .env("HIL_LOG", "warn");
    let rig = std::env::var_os("HIL_RIG").filter(|r| !r.is_empty());
    let speed: f64 = TEST_SPEED.parse().map_err(|_| "TEST_SPEED is no number")?;
    let timeout = match &rig {
        Some(rig) => {
            cmd.arg("--rig").arg(rig);
            Duration::from_secs_f64(scenario.duration + 300.0)
        }
        None => {
            if scenario.requires.contains(&Requirement::Mosquitto) {
                if find_program("mosquitto").is_none() {
                    return Err(format!(
                        "{} requires mosquitto, which is not installed: apt-get install -y mosquitto",
                        scenario.name
                    )
                    .into());
                }
                cmd.args(["--broker", "mosquitto"]);
            }
            Duration::from_secs_f64(scenario.duration / speed + 60.0)
        }
    };
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting hil: {e}"))?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(timeout) {
        Ok(out) => out.map_err(|e| e.to_string())?,
        Err(_) => {
            // SIGTERM first: hil turns the supply off and writes what it has before it exits.
            let _ = Command::new("kill").arg(pid.to_string()).status();
            return Err(format!(
                "hil run {} did not finish within {timeout:?}",
                path.display()
            )
            .into());
        }
    };
    if out.status.code() == Some(0) {
        return Ok(());
    }
    Err(format!(
        "hil run {} exited {:?}\n{}{}",
        path.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .into())
}
