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
    /// The supply's output is off.
    SupplyOff,
    /// The bench's WiFi access point is down (twin bench only).
    WifiOff,
}

pub const FAULT_KINDS: &str = "strict-keepalive, refuse-connect (with rc = 1..5), broker-down, \
     drop-after-connect, delay (with ms), supply-off, wifi-off";

impl FaultKind {
    pub fn parse(kind: &str, rc: Option<u8>, ms: Option<u64>) -> Result<FaultKind, String> {
        let no_extra = |k: FaultKind| match (rc, ms) {
            (None, None) => Ok(k),
            _ => Err(format!("`{kind}` takes no rc or ms")),
        };
        match kind {
            "strict-keepalive" => no_extra(FaultKind::StrictKeepalive),
            "broker-down" => no_extra(FaultKind::BrokerDown),
            "drop-after-connect" => no_extra(FaultKind::DropAfterConnect),
            "supply-off" => no_extra(FaultKind::SupplyOff),
            "wifi-off" => no_extra(FaultKind::WifiOff),
            "refuse-connect" => match (rc, ms) {
                (Some(rc @ 1..=5), None) => Ok(FaultKind::RefuseConnect(rc)),
                (Some(rc), None) => Err(format!(
                    "rc = {rc}: a refusal code is 1..=5 (5 = not authorized)"
                )),
                _ => Err("refuse-connect needs rc = 1..=5 (and no ms)".into()),
            },
            "delay" => match (rc, ms) {
                (None, Some(ms @ 1..=60_000)) => Ok(FaultKind::Delay { ms }),
                _ => Err("delay needs ms = 1..=60000 (and no rc)".into()),
            },
            other => Err(format!(
                "unknown fault kind {other:?}; valid kinds: {FAULT_KINDS}"
            )),
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
        assert!(FaultKind::parse("refuse-connect", None, None).is_err());
        assert!(FaultKind::parse("refuse-connect", Some(9), None)
            .unwrap_err()
            .contains("1..=5"));
        assert!(FaultKind::parse("broker-down", Some(1), None).is_err());
        assert!(FaultKind::parse("meteor", None, None)
            .unwrap_err()
            .contains("valid kinds"));
    }
}
