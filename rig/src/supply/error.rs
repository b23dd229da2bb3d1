//! Why a supply call failed. Every message starts with the instrument's name and names the command and, where the
//! link is at fault, the address; callers tell the cases apart by variant.

use super::address::Address;
use super::limits::ChannelError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SupplyError {
    /// The rig file's address does not parse, or the driver cannot use it; nothing was opened. `reason` is in the
    /// driver's words: drivers outside rig refuse addresses for reasons of their own.
    #[error("{instrument}: {reason}")]
    Address { instrument: String, reason: String },
    /// The driver does not drive the model it was given.
    #[error("{instrument}: {error}")]
    Driver {
        instrument: String,
        error: DriverError,
    },
    /// A channel or a setting was refused before anything was sent.
    #[error("{instrument}: {error}")]
    Channel {
        instrument: String,
        error: ChannelError,
    },
    /// The port could not be opened or connected.
    #[error("{instrument}: connecting to {address}: {error}")]
    Connect {
        instrument: String,
        address: Address,
        error: std::io::Error,
    },
    /// The link failed under a command (closed, reset, cut short): worth one reconnection.
    #[error("{instrument}: `{command}` on {address}: the link failed: {error}")]
    LinkDropped {
        instrument: String,
        command: String,
        address: Address,
        error: std::io::Error,
    },
    /// A dropped link could not be brought back.
    #[error("{instrument}: reconnecting after `{command}` failed: {error}")]
    Reconnect {
        instrument: String,
        command: String,
        error: Box<SupplyError>,
    },
    /// Nothing came back in the call's time.
    #[error("{instrument}: no answer to `{command}` from {address} within {secs} s")]
    Timeout {
        instrument: String,
        command: String,
        address: Address,
        secs: f64,
    },
    /// The instrument understood the command and refused it; the link is fine.
    #[error("{instrument}: `{command}` was refused: {reason}")]
    Refused {
        instrument: String,
        command: String,
        reason: String,
    },
    /// The instrument took a setting without an error, but reading it back shows it ignored it.
    #[error("{instrument}: `{command}` was not taken: {evidence}")]
    NotTaken {
        instrument: String,
        command: String,
        evidence: String,
    },
    /// A reply that is not what the command asks for (garbage, the wrong length or kind).
    #[error("{instrument}: `{command}`{} answered {answer}", following(.after))]
    BadReply {
        instrument: String,
        command: String,
        /// The command this one followed, where the reply is about it (a read-back after a setting).
        after: Option<String>,
        answer: String,
    },
    /// The instrument is not the one the rig file describes; nothing was written.
    #[error("{instrument}: {found}; nothing was written")]
    WrongInstrument { instrument: String, found: String },
    /// A setting within the channel's limits that the instrument cannot represent.
    #[error("{instrument}: {value} does not fit {target}; nothing was sent")]
    DoesNotFit {
        instrument: String,
        value: f64,
        target: String,
    },
}

fn following(command: &Option<String>) -> String {
    command
        .as_ref()
        .map(|c| format!(" after `{c}`"))
        .unwrap_or_default()
}

impl SupplyError {
    /// Whether the link itself failed, so that a fresh connection may succeed where the used one did not.
    pub fn is_link_failure(&self) -> bool {
        matches!(self, SupplyError::LinkDropped { .. })
    }

    /// Whether the connection is still in step after this error: the instrument answered, if only to refuse.
    pub(crate) fn leaves_link_in_step(&self) -> bool {
        matches!(self, SupplyError::Refused { .. })
    }
}

/// An instrument's reply as it appears in an error message: quoted, escaped and cut short.
pub(crate) fn shown(reply: &str) -> String {
    const MAX_SHOWN: usize = 80;
    match reply.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{:?}…", &reply[..cut]),
        None => format!("{reply:?}"),
    }
}

/// Why a `driver`/`model` pair names no driver; the message lists what is valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DriverError {
    #[error("driver {driver:?} is not supported; valid drivers: {valid}")]
    UnknownDriver { driver: String, valid: String },
    #[error("unknown model {model:?} for driver {driver:?}; valid: {valid}")]
    UnknownModel {
        driver: String,
        model: String,
        valid: String,
    },
}
