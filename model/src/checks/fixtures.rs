//! Event logs built by hand for the checks' unit tests.

use crate::events::{BoardInfo, Body, Event};

pub fn start(boards: &[&str]) -> Event {
    Event {
        t: 0.0,
        body: Body::ScenarioStart {
            scenario: "test".into(),
            speed: 1.0,
            broker: "test".into(),
            payload: None,
            boards: boards
                .iter()
                .map(|b| BoardInfo {
                    name: b.to_string(),
                    mac: "00".into(),
                    supply: "twin:1".into(),
                })
                .collect(),
        },
    }
}

pub fn sample(t: f64, volts: f64) -> Event {
    Event {
        t,
        body: Body::SupplySample {
            supply: "twin:1".into(),
            volts,
            amps: 0.02,
        },
    }
}

pub fn wake(t: f64, board: &str, reset: &str) -> Event {
    Event {
        t,
        body: Body::BoardWake {
            board: board.into(),
            reset: reset.into(),
            seq: None,
        },
    }
}

pub fn reading(t: f64, board: &str, seq: u64, v: f64) -> Event {
    Event {
        t,
        body: Body::Reading {
            board: board.into(),
            seq: Some(seq),
            v,
            raw: Some(0),
            late: false,
            low: Some(false),
        },
    }
}

/// A reading from a plain payload: volts only.
pub fn plain_reading(t: f64, board: &str, v: f64) -> Event {
    Event {
        t,
        body: Body::Reading {
            board: board.into(),
            seq: None,
            v,
            raw: None,
            late: false,
            low: None,
        },
    }
}

/// The start of a run whose boards send `format` payloads.
pub fn start_with_payload(boards: &[&str], format: crate::payload::PayloadFormat) -> Event {
    let mut event = start(boards);
    if let Body::ScenarioStart { payload, .. } = &mut event.body {
        *payload = Some(format);
    }
    event
}

pub fn console(t: f64, board: &str, line: &str) -> Event {
    Event {
        t,
        body: Body::Console {
            board: board.into(),
            line: line.into(),
        },
    }
}

pub fn connack(t: f64, board: &str, code: u8) -> Event {
    Event {
        t,
        body: Body::Connack {
            board: board.into(),
            code,
            name: crate::connack::connack_name(code).into(),
            source: "console".into(),
        },
    }
}

/// A CONNECT from `board` as the tap saw it.
pub fn tap_connect(t: f64, board: &str, keepalive: u16) -> Event {
    Event {
        t,
        body: Body::Connect {
            board: board.into(),
            username: Some("bench".into()),
            keepalive,
            clean_session: true,
            will_topic: None,
        },
    }
}

/// The end of `board`'s connection through the tap, closed by the client after a DISCONNECT.
pub fn tap_close(t: f64, board: &str) -> Event {
    Event {
        t,
        body: Body::Close {
            board: board.into(),
            by: "client".into(),
            clean: true,
            reason: "closed after DISCONNECT".into(),
        },
    }
}
