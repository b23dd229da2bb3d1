//! What a message on the firmware's topic means: the raw publish, and the reading it carries.

use crate::events::Body;
use serde_json::Value;

/// Events for one message received on `<prefix>/<device>/battery`.
pub fn interpret(prefix: &str, topic: &str, payload: &[u8], retain: bool) -> Vec<Body> {
    let parsed: Value = serde_json::from_slice(payload)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
    let mut events = vec![Body::Publish {
        topic: topic.into(),
        payload: parsed.clone(),
        retain,
        source: "monitor".into(),
        board: None,
        qos: None,
    }];
    let device = topic
        .strip_prefix(prefix)
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_suffix("/battery"));
    if let (Some(device), Some(reading)) = (device, reading_of(&parsed)) {
        let (seq, v, raw, late, low) = reading;
        events.push(Body::Reading {
            board: device.into(),
            seq,
            v,
            raw,
            late,
            low,
        });
    }
    events
}

fn reading_of(payload: &Value) -> Option<(u64, f64, u64, bool, bool)> {
    Some((
        payload.get("seq")?.as_u64()?,
        payload.get("v")?.as_f64()?,
        payload.get("raw").and_then(Value::as_u64).unwrap_or(0),
        payload
            .get("late")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        payload.get("low").and_then(Value::as_bool).unwrap_or(false),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_becomes_a_publish_and_a_reading() {
        let payload = br#"{"v": 12.63, "raw": 812, "seq": 41, "low": false, "late": true}"#;
        let events = interpret("hil/r1", "hil/r1/twin-0/battery", payload, false);
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[1],
            Body::Reading {
                board: "twin-0".into(),
                seq: 41,
                v: 12.63,
                raw: 812,
                late: true,
                low: false
            }
        );
    }

    #[test]
    fn garbage_is_recorded_as_text_without_a_reading() {
        let events = interpret("hil", "hil/x/battery", b"\xff not json", false);
        assert_eq!(events.len(), 1);
        assert!(matches!(
            &events[0],
            Body::Publish {
                payload: Value::String(_),
                ..
            }
        ));
    }
}
