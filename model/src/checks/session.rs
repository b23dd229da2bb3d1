//! Checks on the MQTT sessions the tap saw: keepalive never 0, a clean DISCONNECT before each close, and nothing
//! published after it.

use super::view::RunView;
use super::Verdict;

pub fn keepalive_nonzero(view: &RunView, board: &str) -> Verdict {
    let connects = view.connects(board);
    if connects.is_empty() {
        return Verdict::new(
            "keepalive",
            board,
            false,
            "no CONNECT seen by the tap".into(),
        );
    }
    match connects.iter().find(|(_, k)| *k == 0) {
        Some((t, _)) => Verdict::new(
            "keepalive",
            board,
            false,
            format!(
                "CONNECT at t={t:.1}s carried keepalive 0 (Mosquitto >= 2.0.12 refuses it with CONNACK 2); {} of {} CONNECTs",
                connects.iter().filter(|(_, k)| *k == 0).count(),
                connects.len()
            ),
        ),
        None => {
            let min = connects.iter().map(|(_, k)| *k).min().unwrap_or(0);
            Verdict::new("keepalive", board, true, format!("{} CONNECTs, keepalive ≥ {min}s", connects.len()))
        }
    }
}

/// Every accepted session the board ended itself ends with DISCONNECT. Sessions the bench cut (a tap fault, the
/// board's power failing) are not the firmware's to end.
pub fn clean_disconnect(view: &RunView, board: &str) -> Verdict {
    let losses = super::power::board_power_losses(view, board);
    let sessions = view.sessions(board);
    let accepted: Vec<_> = sessions
        .iter()
        .filter(|s| s.accepted)
        .filter_map(|s| Some((s, s.close?)))
        .filter(|(s, (end, by))| {
            *by != "tap" && !losses.iter().any(|l| (s.connect..=*end).contains(l))
        })
        .collect();
    if accepted.is_empty() {
        return Verdict::new(
            "clean-disconnect",
            board,
            false,
            "no accepted MQTT session ended during the run".into(),
        );
    }
    let unclean: Vec<_> = accepted
        .iter()
        .filter(|(s, _)| s.disconnect.is_none())
        .collect();
    match unclean.first() {
        Some((s, (end, by))) => Verdict::new(
            "clean-disconnect",
            board,
            false,
            format!(
                "the session connected at t={:.1}s was closed by the {by} at t={end:.1}s without a DISCONNECT ({} of {} \
                 sessions)",
                s.connect,
                unclean.len(),
                accepted.len()
            ),
        ),
        None => Verdict::new(
            "clean-disconnect",
            board,
            true,
            format!("all {} sessions sent DISCONNECT before closing", accepted.len()),
        ),
    }
}

/// Nothing is published after DISCONNECT: the broker discards it, so a sample sent then is lost.
pub fn after_disconnect(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "after-disconnect";
    let sessions: Vec<_> = view
        .sessions(board)
        .into_iter()
        .filter(|s| s.accepted)
        .collect();
    if sessions.is_empty() {
        return Verdict::not_judged(NAME, board, "no accepted MQTT session");
    }
    for s in &sessions {
        if let (Some(m), Some(at)) = (s.after_disconnect.first(), s.disconnect) {
            return Verdict::new(
                NAME,
                board,
                false,
                format!(
                    "{} came after the DISCONNECT at t={at:.1}s (session connected at t={:.1}s): the broker discards \
                     it",
                    m.label(),
                    s.connect
                ),
            );
        }
    }
    Verdict::new(
        NAME,
        board,
        true,
        format!(
            "no message after DISCONNECT in {} accepted sessions ({} ended with DISCONNECT)",
            sessions.len(),
            sessions.iter().filter(|s| s.disconnect.is_some()).count()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::{Body, Event};

    #[test]
    fn keepalive_zero_is_named() {
        let events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", 60),
            tap_connect(61.0, "b", 0),
        ];
        let v = keepalive_nonzero(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message.contains("t=61.0s carried keepalive 0"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_session_closed_without_disconnect_fails() {
        let disconnect = Event {
            t: 2.0,
            body: Body::Disconnect {
                board: "b".into(),
                conn: None,
            },
        };
        let events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", 60),
            tap_connack(1.1, "b", 0),
            disconnect,
            tap_close(2.1, "b"),
            tap_connect(61.0, "b", 60),
            tap_connack(61.1, "b", 0),
            tap_close(62.0, "b"),
        ];
        let v = clean_disconnect(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message.contains(
                "connected at t=61.0s was closed by the client at t=62.0s without a DISCONNECT"
            ),
            "{}",
            v.message
        );
    }

    #[test]
    fn sessions_the_bench_cut_are_not_the_firmwares_to_end() {
        let cut = Event {
            t: 2.0,
            body: Body::Close {
                board: "b".into(),
                by: "tap".into(),
                clean: false,
                reason: "broker-down fault: connection dropped".into(),
                conn: None,
            },
        };
        let events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", 60),
            tap_connack(1.1, "b", 0),
            cut,
            tap_connect(61.0, "b", 60),
            tap_connack(61.1, "b", 0),
            Event {
                t: 61.5,
                body: Body::Disconnect {
                    board: "b".into(),
                    conn: None,
                },
            },
            tap_close(61.6, "b"),
        ];
        let v = clean_disconnect(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        assert_eq!(v.message, "all 1 sessions sent DISCONNECT before closing");
    }

    #[test]
    fn a_message_after_disconnect_fails() {
        let disconnect = Event {
            t: 2.0,
            body: Body::Disconnect {
                board: "b".into(),
                conn: None,
            },
        };
        let mut events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", 60),
            tap_connack(1.1, "b", 0),
            tap_publish(1.5, "b", 0, 0),
            disconnect,
        ];
        let v = after_disconnect(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        events.push(tap_publish(2.0, "b", 0, 0));
        events.push(tap_close(2.1, "b"));
        let v = after_disconnect(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert_eq!(
            v.message,
            "seq 0 at t=2.0s came after the DISCONNECT at t=2.0s (session connected at t=1.0s): the broker discards it"
        );
    }
}
