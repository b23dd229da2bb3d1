//! Check `duplicates`: within one session the broker gets each sample once. A QoS 1 message sent again because
//! its PUBACK did not come is a resend, and says so: DUP set, the same packet id. Anything else is a duplicate
//! delivery a dashboard would show twice. (Messages after DISCONNECT are check `after-disconnect`'s.)

use super::tap_log::{Message, Session};
use super::view::RunView;
use super::Verdict;

pub fn check(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "duplicates";
    let sessions = view.sessions(board);
    let judged: Vec<&Session> = sessions.iter().filter(|s| !s.messages.is_empty()).collect();
    if judged.is_empty() {
        return Verdict::not_judged(NAME, board, &format!("the tap saw no message from {board}"));
    }
    let mut resends = 0;
    let mut messages = 0;
    for session in &judged {
        messages += session.messages.len();
        for (i, m) in session.messages.iter().enumerate() {
            let first = session.messages[..i]
                .iter()
                .find(|earlier| earlier.seq().is_some() && earlier.seq() == m.seq());
            let wrong = match first {
                None if m.dup && m.qos == 0 => Some("DUP set on a QoS 0 message".to_string()),
                None => None,
                Some(first) if is_resend(first, m) => {
                    resends += 1;
                    None
                }
                Some(first) => Some(format!(
                    "a second delivery of the message at t={:.1}s: {}",
                    first.t,
                    why_not_a_resend(first, m)
                )),
            };
            if let Some(why) = wrong {
                return Verdict::new(
                    NAME,
                    board,
                    false,
                    format!(
                        "{} in the session connected at t={:.1}s: {why}",
                        m.label(),
                        session.connect
                    ),
                );
            }
        }
    }
    Verdict::new(
        NAME,
        board,
        true,
        format!(
            "{messages} messages in {} sessions, each sample delivered once; {resends} QoS 1 resend(s) carried DUP \
             and their message's packet id",
            judged.len()
        ),
    )
}

fn is_resend(first: &Message, again: &Message) -> bool {
    again.qos == 1 && again.dup && again.pkid.is_some() && again.pkid == first.pkid
}

fn why_not_a_resend(first: &Message, again: &Message) -> String {
    if again.qos == 0 {
        "QoS 0 is never resent".into()
    } else if !again.dup {
        format!(
            "QoS 1 without DUP (packet id {:?})",
            again.pkid.unwrap_or(0)
        )
    } else {
        format!(
            "DUP set but packet id {:?}, the message had {:?}",
            again.pkid.unwrap_or(0),
            first.pkid.unwrap_or(0)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::{Body, Event};

    fn resend(t: f64, seq: u64, pkid: u16, dup: bool) -> Event {
        let mut e = tap_publish(t, "b", seq, pkid);
        if let Body::Publish { dup: d, .. } = &mut e.body {
            *d = dup;
        }
        e
    }

    fn session(messages: Vec<Event>) -> Vec<Event> {
        let mut events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", 60),
            tap_connack(1.1, "b", 0),
        ];
        events.extend(messages);
        events.push(tap_close(20.0, "b"));
        events
    }

    #[test]
    fn a_resend_with_dup_and_the_same_packet_id_is_no_duplicate() {
        let events = session(vec![
            resend(2.0, 4, 1, false),
            resend(7.0, 4, 1, true),
            resend(8.0, 5, 2, false),
        ]);
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        assert!(
            v.message.contains("1 QoS 1 resend(s) carried DUP"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_resend_without_dup_or_a_second_qos0_copy_is_a_duplicate() {
        let events = session(vec![resend(2.0, 4, 1, false), resend(7.0, 4, 1, false)]);
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert_eq!(
            v.message,
            "seq 4 at t=7.0s in the session connected at t=1.0s: a second delivery of the message at t=2.0s: \
             QoS 1 without DUP (packet id 1)"
        );
        let events = session(vec![
            tap_publish(2.0, "b", 4, 0),
            tap_publish(2.1, "b", 4, 0),
        ]);
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(
            v.message.ends_with("QoS 0 is never resent"),
            "{}",
            v.message
        );
        let events = session(vec![resend(2.0, 4, 1, false), resend(7.0, 4, 2, true)]);
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(
            v.message
                .ends_with("DUP set but packet id 2, the message had 1"),
            "{}",
            v.message
        );
    }

    #[test]
    fn the_same_sample_in_a_later_session_is_a_late_resend_not_a_duplicate() {
        let mut events = session(vec![resend(2.0, 4, 1, false)]);
        events.extend([
            tap_connect(31.0, "b", 60),
            tap_connack(31.1, "b", 0),
            resend(32.0, 4, 1, false),
        ]);
        assert!(check(&RunView::new(&events).unwrap(), "b").pass);
    }
}
