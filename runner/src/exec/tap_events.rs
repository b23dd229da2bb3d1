//! What the tap saw, as events of the run's log.

use model::connack::connack_name;
use model::events::Body;
use rig::mqtt::{Side, TapEvent};
use serde_json::Value;

pub fn body_of(event: TapEvent) -> Body {
    match event {
        TapEvent::Connect {
            client,
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
        },
        TapEvent::Connack {
            client,
            code,
            by_tap,
        } => Body::Connack {
            board: client,
            code,
            name: connack_name(code).into(),
            source: if by_tap { "tap-fault" } else { "tap" }.into(),
        },
        TapEvent::Publish {
            client,
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
        },
        TapEvent::Puback {
            client,
            pkid,
            from,
            dropped,
        } => Body::Puback {
            board: client,
            pkid,
            from: from.as_str().into(),
            dropped,
        },
        TapEvent::PingReq { client } => Body::PingReq { board: client },
        TapEvent::PingResp { client } => Body::PingResp { board: client },
        TapEvent::Disconnect { client } => Body::Disconnect { board: client },
        TapEvent::Close {
            client,
            by,
            clean,
            reason,
        } => Body::Close {
            board: client,
            by: by.as_str().into(),
            clean,
            reason,
        },
        TapEvent::Garbage {
            client,
            from,
            error,
        } => Body::Garbage {
            board: client,
            from: Side::as_str(from).into(),
            error,
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
            code: 2,
            by_tap: true,
        }) {
            Body::Connack { name, source, .. } => {
                assert_eq!(name, "identifier rejected");
                assert_eq!(source, "tap-fault");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_publish_keeps_board_qos_and_parsed_payload() {
        let body = body_of(TapEvent::Publish {
            client: "b".into(),
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
