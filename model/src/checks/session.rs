//! Checks on the MQTT sessions the tap saw: keepalive never 0, and a clean DISCONNECT before each close.

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

pub fn clean_disconnect(view: &RunView, board: &str) -> Verdict {
    let accepted: Vec<_> = view
        .sessions(board)
        .into_iter()
        .filter(|s| s.accepted && s.close.is_some())
        .collect();
    if accepted.is_empty() {
        return Verdict::new(
            "clean-disconnect",
            board,
            false,
            "no accepted MQTT session ended during the run".into(),
        );
    }
    match accepted.iter().find(|s| !s.disconnect) {
        Some(s) => Verdict::new(
            "clean-disconnect",
            board,
            false,
            format!(
                "the session connected at t={:.1}s closed at t={:.1}s without a DISCONNECT ({} of {} sessions)",
                s.connect,
                s.close.unwrap_or(s.connect),
                accepted.iter().filter(|s| !s.disconnect).count(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::{Body, Event};

    fn tap_connack(t: f64, code: u8) -> Event {
        let mut e = connack(t, "b", code);
        if let Body::Connack { source, .. } = &mut e.body {
            *source = "tap".into();
        }
        e
    }

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
            body: Body::Disconnect { board: "b".into() },
        };
        let events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", 60),
            tap_connack(1.1, 0),
            disconnect,
            tap_close(2.1, "b"),
            tap_connect(61.0, "b", 60),
            tap_connack(61.1, 0),
            tap_close(62.0, "b"),
        ];
        let v = clean_disconnect(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message.contains("connected at t=61.0s closed at t=62.0s"),
            "{}",
            v.message
        );
    }
}
