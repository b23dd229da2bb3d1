//! What a board's console lines mean to the rig: the firmware's greppable lines (firmware/README.md) become events.

use model::connack::connack_name;
use model::events::Body;

/// The event a console line announces, if any (`boot …`, `sleep …ms`, `mqtt connack=…`).
pub fn interpret(board: &str, line: &str) -> Option<Body> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("boot ") {
        let mut reset = None;
        let mut seq = None;
        for field in rest.split_whitespace() {
            match field.split_once('=') {
                Some(("reset", v)) => reset = Some(v.to_string()),
                Some(("seq", v)) => seq = v.parse().ok(),
                _ => {}
            }
        }
        return Some(Body::BoardWake {
            board: board.into(),
            reset: reset?,
            seq,
        });
    }
    if let Some(ms) = line
        .strip_prefix("sleep ")
        .and_then(|r| r.strip_suffix("ms"))
    {
        return Some(Body::BoardSleep {
            board: board.into(),
            ms: ms.trim().parse().ok()?,
        });
    }
    if let Some(rest) = line.strip_prefix("mqtt connack=") {
        let code: u8 = rest.split_whitespace().next()?.parse().ok()?;
        return Some(Body::Connack {
            board: board.into(),
            code,
            name: connack_name(code).into(),
            source: "console".into(),
            conn: None,
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_sleep_and_connack_lines_become_events() {
        assert_eq!(
            interpret("b", "boot reset=deepsleep seq=41"),
            Some(Body::BoardWake {
                board: "b".into(),
                reset: "deepsleep".into(),
                seq: Some(41)
            })
        );
        assert_eq!(
            interpret("b", "sleep 60000ms"),
            Some(Body::BoardSleep {
                board: "b".into(),
                ms: 60000
            })
        );
        match interpret("b", "mqtt connack=5 not authorized") {
            Some(Body::Connack { code: 5, name, .. }) => assert_eq!(name, "not authorized"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_and_malformed_lines_are_just_console() {
        assert_eq!(interpret("b", "wifi ok 1.2s"), None);
        assert_eq!(interpret("b", "boot seq=4"), None);
        assert_eq!(interpret("b", "sleep forever"), None);
        assert_eq!(interpret("b", "mqtt connack=x"), None);
        assert_eq!(
            interpret("b", "ets Jan  8 2013,rst cause:2, boot mode:(3,6)"),
            None
        );
    }
}
