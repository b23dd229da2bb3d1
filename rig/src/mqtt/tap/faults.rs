//! The broker-side faults the tap can inject, switched on and off by the run's fault schedule.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

/// No refusal code set.
const NO_RC: u8 = u8::MAX;

#[derive(Debug)]
pub struct TapFaults {
    strict_keepalive: AtomicBool,
    refuse_rc: AtomicU8,
    broker_down: AtomicBool,
    drop_after_connect: AtomicBool,
    delay_ms: AtomicU64,
    puback_delay_ms: AtomicU64,
    puback_drop: AtomicBool,
}

impl Default for TapFaults {
    fn default() -> Self {
        TapFaults {
            strict_keepalive: AtomicBool::new(false),
            refuse_rc: AtomicU8::new(NO_RC),
            broker_down: AtomicBool::new(false),
            drop_after_connect: AtomicBool::new(false),
            delay_ms: AtomicU64::new(0),
            puback_delay_ms: AtomicU64::new(0),
            puback_drop: AtomicBool::new(false),
        }
    }
}

/// One fault the tap applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TapFault {
    /// Mosquitto ≥ 2.0.12's rule: a CONNECT with keepalive 0 gets CONNACK 2.
    StrictKeepalive,
    /// Every CONNECT gets this CONNACK code.
    RefuseConnect(u8),
    /// New connections are refused (closed at once); open ones are dropped.
    BrokerDown,
    /// The CONNACK is delivered, then the connection is dropped.
    DropAfterConnect,
    /// Each packet is held this long before it is forwarded.
    Delay { ms: u64 },
    /// Each PUBACK from the broker is held this long (wall-clock) before it is forwarded; the client's packets
    /// are not held, and the broker's other answers wait only behind a held PUBACK.
    PubackDelay { ms: u64 },
    /// The broker's first PUBACK for each packet id of a connection is dropped, as a lossy link would: the client
    /// must resend (with DUP set) to get one.
    PubackDrop,
}

impl TapFaults {
    pub fn set(&self, fault: TapFault, on: bool) {
        match fault {
            TapFault::StrictKeepalive => self.strict_keepalive.store(on, Ordering::SeqCst),
            TapFault::RefuseConnect(rc) => self
                .refuse_rc
                .store(if on { rc } else { NO_RC }, Ordering::SeqCst),
            TapFault::BrokerDown => self.broker_down.store(on, Ordering::SeqCst),
            TapFault::DropAfterConnect => self.drop_after_connect.store(on, Ordering::SeqCst),
            TapFault::Delay { ms } => self
                .delay_ms
                .store(if on { ms } else { 0 }, Ordering::SeqCst),
            TapFault::PubackDelay { ms } => self
                .puback_delay_ms
                .store(if on { ms } else { 0 }, Ordering::SeqCst),
            TapFault::PubackDrop => self.puback_drop.store(on, Ordering::SeqCst),
        }
    }

    pub fn strict_keepalive(&self) -> bool {
        self.strict_keepalive.load(Ordering::SeqCst)
    }

    pub fn refuse_rc(&self) -> Option<u8> {
        Some(self.refuse_rc.load(Ordering::SeqCst)).filter(|rc| *rc != NO_RC)
    }

    pub fn broker_down(&self) -> bool {
        self.broker_down.load(Ordering::SeqCst)
    }

    pub fn drop_after_connect(&self) -> bool {
        self.drop_after_connect.load(Ordering::SeqCst)
    }

    pub fn delay_ms(&self) -> u64 {
        self.delay_ms.load(Ordering::SeqCst)
    }

    pub fn puback_delay_ms(&self) -> u64 {
        self.puback_delay_ms.load(Ordering::SeqCst)
    }

    pub fn puback_drop(&self) -> bool {
        self.puback_drop.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_switch_on_and_off() {
        let f = TapFaults::default();
        assert_eq!(f.refuse_rc(), None);
        f.set(TapFault::RefuseConnect(5), true);
        assert_eq!(f.refuse_rc(), Some(5));
        f.set(TapFault::RefuseConnect(5), false);
        assert_eq!(f.refuse_rc(), None);
        f.set(TapFault::Delay { ms: 40 }, true);
        assert_eq!(f.delay_ms(), 40);
        f.set(TapFault::StrictKeepalive, true);
        assert!(f.strict_keepalive());
        f.set(TapFault::PubackDelay { ms: 3000 }, true);
        assert_eq!((f.puback_delay_ms(), f.delay_ms()), (3000, 40));
        f.set(TapFault::PubackDrop, true);
        assert!(f.puback_drop());
        f.set(TapFault::PubackDrop, false);
        assert!(!f.puback_drop());
    }
}
