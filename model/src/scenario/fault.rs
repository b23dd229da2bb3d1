//! Faults a scenario schedules: what goes wrong, and when.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// The tap refuses keepalive 0 with CONNACK 2, as Mosquitto ≥ 2.0.12.
    StrictKeepalive,
    RefuseConnect(u8),
    BrokerDown,
    DropAfterConnect,
    Delay {
        ms: u64,
    },
    /// The broker's PUBACKs reach the boards this much later.
    PubackDelay {
        ms: u64,
    },
    /// The broker's first PUBACK for each QoS 1 message is lost: only a resend gets one.
    PubackDrop,
    /// The supply's output is off.
    SupplyOff,
    /// The bench's WiFi access point is down (twin bench only).
    WifiOff,
}

pub const FAULT_KINDS: &str = "strict-keepalive, refuse-connect (with rc = 1..5), broker-down, \
     drop-after-connect, delay (with ms), puback-delay (with ms), puback-drop, supply-off, wifi-off";

/// Why a `[[fault]]` entry's kind and parameters do not make a fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    #[error("`{0}` takes no rc or ms")]
    TakesNoParameters(String),
    #[error("rc = {0}: a refusal code is 1..=5 (5 = not authorized)")]
    RefusalCode(u8),
    #[error("refuse-connect needs rc = 1..=5 (and no ms)")]
    RefuseConnectNeedsRc,
    #[error("{0} needs ms = 1..=60000 (and no rc)")]
    NeedsMs(&'static str),
    #[error("unknown fault kind {0:?}; valid kinds: {FAULT_KINDS}")]
    UnknownKind(String),
}

/// The `ms` of a fault that holds packets: 1..=60000, with no rc.
fn held_ms(kind: &'static str, rc: Option<u8>, ms: Option<u64>) -> Result<u64, FaultError> {
    match (rc, ms) {
        (None, Some(ms @ 1..=60_000)) => Ok(ms),
        _ => Err(FaultError::NeedsMs(kind)),
    }
}

impl FaultKind {
    pub fn parse(kind: &str, rc: Option<u8>, ms: Option<u64>) -> Result<FaultKind, FaultError> {
        let no_extra = |k: FaultKind| match (rc, ms) {
            (None, None) => Ok(k),
            _ => Err(FaultError::TakesNoParameters(kind.into())),
        };
        match kind {
            "strict-keepalive" => no_extra(FaultKind::StrictKeepalive),
            "broker-down" => no_extra(FaultKind::BrokerDown),
            "drop-after-connect" => no_extra(FaultKind::DropAfterConnect),
            "supply-off" => no_extra(FaultKind::SupplyOff),
            "wifi-off" => no_extra(FaultKind::WifiOff),
            "puback-drop" => no_extra(FaultKind::PubackDrop),
            "refuse-connect" => match (rc, ms) {
                (Some(rc @ 1..=5), None) => Ok(FaultKind::RefuseConnect(rc)),
                (Some(rc), None) => Err(FaultError::RefusalCode(rc)),
                _ => Err(FaultError::RefuseConnectNeedsRc),
            },
            "delay" => Ok(FaultKind::Delay {
                ms: held_ms("delay", rc, ms)?,
            }),
            "puback-delay" => Ok(FaultKind::PubackDelay {
                ms: held_ms("puback-delay", rc, ms)?,
            }),
            other => Err(FaultError::UnknownKind(other.into())),
        }
    }

    /// The kind as scenario files spell it.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::StrictKeepalive => "strict-keepalive",
            FaultKind::RefuseConnect(_) => "refuse-connect",
            FaultKind::BrokerDown => "broker-down",
            FaultKind::DropAfterConnect => "drop-after-connect",
            FaultKind::Delay { .. } => "delay",
            FaultKind::PubackDelay { .. } => "puback-delay",
            FaultKind::PubackDrop => "puback-drop",
            FaultKind::SupplyOff => "supply-off",
            FaultKind::WifiOff => "wifi-off",
        }
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::RefuseConnect(rc) => write!(f, "refuse-connect rc={rc}"),
            FaultKind::Delay { ms } => write!(f, "delay {ms}ms"),
            FaultKind::PubackDelay { ms } => write!(f, "puback-delay {ms}ms"),
            other => f.write_str(other.name()),
        }
    }
}

/// A fault from `start` to `end`, device seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    pub start: f64,
    pub end: f64,
    pub kind: FaultKind,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kinds_with_their_parameters() {
        assert_eq!(
            FaultKind::parse("refuse-connect", Some(5), None),
            Ok(FaultKind::RefuseConnect(5))
        );
        assert_eq!(
            FaultKind::parse("delay", None, Some(200)),
            Ok(FaultKind::Delay { ms: 200 })
        );
        assert_eq!(
            FaultKind::parse("puback-delay", None, Some(3000)),
            Ok(FaultKind::PubackDelay { ms: 3000 })
        );
        assert_eq!(
            FaultKind::parse("puback-delay", None, None),
            Err(FaultError::NeedsMs("puback-delay"))
        );
        assert_eq!(
            FaultKind::parse("puback-drop", None, None),
            Ok(FaultKind::PubackDrop)
        );
        assert_eq!(
            FaultKind::parse("puback-drop", None, Some(5)),
            Err(FaultError::TakesNoParameters("puback-drop".into()))
        );
        assert_eq!(
            FaultKind::parse("refuse-connect", None, None),
            Err(FaultError::RefuseConnectNeedsRc)
        );
        assert_eq!(
            FaultKind::parse("refuse-connect", Some(9), None),
            Err(FaultError::RefusalCode(9))
        );
        assert_eq!(
            FaultKind::parse("broker-down", Some(1), None),
            Err(FaultError::TakesNoParameters("broker-down".into()))
        );
        let unknown = FaultKind::parse("meteor", None, None).unwrap_err();
        assert_eq!(unknown, FaultError::UnknownKind("meteor".into()));
        assert!(unknown.to_string().contains("valid kinds"), "{unknown}");
    }
}
