//! Finding a board's port by its MAC: a USB-serial adapter enumerates wherever the kernel puts it (and again
//! elsewhere after a replug), so a rig names each board by MAC and gives a port only as a hint. The hint is
//! tried first; then every candidate port the scan patterns match, each asked for its MAC the way the board's chip
//! answers it ([`ProbeMac`]). A port that answers another MAC is never taken. Asking resets the chip, so a board
//! found once is found again by its adapter's USB identity ([`UsbId`]), which nothing needs to ask the chip for.

use super::error::{FlashError, LocateError, ScanPatternError, UsbIdError};
use super::reset_lines::{LinesError, ResetLines};
use super::usb_id::UsbId;
use super::Mac;
use async_trait::async_trait;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Where USB-serial adapters appear on Linux: udev's stable names first, then the raw device nodes.
pub const DEFAULT_SCAN: &[&str] = &["/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*"];

/// Whether `pattern` is a usable scan pattern (a shell glob); the error says why not.
pub fn check_pattern(pattern: &str) -> Result<(), ScanPatternError> {
    glob::Pattern::new(pattern)
        .map(|_| ())
        .map_err(|error| ScanPatternError {
            pattern: pattern.into(),
            error,
        })
}

/// Where a board was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub port: PathBuf,
    /// False when the hint was right.
    pub scanned: bool,
    /// The USB identity of the port's adapter, when known and no other port the scan matches shows it too.
    pub usb: Option<UsbId>,
}

/// How a chip tells its MAC on a port: for the ESP8266, through its ROM loader.
#[async_trait]
pub trait ProbeMac: Send + Sync {
    /// Asks the chip on `port` for its MAC. The chip is left ready for the board's next step when it is `want`,
    /// and put back to what it was doing otherwise. `lines`: the board's reset lines where its port has none (a
    /// twin's side channel); None: the port's own.
    async fn probe(
        &self,
        port: &Path,
        board: &str,
        lines: Option<&Arc<dyn ResetLines>>,
        want: Mac,
    ) -> Result<Mac, ProbeError>;
}

