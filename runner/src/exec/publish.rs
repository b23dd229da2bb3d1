//! What a message on the firmware's topic means: the raw publish, and the reading it carries in the run's payload
//! format (or why it carries none).

use model::events::Body;
use model::payload::{read, Adc, PayloadFormat};
use serde_json::Value;

/// Reads the messages of one scenario's boards.
pub struct Reader {
    /// The scenario's topics: `<prefix>/<device>/battery`.
    pub prefix: String,
    pub format: PayloadFormat,
    /// The calibration deployed to the boards, for payloads in ADC counts.
    pub adc: Adc,
}

impl Reader {
    /// Events for one message received on the scenario's topics.
    pub fn interpret(&self, topic: &str, payload: &[u8], retain: bool) -> Vec<Body> {
        let parsed: Value = serde_json::from_slice(payload)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(payload).into_owned()));
        let mut events = vec![Body::Publish {
            topic: topic.into(),
            payload: parsed,
            retain,
            source: "monitor".into(),
            board: None,
            qos: None,
            dup: false,
            pkid: None,
            conn: None,
        }];
        let device = topic
            .strip_prefix(self.prefix.as_str())
            .and_then(|r| r.strip_prefix('/'))
            .and_then(|r| r.strip_suffix("/battery"));
        let Some(device) = device else {
            return events;
        };
        events.push(match read(&self.format, self.adc, payload) {
            Ok(r) => Body::Reading {
                board: device.into(),
                seq: r.seq,
                v: r.v,
                raw: r.raw,
                late: r.late,
                low: r.low,
            },
            Err(message) => Body::ReadingError {
                board: device.into(),
                topic: topic.into(),
                message,
            },
        });
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::payload::Unit;

    fn reader(format: PayloadFormat) -> Reader {
        Reader {
            prefix: "hil/r1".into(),
            format,
            adc: Adc {
                divider: 1.0 / 16.2,
                full_scale_volts: 1.0,
            },
        }
    }

    #[test]
    fn a_payload_becomes_a_publish_and_a_reading() {
        let payload = br#"{"v": 12.63, "raw": 812, "seq": 41, "low": false, "late": true}"#;
        let events =
            reader(PayloadFormat::default()).interpret("hil/r1/twin-0/battery", payload, false);
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[1],
            Body::Reading {
                board: "twin-0".into(),
                seq: Some(41),
                v: 12.63,
                raw: Some(812),
                late: true,
                low: Some(false)
            }
        );
    }

    #[test]
    fn a_plain_payload_becomes_a_reading_without_seq() {
        let plain = reader(PayloadFormat::Plain { unit: Unit::Volts });
        let events = plain.interpret("hil/r1/twin-0/battery", b"12.61", false);
        assert_eq!(
            events[1],
            Body::Reading {
                board: "twin-0".into(),
                seq: None,
                v: 12.61,
                raw: None,
                late: false,
                low: None
            }
        );
    }

    #[test]
    fn a_payload_that_is_no_reading_is_recorded_with_why() {
        let events = reader(PayloadFormat::default()).interpret(
            "hil/r1/twin-0/battery",
            b"\xff not json",
            false,
        );
        assert_eq!(events.len(), 2);
        assert!(matches!(
            &events[0],
            Body::Publish {
                payload: Value::String(_),
                ..
            }
        ));
        match &events[1] {
            Body::ReadingError {
                board,
                topic,
                message,
            } => {
                assert_eq!(
                    (board.as_str(), topic.as_str()),
                    ("twin-0", "hil/r1/twin-0/battery")
                );
                assert!(message.starts_with("not UTF-8 text"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn messages_on_other_topics_are_only_publishes() {
        let events = reader(PayloadFormat::default()).interpret("hil/other/x", b"12.6", false);
        assert_eq!(events.len(), 1);
    }
}
