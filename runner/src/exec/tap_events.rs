//! What the tap saw, as events of the run's log.

use model::connack::connack_name;
use model::events::Body;
use rig::mqtt::{Side, TapEvent};
use serde_json::Value;

pub fn body_of(event: TapEvent) -> Body {
    match event {
        TapEvent::Connect {
            client,
            conn,
            username,
            keepalive,
            clean_session,
            will_topic,
        } => Body::Connect {
            board: client,
            username,
            keepalive,
            clean_session,
            will_topic,
            conn: Some(conn),
        },
        TapEvent::Connack {
            client,
            conn,
            code,
            by_tap,
        } => Body::Connack {
            board: client,
            code,
            name: connack_name(code).into(),
            source: if by_tap { "tap-fault" } else { "tap" }.into(),
            conn: Some(conn),
        },
        TapEvent::Publish {
            client,
            conn,
            topic,
            qos,
            retain,
            dup,
            pkid,
            payload,
        } => Body::Publish {
            topic,
            payload: serde_json::from_slice(&payload)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&payload).into_owned())),
            retain,
            source: "tap".into(),
            board: Some(client),
            qos: Some(qos),
            dup,
            pkid: (qos > 0).then_some(pkid),
            conn: Some(conn),
        },
        TapEvent::Puback {
            client,
            conn,
            pkid,
            from,
            dropped,
        } => Body::Puback {
            board: client,
            pkid,
            from: from.as_str().into(),
            dropped,
            conn: Some(conn),
        },
        TapEvent::PingReq { client, conn } => Body::PingReq {
            board: client,
            conn: Some(conn),
        },
        TapEvent::PingResp { client, conn } => Body::PingResp {
            board: client,
            conn: Some(conn),
        },
        TapEvent::Disconnect { client, conn } => Body::Disconnect {
            board: client,
            conn: Some(conn),
        },
        TapEvent::Close {
            client,
            conn,
            by,
            clean,
            reason,
        } => Body::Close {
            board: client,
            by: by.as_str().into(),
            clean,
            reason,
            conn: Some(conn),
        },
        TapEvent::Garbage {
            client,
            conn,
            from,
            error,
        } => Body::Garbage {
            board: client,
            from: Side::as_str(from).into(),
            error,
            conn: Some(conn),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_connack_is_named_and_marked() {
        match body_of(TapEvent::Connack {
            client: "b".into(),
            conn: 3,
            code: 2,
            by_tap: true,
        }) {
            Body::Connack {
                name, source, conn, ..
            } => {
                assert_eq!(name, "identifier rejected");
                assert_eq!(source, "tap-fault");
                assert_eq!(conn, Some(3), "the tap's connection number is kept");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_publish_keeps_board_qos_and_parsed_payload() {
        let body = body_of(TapEvent::Publish {
            client: "b".into(),
            conn: 1,
            topic: "t".into(),
            qos: 1,
            retain: false,
            dup: true,
            pkid: 7,
            payload: br#"{"seq":3}"#.to_vec(),
        });
        match body {
            Body::Publish {
                payload,
                board,
                qos,
                source,
                dup,
                pkid,
                ..
            } => {
                assert_eq!(payload["seq"], 3);
                assert_eq!(board.as_deref(), Some("b"));
                assert_eq!(qos, Some(1));
                assert_eq!(source, "tap");
                assert_eq!((dup, pkid), (true, Some(7)));
            }
            other => panic!("{other:?}"),
        }
        let qos0 = body_of(TapEvent::Publish {
            client: "b".into(),
            conn: 1,
            topic: "t".into(),
            qos: 0,
            retain: true,
            dup: false,
            pkid: 0,
            payload: b"12.6".to_vec(),
        });
        assert!(
            matches!(
                qos0,
                Body::Publish {
                    pkid: None,
                    retain: true,
                    ..
                }
            ),
            "a QoS 0 message carries no packet id: {qos0:?}"
        );
    }
}
