//! Where a board known by its MAC is, and finding it again when its port goes away: by the USB identity of the
//! adapter it was last found on, which leaves the chip running, else by MAC, which resets it. Shared by a board
//! and its console reader, which follows the board to its new port; what happens is told as [`PortNotice`]s.

use super::chip::Locating;
use super::error::LocateError;
use super::locate::{Found, PortFinder, ProbeMac};
use super::reset_lines::ResetLines;
use super::usb_id::UsbId;
use super::{FoundBy, Mac, PortNotice};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// The port a board is on now, shared by the board and its console reader: it moves when the board is found
/// elsewhere.
#[derive(Clone)]
pub struct CurrentPort(Arc<Mutex<PathBuf>>);

impl CurrentPort {
    pub fn new(port: &Path) -> Self {
        CurrentPort(Arc::new(Mutex::new(port.to_path_buf())))
    }

    pub fn get(&self) -> PathBuf {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set(&self, port: &Path) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = port.to_path_buf();
    }
}

/// Everything that finds one board again, cloned into its console reader.
#[derive(Clone)]
pub struct Locator {
    name: String,
    port: CurrentPort,
    /// The board's reset lines where its port has none; None: each port's own.
    lines: Option<Arc<dyn ResetLines>>,
    mac: Mac,
    /// The port the board was first said to be on: looked at first, whatever port the board was found on since
    /// (a port that went away may come back as another device's; a hint is what the rig's owner vouched for).
    hint: PathBuf,
    finder: Arc<PortFinder>,
    /// The serial number of the board's USB-serial adapter, when the rig names it: the board is taken only there.
    usb_serial: Option<String>,
    /// The USB identity of the adapter the board was last found on by MAC.
    usb: Arc<Mutex<Option<UsbId>>>,
    probe: Arc<dyn ProbeMac>,
    notices: mpsc::UnboundedSender<PortNotice>,
}

impl Locator {
    /// Finds the board named `name` as `locating` says, its chip asked by `probe`; the board's current `port` is its
    /// hint.
    pub fn new(
        name: &str,
        port: CurrentPort,
        lines: Option<Arc<dyn ResetLines>>,
        locating: Locating,
        probe: Arc<dyn ProbeMac>,
        notices: mpsc::UnboundedSender<PortNotice>,
    ) -> Self {
        Locator {
            name: name.to_string(),
            hint: port.get(),
            port,
            lines,
            mac: locating.mac,
            finder: locating.finder,
            usb_serial: locating.usb_serial,
            usb: Arc::default(),
            probe,
            notices,
        }
    }

    pub fn mac(&self) -> Mac {
        self.mac
    }

    fn known_usb(&self) -> Option<UsbId> {
        self.usb.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Looks for the board by MAC, first on the port with its `usb_serial` if there is one, else on its hint; the
    /// chip is left as the probe leaves the chip it looked for. Records the USB identity of the port it answered on.
    pub async fn locate(&self) -> Result<Found, LocateError> {
        let finder = &self.finder;
        finder.release(&self.port.get());
        let hint = (self.usb_serial.as_deref())
            .and_then(|serial| finder.with_usb_serial(serial))
            .unwrap_or_else(|| self.hint.clone());
        let mut found = finder
            .find(
                &self.name,
                self.mac,
                &hint,
                self.lines.as_ref(),
                self.probe.as_ref(),
            )
            .await?;
        let usb = finder.usb_id(&found.port, &self.hint);
        if let Some(want) = &self.usb_serial {
            if !matches!(&usb, Ok(id) if id.serial_number() == want) {
                finder.release(&found.port);
                let shows = match &usb {
                    Ok(id) => format!("whose adapter is {id}"),
                    Err(why) => why.to_string(),
                };
                return Err(LocateError::WrongAdapter {
                    board: self.name.clone(),
                    mac: self.mac,
                    port: found.port,
                    shows,
                    want: want.clone(),
                });
            }
        }
        // Said again, as a warning, if the port does go away.
        if let Err(why) = &usb {
            tracing::info!(
                "{}: {why}: if its port goes away mid-run, the board is found again by MAC, which resets it",
                self.name
            );
        }
        found.usb = usb.ok();
        *self.usb.lock().unwrap_or_else(|e| e.into_inner()) = found.usb.clone();
        self.port.set(&found.port);
        Ok(found)
    }

    /// How the board will be looked for now.
    fn looked_for_by(&self) -> FoundBy {
        if self.known_usb().is_some() {
            FoundBy::Usb
        } else {
            FoundBy::Mac
        }
    }

    /// Tells that the board's port went away.
    pub fn notify_lost(&self) {
        let by = self.looked_for_by();
        if by == FoundBy::Mac {
            tracing::warn!(
                "{}: its port {} went away and no USB identity is known for it: it is looked for by MAC, which \
                 resets the chip",
                self.name,
                self.port.get().display()
            );
        }
        let _ = self.notices.send(PortNotice::Lost {
            board: self.name.clone(),
            port: self.port.get(),
            by,
        });
    }

    /// Looks for the board again after its port went away and says where it was found: by its adapter's USB
    /// identity when one is known (the chip is not touched), else by MAC (the chip is left as the probe leaves it).
    pub async fn relocate(&self) -> Result<(Found, FoundBy), LocateError> {
        let finder = &self.finder;
        let by_usb = match self.known_usb() {
            Some(id) => {
                finder.release(&self.port.get());
                match finder.find_by_usb(&id, &self.name) {
                    Ok(Some(found)) => Some(found),
                    Ok(None) => {
                        return Err(LocateError::NotBack {
                            board: self.name.clone(),
                            id,
                        })
                    }
                    Err(why) => {
                        tracing::warn!(
                            "{}: {why}: looking for the board by MAC, which resets it",
                            self.name
                        );
                        None
                    }
                }
            }
            None => None,
        };
        let (found, by) = match by_usb {
            Some(found) => {
                self.port.set(&found.port);
                (found, FoundBy::Usb)
            }
            None => (self.locate().await?, FoundBy::Mac),
        };
        let _ = self.notices.send(PortNotice::Found {
            board: self.name.clone(),
            mac: self.mac.to_string(),
            port: found.port.clone(),
            scanned: found.scanned,
            by,
            usb: found.usb.as_ref().map(UsbId::to_string),
        });
        Ok((found, by))
    }
}
