//! Check `keepalive-interval`: in an accepted session the client never stays silent long enough for the broker to
//! drop it, one and a half times the keepalive it announced in CONNECT (MQTT 3.1.1, 3.1.2.10): a wake that
//! outlasts its keepalive sends PINGREQ when it has nothing else to send.

use super::tap_log::Session;
use super::view::RunView;
use super::Verdict;

/// The silence a broker allows, in keepalives, before it closes the connection. The client owes a packet within
/// one keepalive; the half on top leaves room for when the tap's packets are stamped (as their events reach the
/// log, after a busy host's delays).
pub const BROKER_GRACE: f64 = 1.5;

/// The session's longest silence from the client: (seconds, what came before it, what ended it), each as
/// "its PUBLISH at t=1.2s".
fn longest_silence(s: &Session) -> Option<(f64, String, String)> {
    let mut marks: Vec<(f64, String)> = s
        .sent
        .iter()
        .map(|(t, packet)| (*t, format!("its {packet} at t={t:.1}s")))
        .collect();
    if s.disconnect.is_none() {
        // Silent to the end: the connection closing ends the silence.
        if let Some((t, by)) = s.close {
            marks.push((t, format!("the close by the {by} at t={t:.1}s")));
        }
    }
    marks
        .windows(2)
        .map(|pair| (pair[1].0 - pair[0].0, pair[0].1.clone(), pair[1].1.clone()))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

pub fn interval(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "keepalive-interval";
    let sessions: Vec<Session> = view
        .sessions(board)
        .into_iter()
        .filter(|s| s.accepted && s.keepalive > 0)
        .collect();
    if sessions.is_empty() {
        return Verdict::not_judged(NAME, board, "no accepted session with a keepalive");
    }
    let mut longest: Option<(f64, u16)> = None;
    for s in &sessions {
        let Some((gap, before, until)) = longest_silence(s) else {
            continue;
        };
        let keepalive = f64::from(s.keepalive);
        if gap > keepalive * BROKER_GRACE {
            return Verdict::new(
                NAME,
                board,
                false,
                format!(
                    "the session connected at t={:.1}s went {gap:.1}s without a packet from the client (after \
                     {before}, until {until}), keepalive {}s (allowed {:.1}s)",
                    s.connect,
                    s.keepalive,
                    keepalive * BROKER_GRACE
                ),
            );
        }
        if longest.is_none_or(|(g, _)| gap > g) {
            longest = Some((gap, s.keepalive));
        }
    }
    let outlasting = sessions
        .iter()
        .filter(|s| {
            let end = s.close.map_or(s.connect, |(t, _)| t);
            end - s.connect > f64::from(s.keepalive)
        })
        .count();
    let pings: usize = sessions
        .iter()
        .map(|s| s.sent.iter().filter(|(_, p)| *p == "PINGREQ").count())
        .sum();
    let (gap, keepalive) = longest.unwrap_or((0.0, 0));
    Verdict::new(
        NAME,
        board,
        true,
        format!(
            "longest silence {gap:.1}s (keepalive {keepalive}s); {} sessions, {outlasting} outlasting their \
             keepalive, {pings} PINGREQ(s)",
            sessions.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::{Body, Event};

    fn ping(t: f64) -> Event {
        Event {
            t,
            body: Body::PingReq {
                board: "b".into(),
                conn: None,
            },
        }
    }

    fn session(keepalive: u16, middle: Vec<Event>) -> Vec<Event> {
        let mut events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", keepalive),
            tap_connack(1.1, "b", 0),
            tap_publish(1.2, "b", 0, 1),
        ];
        events.extend(middle);
        events.extend([
            tap_puback(5.2, "b", 1, false),
            tap_publish(5.3, "b", 1, 2),
            Event {
                t: 5.4,
                body: Body::Disconnect {
                    board: "b".into(),
                    conn: None,
                },
            },
            tap_close(5.4, "b"),
        ]);
        events
    }

    #[test]
    fn a_wait_longer_than_the_keepalive_needs_pingreqs() {
        let v = interval(
            &RunView::new(&session(2, vec![ping(2.7), ping(4.2)])).unwrap(),
            "b",
        );
        assert!(v.pass, "{v:?}");
        assert_eq!(
            v.message,
            "longest silence 1.5s (keepalive 2s); 1 sessions, 1 outlasting their keepalive, 2 PINGREQ(s)"
        );
        let v = interval(&RunView::new(&session(2, vec![])).unwrap(), "b");
        assert!(!v.pass);
        assert_eq!(
            v.message,
            "the session connected at t=1.0s went 4.1s without a packet from the client (after its PUBLISH at \
             t=1.2s, until its PUBLISH at t=5.3s), keepalive 2s (allowed 3.0s)"
        );
        assert!(interval(&RunView::new(&session(60, vec![])).unwrap(), "b").pass);
    }

    #[test]
    fn silence_until_the_broker_closes_counts() {
        let events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", 2),
            tap_connack(1.1, "b", 0),
            Event {
                t: 5.0,
                body: Body::Close {
                    board: "b".into(),
                    by: "broker".into(),
                    clean: false,
                    reason: "connection closed".into(),
                    conn: None,
                },
            },
        ];
        let v = interval(&RunView::new(&events).unwrap(), "b");
        assert!(
            v.message
                .contains("until the close by the broker at t=5.0s"),
            "{v:?}"
        );
    }
}
