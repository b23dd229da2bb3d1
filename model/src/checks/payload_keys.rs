//! Check `payload`: every message is a JSON object with each key firmware/README.md documents, each of its type,
//! `dropped` only when something was dropped, and no key it does not document.

use super::messages::every_message;
use super::tap_log::Message;
use super::view::RunView;
use super::Verdict;
use serde_json::Value;

/// What a documented key holds.
#[derive(Clone, Copy)]
enum Kind {
    Number,
    /// A whole number ≥ 0.
    Count,
    Flag,
    Text,
    /// A whole number, or null where the radio could not tell.
    DbmOrNull,
    /// A whole number ≥ 1 (the key is left out rather than 0).
    Positive,
}

impl Kind {
    fn holds(self, value: &Value) -> bool {
        match self {
            Kind::Number => value.is_number(),
            Kind::Count => value.is_u64(),
            Kind::Flag => value.is_boolean(),
            Kind::Text => value.is_string(),
            Kind::DbmOrNull => value.is_null() || value.is_i64(),
            Kind::Positive => value.as_u64().is_some_and(|n| n >= 1),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Number => "a number",
            Kind::Count => "a whole number ≥ 0",
            Kind::Flag => "true or false",
            Kind::Text => "a string",
            Kind::DbmOrNull => "a whole number of dBm or null",
            Kind::Positive => "a whole number ≥ 1 (left out when nothing was dropped)",
        }
    }
}

/// Every message carries these (firmware/README.md, "Payload").
const REQUIRED: [(&str, Kind); 9] = [
    ("v", Kind::Number),
    ("raw", Kind::Count),
    ("seq", Kind::Count),
    ("low", Kind::Flag),
    ("awake_ms", Kind::Count),
    ("rssi", Kind::DbmOrNull),
    ("reset", Kind::Text),
    ("fw", Kind::Text),
    ("late", Kind::Flag),
];

/// Only when the backlog overflowed since the last report.
const OPTIONAL: [(&str, Kind); 1] = [("dropped", Kind::Positive)];

pub fn check(view: &RunView, board: &str) -> Verdict {
    every_message(
        "payload",
        board,
        &view.messages(board),
        |m| wrong(m).map(|why| format!("{}: {why}", m.label())),
        |n| format!("all {n} messages carry the documented keys, each of its type, and no other"),
    )
}

/// Why the message's payload breaks the documented shape, if it does.
fn wrong(message: &Message) -> Option<String> {
    let Some(object) = message.payload.as_object() else {
        return Some(format!("{} is not a JSON object", message.payload));
    };
    for (key, kind) in REQUIRED {
        match object.get(key) {
            None => return Some(format!("no key {key:?} ({})", kind.describe())),
            Some(v) if !kind.holds(v) => {
                return Some(format!("key {key:?} is {v}, expected {}", kind.describe()))
            }
            Some(_) => {}
        }
    }
    for (key, kind) in OPTIONAL {
        if let Some(v) = object.get(key).filter(|v| !kind.holds(v)) {
            return Some(format!("key {key:?} is {v}, expected {}", kind.describe()));
        }
    }
    let known = |k: &str| REQUIRED.iter().chain(&OPTIONAL).any(|(key, _)| *key == k);
    object
        .keys()
        .find(|k| !known(k))
        .map(|k| format!("key {k:?} is not in the documented payload"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    /// A change to a payload.
    type Edit = fn(&mut Value);

    fn verdict(edit: impl FnOnce(&mut Value)) -> Verdict {
        let events = vec![
            start(&["b"]),
            tap_publish(2.0, "b", 0, 0),
            edited(tap_publish(32.0, "b", 1, 0), edit),
        ];
        check(&RunView::new(&events).unwrap(), "b")
    }

    #[test]
    fn the_documented_payload_passes_with_or_without_dropped_and_with_a_null_rssi() {
        let v = verdict(|p| {
            p["dropped"] = 3.into();
            p["rssi"] = Value::Null;
        });
        assert!(v.pass, "{v:?}");
        assert_eq!(
            v.message,
            "all 2 messages carry the documented keys, each of its type, and no other"
        );
    }

    #[test]
    fn a_missing_mistyped_zero_dropped_or_unknown_key_fails_naming_the_message() {
        let cases: [(Edit, &str); 5] = [
            (
                |p| {
                    p.as_object_mut().unwrap().remove("fw");
                },
                "seq 1 at t=32.0s: no key \"fw\" (a string)",
            ),
            (
                |p| p["awake_ms"] = "2400".into(),
                "key \"awake_ms\" is \"2400\", expected a whole number ≥ 0",
            ),
            (
                |p| p["rssi"] = (-54.5).into(),
                "key \"rssi\" is -54.5, expected a whole number of dBm or null",
            ),
            (
                |p| p["dropped"] = 0.into(),
                "key \"dropped\" is 0, expected a whole number ≥ 1",
            ),
            (
                |p| p["uptime"] = 5.into(),
                "key \"uptime\" is not in the documented payload",
            ),
        ];
        for (edit, why) in cases {
            let v = verdict(edit);
            assert!(!v.pass && v.judged, "{v:?}");
            assert!(
                v.message.starts_with("1 of 2 messages: first, "),
                "{}",
                v.message
            );
            assert!(v.message.contains(why), "{} lacks {why}", v.message);
        }
        let v = verdict(|p| *p = Value::String("12.5".into()));
        assert!(
            v.message.contains("\"12.5\" is not a JSON object"),
            "{}",
            v.message
        );
    }
}
