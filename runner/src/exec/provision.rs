//! What goes on a board: the app files of a firmware folder and a per-board `config.json`.

use anyhow::{bail, Context, Result};
use model::payload::Adc;
use model::scenario::{Credentials, FirmwareSettings};
use rig::board::AppFile;
use rig::mqtt::Broker;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Files that belong to the firmware's development, not to the board.
fn deployable(name: &str) -> bool {
    !name.starts_with('.')
        && !name.ends_with(".md")
        && name != "__pycache__"
        && name != "config.json"
        && name != "config.example.json"
}

/// The app's files, with paths relative to the firmware folder.
pub fn app_files(dir: &Path) -> Result<Vec<AppFile>> {
    let mut files = Vec::new();
    collect(dir, dir, &mut files)?;
    if !files.iter().any(|f| f.path == "main.py") {
        bail!(
            "{} has no main.py: --firmware must name a MicroPython app folder (like firmware/app)",
            dir.display()
        );
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<AppFile>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading firmware folder {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !deployable(&name) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let contents =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            files.push(AppFile {
                path: relative,
                contents,
            });
        }
    }
    Ok(())
}

/// The files run as source on the board, as MicroPython's port runs them from its filesystem.
const RUN_AS_SOURCE: [&str; 2] = ["boot.py", "main.py"];

/// The app as ESP8266 projects deploy it to save the chip's RAM: every module but boot.py and main.py compiled
/// by mpy-cross to .mpy (importing a .py compiles it on the chip, which takes more heap than the app itself),
/// for `arch` (`xtensa` for a chip, `x64` for the twin's VM: only native code depends on it). Tracebacks keep
/// the module's file name. A file mpy-cross refuses is an error carrying its message (file and line).
pub fn compile(files: &[AppFile], mpy_cross: &Path, arch: &str) -> Result<Vec<AppFile>> {
    let dir = rig::scratch::tempdir("mpy-")?;
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let Some(stem) = file.path.strip_suffix(".py") else {
            out.push(file.clone());
            continue;
        };
        if RUN_AS_SOURCE.contains(&file.path.as_str()) {
            out.push(file.clone());
            continue;
        }
        let source = dir.path().join("in.py");
        let target = dir.path().join("out.mpy");
        std::fs::write(&source, &file.contents)?;
        let done = std::process::Command::new(mpy_cross)
            .arg(format!("-march={arch}"))
            .arg("-s")
            .arg(&file.path)
            .arg("-o")
            .arg(&target)
            .arg(&source)
            .output()
            .with_context(|| format!("running {}", mpy_cross.display()))?;
        if !done.status.success() {
            bail!(
                "mpy-cross cannot compile {}: {}",
                file.path,
                String::from_utf8_lossy(&done.stderr)
                    .trim()
                    .replace("in.py", &file.path)
            );
        }
        out.push(AppFile {
            path: format!("{stem}.mpy"),
            contents: std::fs::read(&target)?,
        });
    }
    Ok(out)
}

/// The app's files as they go on the boards: modules compiled to .mpy by the runtime's mpy-cross (for the chip on
/// a rig, for the VM on the twin), or as source when asked or when the twin runs CPython.
pub fn deployed_app(
    firmware: &Path,
    runtime: &twin::FirmwareRuntime,
    source: bool,
    on_rig: bool,
) -> Result<Vec<AppFile>> {
    let files = app_files(firmware)?;
    for finding in super::chip_api::scan(&files) {
        eprintln!(
            "warning: {}: {finding} (the twin's VM has it: the run cannot show this)",
            firmware.display()
        );
    }
    match runtime {
        twin::FirmwareRuntime::MicroPython { installed, .. } if !source => compile(
            &files,
            &twin::FirmwareRuntime::mpy_cross(installed),
            if on_rig { "xtensa" } else { "x64" },
        ),
        _ => Ok(files),
    }
}

/// The apps of one run, each built once: `--firmware`'s, and each folder a scenario's `[firmware] app` names.
pub struct Apps {
    default: Vec<AppFile>,
    by_folder: BTreeMap<PathBuf, Vec<AppFile>>,
}