/// Why a port did not tell a MAC.
#[derive(Debug, Error)]
pub enum ProbeError {
    #[error("{board}: {step} {}: {error}", port.display())]
    Port {
        board: String,
        port: PathBuf,
        /// What was done to the port: opening it, taking its DTR/RTS.
        step: &'static str,
        error: std::io::Error,
    },
    #[error(transparent)]
    Lines(#[from] LinesError),
    #[error(transparent)]
    Loader(#[from] FlashError),
}

impl ProbeError {
    /// Whether another program holds the port.
    fn busy(&self) -> bool {
        matches!(self, ProbeError::Port { error, .. } if error.kind() == std::io::ErrorKind::ResourceBusy)
    }
}

/// A port the scan patterns match: its device (links resolved) and the USB identity it shows, if any.
struct ScannedPort {
    device: PathBuf,
    usb: Option<UsbId>,
}

/// The ports of one bench's boards: who holds which, and where to look for the others. Shared by the boards of
/// a run, across the scenarios a packed run holds at once, so that a scan never probes a port another board of
/// the run was found on (probing resets a chip).
pub struct PortFinder {
    scan: Vec<String>,
    /// Each claimed port's device and the board found on it.
    claimed: Mutex<BTreeMap<PathBuf, String>>,
    /// Boards are found side by side on their hints, but scan one at a time: two boards probing one port would
    /// each find it busy.
    scanning: tokio::sync::Mutex<()>,
}

impl PortFinder {
    pub fn new(scan: Vec<String>) -> Self {
        PortFinder {
            scan,
            claimed: Mutex::new(BTreeMap::new()),
            scanning: tokio::sync::Mutex::new(()),
        }
    }

    fn claimed(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, String>> {
        self.claimed.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_claimed(&self, device: &Path) -> bool {
        self.claimed().contains_key(device)
    }

    /// Gives up the port `board` was found on, if any (its scenario ended: a later one finds it again).
    pub fn release_board(&self, board: &str) {
        self.claimed().retain(|_, holder| holder != board);
    }

    /// Gives up a port a board was found on (it went away).
    pub fn release(&self, port: &Path) {
        self.claimed().remove(&canonical(port));
    }

    /// Every port the scan patterns match now, each device once, with the identity any of its names shows.
    fn scanned(&self) -> Vec<ScannedPort> {
        let mut out: Vec<ScannedPort> = Vec::new();
        for pattern in &self.scan {
            let Ok(paths) = glob::glob(pattern) else {
                continue;
            };
            for path in paths.flatten() {
                let device = canonical(&path);
                let usb = UsbId::of_port(&path, &device);
                match out.iter_mut().find(|p| p.device == device) {
                    Some(seen) => seen.usb = seen.usb.take().or(usb),
                    None => out.push(ScannedPort { device, usb }),
                }
            }
        }
        out
    }

    /// Every port the scan patterns match now, as device paths (links resolved), each once, none claimed.
    pub fn candidates(&self) -> Vec<PathBuf> {
        let claimed: BTreeSet<PathBuf> = self.claimed().keys().cloned().collect();
        self.scanned()
            .into_iter()
            .map(|p| p.device)
            .filter(|d| !claimed.contains(d))
            .collect()
    }

    /// The one unclaimed port whose adapter has USB serial number `serial`, if exactly one has.
    pub fn with_usb_serial(&self, serial: &str) -> Option<PathBuf> {
        let claimed: BTreeSet<PathBuf> = self.claimed().keys().cloned().collect();
        let mut matching = self.scanned().into_iter().filter(|p| {
            !claimed.contains(&p.device)
                && p.usb.as_ref().is_some_and(|u| u.serial_number() == serial)
        });
        match (matching.next(), matching.next()) {
            (Some(one), None) => Some(one.device),
            _ => None,
        }
    }

    /// The USB identity of the adapter behind `port` (a device a board was found on; `hint`: the path the board
    /// was said to be on, which may be a by-id link outside the scan), when it tells `port` apart from every other
    /// port the scan matches. Err: why it does not.
    pub fn usb_id(&self, port: &Path, hint: &Path) -> Result<UsbId, UsbIdError> {
        let scanned = self.scanned();
        let id = scanned
            .iter()
            .find(|p| p.device == port)
            .and_then(|p| p.usb.clone())
            .or_else(|| {
                [port, hint]
                    .into_iter()
                    .filter(|p| canonical(p) == port)
                    .find_map(|p| UsbId::of_port(p, port))
            })
            .ok_or_else(|| UsbIdError::Unknown {
                port: port.into(),
                scan: self.scan.clone(),
            })?;
        let twins: Vec<PathBuf> = scanned
            .iter()
            .filter(|p| p.device != port && p.usb.as_ref() == Some(&id))
            .map(|p| p.device.clone())
            .collect();
        if twins.is_empty() {
            Ok(id)
        } else {
            Err(UsbIdError::Shared {
                port: port.into(),
                others: twins,
                id,
            })
        }
    }

    /// Claims the one unclaimed port whose adapter shows `id`, touching nothing on it. Ok(None): no port does
    /// (yet); Err: several do, so the identity tells nothing.
    pub fn find_by_usb(&self, id: &UsbId, board: &str) -> Result<Option<Found>, UsbIdError> {
        let claimed: BTreeSet<PathBuf> = self.claimed().keys().cloned().collect();
        let matching: Vec<PathBuf> = self
            .scanned()
            .into_iter()
            .filter(|p| p.usb.as_ref() == Some(id) && !claimed.contains(&p.device))
            .map(|p| p.device)
            .collect();
        match &matching[..] {
            [] => Ok(None),
            [port] => Ok(Some(Found {
                usb: Some(id.clone()),
                ..self.claim(port.clone(), true, board)
            })),
            several => Err(UsbIdError::OnSeveralPorts {
                id: id.clone(),
                ports: several.to_vec(),
            }),
        }
    }

    /// The port where the chip with `mac` answers `probe`: `hint` if it does, else the first candidate that does.
    /// The port is claimed for the board and its chip left as `probe` leaves the chip it looked for. `lines`: the
    /// board's reset lines where its port has none (a twin's side channel); None: each probed port's own.
    pub async fn find(
        &self,
        board: &str,
        mac: Mac,
        hint: &Path,
        lines: Option<&Arc<dyn ResetLines>>,
        probe: &dyn ProbeMac,
    ) -> Result<Found, LocateError> {
        let hint_device = canonical(hint);
        let hint_said = if self.is_claimed(&hint_device) {
            format!("its hint {} is another board's port now", hint.display())
        } else {
            match probe.probe(hint, board, lines, mac).await {
                Ok(got) if got == mac => return Ok(self.claim(hint_device, false, board)),
                Ok(got) => format!("its hint {} answered MAC {got}", hint.display()),
                Err(e) => format!("its hint {} failed: {e}", hint.display()),
            }
        };
        let _scanning = self.scanning.lock().await;
        let mut tried = Vec::new();
        for port in self.candidates() {
            if port == hint_device {
                continue;
            }
            match probe.probe(&port, board, lines, mac).await {
                Ok(got) if got == mac => return Ok(self.claim(port, true, board)),
                Ok(got) => tried.push(format!("{} is {got}", port.display())),
                Err(e) if e.busy() => tried.push(format!("{} is in use", port.display())),
                Err(_) => tried.push(format!("{} did not answer", port.display())),
            }
        }
        let scan = if tried.is_empty() {
            format!("no port free to scan matches {:?}", self.scan)
        } else {
            format!("scanned: {}", tried.join("; "))
        };
        Err(LocateError::NotFound {
            board: board.to_string(),
            mac,
            hint: hint_said,
            scan,
        })
    }

    fn claim(&self, port: PathBuf, scanned: bool, board: &str) -> Found {
        self.claimed().insert(port.clone(), board.to_string());
        Found {
            port,
            scanned,
            usb: None,
        }
    }
}

/// The device a path names (a by-id link's target); the path itself when it does not resolve.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_patterns_are_globs() {
        assert!(check_pattern("/dev/ttyUSB*").is_ok());
        assert!(check_pattern("/dev/[tty")
            .unwrap_err()
            .to_string()
            .contains("scan pattern \"/dev/[tty\""));
    }

    #[test]
    fn candidates_resolve_links_skip_claimed_ports_and_list_each_device_once_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("ttyA"), dir.path().join("ttyB"));
        std::fs::write(&a, "").unwrap();
        std::fs::write(&b, "").unwrap();
        let links = dir.path().join("by-id");
        std::fs::create_dir(&links).unwrap();
        std::os::unix::fs::symlink(&a, links.join("usb-a")).unwrap();
        let finder = PortFinder::new(vec![
            format!("{}/*", links.display()),
            format!("{}/tty*", dir.path().display()),
        ]);
        let a = canonical(&a);
        let b = canonical(&b);
        assert_eq!(finder.candidates(), vec![a.clone(), b.clone()]);
        finder.claim(a.clone(), false, "one");
        assert_eq!(finder.candidates(), vec![b.clone()]);
        finder.release(&a);
        assert_eq!(finder.candidates().len(), 2);
        finder.claim(a.clone(), false, "one");
        finder.claim(b.clone(), true, "two");
        finder.release_board("two");
        assert_eq!(
            finder.candidates(),
            vec![b],
            "only the board's own port is given up"
        );
    }
}
