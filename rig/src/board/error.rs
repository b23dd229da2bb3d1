//! What goes wrong with a board, by kind, each message naming the board and the step: flashing ([`FlashError`]),
//! and any step of a board ([`BoardError`]): flashing, the raw REPL ([`ReplError`]), finding the board
//! ([`LocateError`]), its reset lines ([`LinesError`]) and its port; and what finding a board's port runs into on
//! the way ([`ScanPatternError`], [`UsbIdError`]).

use super::raw_repl::ReplError;
use super::reset_lines::LinesError;
use super::usb_id::UsbId;
use super::Mac;
use std::io;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BoardError {
    #[error(transparent)]
    Flash(#[from] FlashError),
    #[error(transparent)]
    Repl(#[from] ReplError),
    #[error(transparent)]
    Locate(#[from] LocateError),
    #[error("{board}: {step} {}: {error}", port.display())]
    Port {
        board: String,
        port: PathBuf,
        /// What was done to the port: opening it, taking its DTR/RTS, reading the ROM banner on it.
        step: &'static str,
        error: io::Error,
    },
    #[error(transparent)]
    Lines(#[from] LinesError),
    #[error("{board}: the board was stopped")]
    Stopped { board: String },
    #[error("{board}: refusing to deploy {path:?} outside the board's filesystem")]
    OutsideFilesystem { board: String, path: String },
    #[error("{board}: writing {path}: {error}")]
    Write {
        board: String,
        path: String,
        error: io::Error,
    },
    #[error("{board}: the twin board did not stop within {seconds} s")]
    NotStopped { board: String, seconds: u64 },
}

/// Flashing through a chip's serial loader: the loader's answers (or their absence) and what the image and the
/// flash hold.
#[derive(Debug, Error)]
pub enum FlashError {
    #[error("{board}: no answer to SYNC after {tries} tries: is the board in its serial loader (GPIO0 low at reset)?")]
    NoSync { board: String, tries: usize },
    #[error("{board}: {step}: no answer within {seconds:.1} s")]
    Timeout {
        board: String,
        step: String,
        seconds: f64,
    },
    #[error("{board}: {step}: the chip answered status {status} error 0x{code:02X} ({meaning})")]
    Refused {
        board: String,
        step: String,
        status: u8,
        code: u8,
        meaning: &'static str,
    },
    /// Bytes that do not fit the protocol: bad framing, a malformed response, a digest of the wrong length.
    #[error("{board}: {step}: {detail}")]
    BadReply {
        board: String,
        step: String,
        detail: String,
    },
    #[error("{board}: chip detect: {detail}")]
    WrongChip { board: String, detail: String },
    #[error("{board}: read MAC: {detail}")]
    NoMac { board: String, detail: String },
    #[error("{board}: the image to flash: {reason}")]
    ImageInvalid { board: String, reason: String },
    #[error("{board}: flash offset 0x{offset:X} is not on a 4 KiB sector")]
    Misaligned { board: String, offset: u32 },
    #[error("{board}: flash: the chip on this port is {found}, not {want}: nothing written")]
    WrongBoard {
        board: String,
        found: super::Mac,
        want: super::Mac,
    },
    #[error("{board}: verify: flash MD5 {got:02x?} differs from the image's {want:02x?}")]
    VerifyMismatch {
        board: String,
        got: [u8; 16],
        want: [u8; 16],
    },
    #[error("{board}: {step}: {error}")]
    Port {
        board: String,
        step: String,
        error: io::Error,
    },
    #[error("{board}: {step}: the port closed")]
    Closed { board: String, step: String },
    #[error("{board}: the flasher stub from {} sent no OHAI within {seconds:.0} s of its start: flashing through the ROM instead (reinstall esptool or correct `[boards] stub` in the rig file)", path.display())]
    StubSilent {
        board: String,
        path: std::path::PathBuf,
        seconds: f64,
    },
    #[error("{board}: compressing the image: {error}")]
    Compress { board: String, error: io::Error },
    #[error("{board}: recording the image flashed: {error}")]
    Record {
        board: String,
        error: super::flash_records::RecordError,
    },
}

/// Why a board was not found, or not taken where it answered.
#[derive(Debug, Error)]
pub enum LocateError {
    #[error("{board}: finding the board by MAC {mac}: {hint}; {scan}")]
    NotFound {
        board: String,
        mac: Mac,
        /// What its hint said.
        hint: String,
        /// What the scan found on each port.
        scan: String,
    },
    #[error(
        "{board}: MAC {mac} answered on {}, {shows}; the rig file names its adapter usb_serial = {want:?} \
         (correct usb_serial, or put the board back on that adapter)",
        port.display()
    )]
    WrongAdapter {
        board: String,
        mac: Mac,
        port: PathBuf,
        /// What the port's adapter is (or why that is not known).
        shows: String,
        want: String,
    },
    #[error("{board}: no port shows {id} yet")]
    NotBack { board: String, id: UsbId },
    #[error("{board}: no MAC to find the board by")]
    NoMac { board: String },
}

/// A rig file's scan pattern that is no shell glob.
#[derive(Debug, Error)]
#[error("scan pattern {pattern:?}: {error}")]
pub struct ScanPatternError {
    pub pattern: String,
    pub error: glob::PatternError,
}

/// Why a port's USB identity does not tell it apart from the other ports the scan matches.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UsbIdError {
    #[error(
        "{} shows no USB identity (no USB device in sysfs, no by-id link to it among {scan:?})",
        port.display()
    )]
    Unknown { port: PathBuf, scan: Vec<String> },
    #[error("{} and {} show the same USB identity {id}: it does not tell them apart", port.display(), listed(others))]
    Shared {
        port: PathBuf,
        /// The other ports with that identity.
        others: Vec<PathBuf>,
        id: UsbId,
    },
    #[error("{id} is on {} ports ({})", ports.len(), listed(ports))]
    OnSeveralPorts { id: UsbId, ports: Vec<PathBuf> },
}

fn listed(ports: &[PathBuf]) -> String {
    let shown: Vec<String> = ports.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}