impl Apps {
    /// Builds (as `deployed_app` does) the default app and every other folder the scenarios name.
    pub fn build(
        default: &Path,
        scenarios: &[model::scenario::Scenario],
        runtime: &twin::FirmwareRuntime,
        source: bool,
        on_rig: bool,
    ) -> Result<Apps> {
        let mut by_folder = BTreeMap::new();
        for folder in scenarios.iter().filter_map(|s| s.firmware.app.as_ref()) {
            if !by_folder.contains_key(folder) {
                let files = deployed_app(folder, runtime, source, on_rig)
                    .with_context(|| format!("building {}", folder.display()))?;
                by_folder.insert(folder.clone(), files);
            }
        }
        Ok(Apps {
            default: deployed_app(default, runtime, source, on_rig)?,
            by_folder,
        })
    }

    /// Only the one app, for every scenario (benchmarks of the project's firmware).
    pub fn only(files: Vec<AppFile>) -> Apps {
        Apps {
            default: files,
            by_folder: BTreeMap::new(),
        }
    }

    /// For the run's banner: ` + FOLDER, … where scenarios name them`, or nothing.
    pub fn named(&self) -> String {
        if self.by_folder.is_empty() {
            return String::new();
        }
        let folders: Vec<String> = self
            .by_folder
            .keys()
            .map(|f| f.display().to_string())
            .collect();
        format!(" + {} where scenarios name them", folders.join(", "))
    }

    /// The files of the app the scenario runs.
    pub fn of(&self, scenario: &model::scenario::Scenario) -> Result<&[AppFile]> {
        match &scenario.firmware.app {
            None => Ok(&self.default),
            Some(folder) => self
                .by_folder
                .get(folder)
                .map(Vec::as_slice)
                .with_context(|| {
                    format!(
                        "{} was not built for this run (a scenario loaded after the run started?)",
                        folder.display()
                    )
                }),
        }
    }
}

/// Where a board sends its readings and how it converts them.
pub struct BoardConfig<'a> {
    pub device_id: &'a str,
    pub topic_prefix: &'a str,
    pub broker: &'a Broker,
    /// Where the board connects: the tap in front of the broker.
    pub mqtt_addr: std::net::SocketAddr,
    pub wifi_ssid: &'a str,
    pub wifi_password: &'a rig::secret::Secret,
    pub adc: Adc,
    pub firmware: &'a FirmwareSettings,
}

impl BoardConfig<'_> {
    /// The board's `config.json` (firmware/README.md documents its keys). It carries the broker and WiFi
    /// passwords, so it only ever goes to the board, never into events or reports.
    pub fn to_file(&self) -> AppFile {
        let f = self.firmware;
        let password = match f.credentials {
            Credentials::Valid => Some(self.broker.password.expose().to_string()),
            Credentials::WrongPassword => Some(format!("{}-wrong", self.broker.password.expose())),
            Credentials::None => None,
        };
        let config = json!({
            "device_id": self.device_id,
            "wifi": {"ssid": self.wifi_ssid, "password": self.wifi_password.expose()},
            "broker": {
                "host": self.mqtt_addr.ip().to_string(),
                "port": self.mqtt_addr.port(),
                "username": self.broker.username,
                "password": password,
                "client_id": self.device_id,
            },
            "topic_prefix": self.topic_prefix,
            "sleep_ms": f.sleep_ms,
            "keepalive_s": f.keepalive_s,
            "adc": {"divider": self.adc.divider, "full_scale_volts": self.adc.full_scale_volts},
            "samples": f.samples,
            "low_battery_volts": f.low_battery_volts,
            "qos": f.qos,
            "legacy_keepalive_zero": f.legacy_keepalive_zero,
        });
        AppFile {
            path: "config.json".into(),
            contents: config.to_string().into_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_files_skip_development_files_and_need_main() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.py"), "print(1)").unwrap();
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        std::fs::write(dir.path().join("README.md"), "# the app").unwrap();
        std::fs::create_dir(dir.path().join("__pycache__")).unwrap();
        std::fs::write(dir.path().join("__pycache__/x.pyc"), "").unwrap();
        std::fs::create_dir(dir.path().join("lib")).unwrap();
        std::fs::write(dir.path().join("lib/m.py"), "").unwrap();
        let names: Vec<String> = app_files(dir.path())
            .unwrap()
            .into_iter()
            .map(|f| f.path)
            .collect();
        assert_eq!(names, ["lib/m.py", "main.py"]);
        std::fs::remove_file(dir.path().join("main.py")).unwrap();
        assert!(app_files(dir.path())
            .unwrap_err()
            .to_string()
            .contains("no main.py"));
    }
}
