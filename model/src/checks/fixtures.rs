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
            within_volts: None,
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
            conn: None,
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
            conn: None,
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
            conn: None,
        },
    }
}

/// A CONNACK `code` to `board` as the tap saw it come from the broker.
pub fn tap_connack(t: f64, board: &str, code: u8) -> Event {
    Event {
        t,
        body: Body::Connack {
            board: board.into(),
            code,
            name: crate::connack::connack_name(code).into(),
            source: "tap".into(),
            conn: None,
        },
    }
}

/// A payload as firmware/README.md documents it, for sample `seq` of a deep-sleep wake.
pub fn contract_payload(seq: u64) -> serde_json::Value {
    serde_json::json!({
        "v": 12.5, "raw": 789, "seq": seq, "low": false, "awake_ms": 2400, "rssi": -54,
        "reset": "deepsleep", "fw": "0.1.0", "late": false
    })
}

/// The topic `board.config` gives `board` in these fixtures.
pub fn topic_of(board: &str) -> String {
    format!("hil/r1/test/{board}/battery")
}

/// A message from `board` with sample `seq` as the tap saw it: QoS 1 with packet id `pkid`, or QoS 0 when
/// `pkid` is 0.
pub fn tap_publish(t: f64, board: &str, seq: u64, pkid: u16) -> Event {
    Event {
        t,
        body: Body::Publish {
            topic: topic_of(board),
            payload: contract_payload(seq),
            retain: false,
            source: "tap".into(),
            board: Some(board.into()),
            qos: Some(u8::from(pkid > 0)),
            dup: false,
            pkid: (pkid > 0).then_some(pkid),
            conn: None,
        },
    }
}

/// `event` (a tap message) with its payload changed by `edit`.
pub fn edited(mut event: Event, edit: impl FnOnce(&mut serde_json::Value)) -> Event {
    if let Body::Publish { payload, .. } = &mut event.body {
        edit(payload);
    }
    event
}

/// The broker's PUBACK for `pkid` to `board`, kept from it when `dropped`.
pub fn tap_puback(t: f64, board: &str, pkid: u16, dropped: bool) -> Event {
    Event {
        t,
        body: Body::Puback {
            board: board.into(),
            pkid,
            from: "broker".into(),
            dropped,
            conn: None,
        },
    }
}

/// What `board` was given: its topic, QoS `qos`, the default calibration and firmware 0.1.0.
pub fn board_config(board: &str, qos: u8) -> Event {
    Event {
        t: 0.0,
        body: Body::BoardConfig {
            board: board.into(),
            topic: topic_of(board),
            qos,
            divider: 1.0 / 16.2,
            full_scale_volts: 1.0,
            fw: Some("0.1.0".into()),
            low_battery_volts: Some(11.8),
        },
    }
}

/// A wake announcing `seq` on the console, as the firmware prints it.
pub fn wake_seq(t: f64, board: &str, reset: &str, seq: u64) -> Event {
    Event {
        t,
        body: Body::BoardWake {
            board: board.into(),
            reset: reset.into(),
            seq: Some(seq),
        },
    }
}

/// The session of one accepted wake of `board`: boot line with `seq`, `wifi ok`, CONNECT, CONNACK, one QoS 0
/// message per seq of `sends` (in order), DISCONNECT and close; the wake starts at `t`.
pub fn wake_sending(t: f64, board: &str, seq: u64, sends: &[u64]) -> Vec<Event> {
    let reset = if seq == 0 { "power-on" } else { "deepsleep" };
    let mut events = vec![
        console(t, board, "ets Jan  8 2013,rst cause:2, boot mode:(3,6)"),
        wake_seq(t + 1.0, board, reset, seq),
        console(t + 2.0, board, "wifi ok 1.0s"),
        tap_connect(t + 2.1, board, 60),
        tap_connack(t + 2.2, board, 0),
    ];
    for (i, s) in sends.iter().enumerate() {
        let late = *s != seq;
        events.push(edited(
            tap_publish(t + 2.3 + 0.01 * i as f64, board, *s, 0),
            |p| {
                p["late"] = late.into();
                p["awake_ms"] = (((2.3 + 0.01 * i as f64) * 1000.0) as u64).into();
                if *s == 0 {
                    p["reset"] = "power-on".into();
                }
            },
        ));
    }
    events.push(Event {
        t: t + 2.5,
        body: Body::Disconnect {
            board: board.into(),
            conn: None,
        },
    });
    events.push(tap_close(t + 2.5, board));
    events
}

/// `event` (one the tap records) on the tap's connection number `conn`.
pub fn on_conn(mut event: Event, number: u64) -> Event {
    match &mut event.body {
        Body::Connect { conn, .. }
        | Body::Connack { conn, .. }
        | Body::Publish { conn, .. }
        | Body::Puback { conn, .. }
        | Body::PingReq { conn, .. }
        | Body::PingResp { conn, .. }
        | Body::Disconnect { conn, .. }
        | Body::Close { conn, .. }
        | Body::Garbage { conn, .. } => *conn = Some(number),
        other => panic!("not a tap event: {other:?}"),
    }
    event
}
