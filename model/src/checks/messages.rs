//! The MQTT side of each message the tap saw a board publish: its topic and QoS as configured, its retain flag
//! as the scenario expects; and, where a scenario's boards are to publish nothing, that they did not.

use super::tap_log::Message;
use super::view::{BoardConfig, RunView};
use super::Verdict;

/// Judges each of the board's messages: `wrong` says why one breaks the rule; the verdict names the first that
/// does and how many, or says how many were judged. Not judged when the tap saw no message from the board.
pub(super) fn every_message(
    name: &'static str,
    board: &str,
    messages: &[Message],
    wrong: impl Fn(&Message) -> Option<String>,
    ok: impl FnOnce(usize) -> String,
) -> Verdict {
    if messages.is_empty() {
        return Verdict::not_judged(name, board, &format!("the tap saw no message from {board}"));
    }
    let failures: Vec<String> = messages.iter().filter_map(&wrong).collect();
    match failures.first() {
        Some(first) => Verdict::new(
            name,
            board,
            false,
            format!(
                "{} of {} messages: first, {first}",
                failures.len(),
                messages.len()
            ),
        ),
        None => Verdict::new(name, board, true, ok(messages.len())),
    }
}

/// The board's `board.config`, or the not-judged verdict of check `name` without it.
pub(super) fn config_of<'a>(
    name: &'static str,
    view: &RunView<'a>,
    board: &str,
) -> Result<BoardConfig<'a>, Verdict> {
    view.board_config(board).ok_or_else(|| {
        Verdict::not_judged(
            name,
            board,
            "the log has no board.config for it (a log from before hil recorded what it deployed)",
        )
    })
}

pub fn topic(view: &RunView, board: &str) -> Verdict {
    let config = match config_of("topic", view, board) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let want = config.topic;
    every_message(
        "topic",
        board,
        &view.messages(board),
        |m| {
            (m.topic != want).then(|| {
                format!(
                    "{} went to {:?}, expected {want:?} (as configured)",
                    m.label(),
                    m.topic
                )
            })
        },
        |n| format!("all {n} messages on {want:?}"),
    )
}

pub fn qos(view: &RunView, board: &str) -> Verdict {
    let config = match config_of("qos", view, board) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let want = config.qos;
    every_message(
        "qos",
        board,
        &view.messages(board),
        |m| {
            (m.qos != want).then(|| {
                format!(
                    "{} was sent with QoS {}, configured QoS {want}",
                    m.label(),
                    m.qos
                )
            })
        },
        |n| format!("all {n} messages sent with QoS {want}, as configured"),
    )
}

/// `retained`: whether the scenario expects readings published with the retain flag (firmware/app never does).
pub fn retain(retained: bool, view: &RunView, board: &str) -> Verdict {
    let flag = |r: bool| if r { "set" } else { "clear" };
    every_message(
        "retain",
        board,
        &view.messages(board),
        |m| {
            (m.retain != retained).then(|| {
                format!(
                    "{} had the retain flag {}, expected it {}",
                    m.label(),
                    flag(m.retain),
                    flag(retained)
                )
            })
        },
        |n| format!("all {n} messages with the retain flag {}", flag(retained)),
    )
}

/// `publishes = false`: the tap saw the board publish nothing.
pub fn none(view: &RunView, board: &str) -> Verdict {
    let messages = view.messages(board);
    let sessions = view.sessions(board);
    match messages.first() {
        Some(m) => Verdict::new(
            "publishes",
            board,
            false,
            format!(
                "expected no message (publishes = false), the tap saw {}: {} on {:?}",
                messages.len(),
                m.label(),
                m.topic
            ),
        ),
        None => Verdict::new(
            "publishes",
            board,
            true,
            format!(
                "no message, as expected; {} connection(s), {} accepted",
                sessions.len(),
                sessions.iter().filter(|s| s.accepted).count()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::{Body, Event};

    fn retopic(mut event: Event, to: &str) -> Event {
        if let Body::Publish { topic, .. } = &mut event.body {
            *topic = to.into();
        }
        event
    }

    #[test]
    fn topic_and_qos_are_held_to_the_board_config() {
        let events = vec![
            start(&["b"]),
            board_config("b", 1),
            tap_publish(2.0, "b", 0, 1),
            retopic(tap_publish(32.0, "b", 1, 0), "hil/r1/test/b/Battery"),
        ];
        let view = RunView::new(&events).unwrap();
        let v = topic(&view, "b");
        assert!(!v.pass && v.judged, "{v:?}");
        assert_eq!(
            v.message,
            "1 of 2 messages: first, seq 1 at t=32.0s went to \"hil/r1/test/b/Battery\", expected \
             \"hil/r1/test/b/battery\" (as configured)"
        );
        let v = qos(&view, "b");
        assert!(!v.pass);
        assert!(
            v.message
                .contains("seq 1 at t=32.0s was sent with QoS 0, configured QoS 1"),
            "{}",
            v.message
        );
        let events = vec![
            start(&["b"]),
            board_config("b", 0),
            tap_publish(2.0, "b", 0, 0),
        ];
        let view = RunView::new(&events).unwrap();
        assert!(topic(&view, "b").pass && qos(&view, "b").pass);
        assert!(retain(false, &view, "b").pass);
        let v = retain(true, &view, "b");
        assert!(
            !v.pass && v.message.contains("retain flag clear, expected it set"),
            "{v:?}"
        );
    }

    #[test]
    fn without_messages_or_config_they_are_not_judged_and_say_why() {
        let events = vec![start(&["b"]), tap_publish(2.0, "b", 0, 0)];
        let v = topic(&RunView::new(&events).unwrap(), "b");
        assert!(
            !v.pass && !v.judged && v.message.contains("no board.config"),
            "{v:?}"
        );
        let events = vec![start(&["b"]), board_config("b", 0)];
        let v = qos(&RunView::new(&events).unwrap(), "b");
        assert_eq!(v.message, "not judged: the tap saw no message from b");
        assert!(!v.pass && !v.judged);
    }

    #[test]
    fn a_board_that_should_publish_nothing_fails_on_its_first_message() {
        let events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", 60),
            tap_connack(1.1, "b", 5),
        ];
        let v = none(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        assert_eq!(
            v.message,
            "no message, as expected; 1 connection(s), 0 accepted"
        );
        let events = vec![start(&["b"]), tap_publish(2.0, "b", 4, 0)];
        let v = none(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message.contains("the tap saw 1: seq 4 at t=2.0s"),
            "{}",
            v.message
        );
    }
}
