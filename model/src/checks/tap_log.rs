//! A board's MQTT traffic as the tap saw it: the messages it published, and its sessions packet by packet.

use super::view::RunView;
use crate::events::Body;
use serde_json::Value;

/// A message the tap saw the board publish.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Message<'a> {
    pub t: f64,
    pub topic: &'a str,
    pub qos: u8,
    pub retain: bool,
    pub dup: bool,
    pub pkid: Option<u16>,
    /// Parsed JSON, or the text when it is not JSON.
    pub payload: &'a Value,
}

impl<'a> Message<'a> {
    /// The contract payload's field `key` (firmware/README.md), if the payload is an object that has it.
    pub fn field(&self, key: &str) -> Option<&'a Value> {
        self.payload.get(key)
    }

    pub fn seq(&self) -> Option<u64> {
        self.field("seq")?.as_u64()
    }

    /// For messages: `seq 41 at t=3.0s`, or `the message at t=3.0s` when it has no seq.
    pub fn label(&self) -> String {
        match self.seq() {
            Some(seq) => format!("seq {seq} at t={:.1}s", self.t),
            None => format!("the message at t={:.1}s", self.t),
        }
    }
}

/// One MQTT connection of a board, as the tap saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Session<'a> {
    /// The tap's number for the connection (None in older logs).
    pub conn: Option<u64>,
    pub connect: f64,
    pub keepalive: u16,
    pub accepted: bool,
    /// When the client sent DISCONNECT.
    pub disconnect: Option<f64>,
    /// When the connection ended, and who ended it (`client`, `broker` or `tap`).
    pub close: Option<(f64, &'a str)>,
    /// Every packet the client sent, in order: (t, packet).
    pub sent: Vec<(f64, &'static str)>,
    /// The messages published before any DISCONNECT: those the broker takes.
    pub messages: Vec<Message<'a>>,
    /// Messages published after the client's DISCONNECT, which the broker discards.
    pub after_disconnect: Vec<Message<'a>>,
    /// Packet ids whose PUBACK from the broker reached the client (a `puback-drop` fault's are not among them).
    pub acked: Vec<u16>,
}

impl Session<'_> {
    pub fn close_time(&self) -> Option<f64> {
        self.close.map(|(t, _)| t)
    }

    /// Whether the broker acknowledged `message` to the client: always for QoS 0, which has no acknowledgement.
    pub fn confirmed(&self, message: &Message) -> bool {
        message.qos == 0 || message.pkid.is_some_and(|id| self.acked.contains(&id))
    }
}

impl<'a> RunView<'a> {
    /// Every message the tap saw `board` publish, in order.
    pub fn messages(&self, board: &str) -> Vec<Message<'a>> {
        self.events()
            .iter()
            .filter_map(|e| message(e.t, &e.body, board))
            .collect()
    }

    /// The board's MQTT sessions as the tap saw them, in order. Each event goes to its connection's session: two
    /// connections' events may interleave in the log (each is recorded by a task of its own).
    pub fn sessions(&self, board: &str) -> Vec<Session<'a>> {
        let mut sessions: Vec<Session<'a>> = Vec::new();
        for e in self.events() {
            match &e.body {
                Body::Connect {
                    board: b,
                    keepalive,
                    conn,
                    ..
                } if b == board => sessions.push(Session {
                    conn: *conn,
                    connect: e.t,
                    keepalive: *keepalive,
                    accepted: false,
                    disconnect: None,
                    close: None,
                    sent: vec![(e.t, "CONNECT")],
                    messages: Vec::new(),
                    after_disconnect: Vec::new(),
                    acked: Vec::new(),
                }),
                Body::Publish {
                    board: Some(b),
                    source,
                    conn,
                    ..
                } if b == board && source == "tap" => {
                    let (Some(s), Some(m)) = (
                        session_of(&mut sessions, *conn),
                        message(e.t, &e.body, board),
                    ) else {
                        continue;
                    };
                    s.sent.push((e.t, "PUBLISH"));
                    if s.disconnect.is_some() {
                        s.after_disconnect.push(m);
                    } else {
                        s.messages.push(m);
                    }
                }
                Body::Connack {
                    board: b,
                    code,
                    source,
                    conn,
                    ..
                } if b == board && source.starts_with("tap") => {
                    if let Some(s) = session_of(&mut sessions, *conn) {
                        s.accepted = *code == 0;
                    }
                }
                Body::Puback {
                    board: b,
                    pkid,
                    from,
                    dropped,
                    conn,
                } if b == board => {
                    if let Some(s) = session_of(&mut sessions, *conn) {
                        if from == "client" {
                            s.sent.push((e.t, "PUBACK"));
                        } else if !dropped {
                            s.acked.push(*pkid);
                        }
                    }
                }
                Body::PingReq { board: b, conn } if b == board => {
                    if let Some(s) = session_of(&mut sessions, *conn) {
                        s.sent.push((e.t, "PINGREQ"));
                    }
                }
                Body::Disconnect { board: b, conn } if b == board => {
                    if let Some(s) = session_of(&mut sessions, *conn) {
                        s.sent.push((e.t, "DISCONNECT"));
                        s.disconnect.get_or_insert(e.t);
                    }
                }
                Body::Close {
                    board: b, by, conn, ..
                } if b == board => {
                    if let Some(s) = session_of(&mut sessions, *conn) {
                        s.close = Some((e.t, by));
                    }
                }
                _ => {}
            }
        }
        sessions
    }

    /// The first copy of each sample in each session, in order: a later copy (a QoS 1 resend, or a duplicate,
    /// which check `duplicates` judges) repeats its bytes.
    pub fn first_copies(&self, board: &str) -> Vec<Message<'a>> {
        let mut firsts = Vec::new();
        for s in self.sessions(board) {
            let mut seen = Vec::new();
            for m in s.messages.iter().chain(&s.after_disconnect) {
                match m.seq() {
                    Some(seq) if seen.contains(&seq) => {}
                    seq => {
                        seen.extend(seq);
                        firsts.push(*m);
                    }
                }
            }
        }
        firsts
    }

    /// (CONNECT, close) times of each of the board's MQTT connections the tap saw end.
    pub fn connection_windows(&self, board: &str) -> Vec<(f64, f64)> {
        self.sessions(board)
            .into_iter()
            .filter_map(|s| Some((s.connect, s.close_time()?)))
            .collect()
    }
}

/// The open session an event of connection `conn` belongs to; in logs from before the tap numbered its
/// connections, the latest one still open.
fn session_of<'s, 'a>(
    sessions: &'s mut [Session<'a>],
    conn: Option<u64>,
) -> Option<&'s mut Session<'a>> {
    match conn {
        Some(c) => sessions
            .iter_mut()
            .rev()
            .find(|s| s.conn == Some(c) && s.close.is_none()),
        None => sessions.last_mut().filter(|s| s.close.is_none()),
    }
}

fn message<'a>(t: f64, body: &'a Body, board: &str) -> Option<Message<'a>> {
    match body {
        Body::Publish {
            topic,
            payload,
            retain,
            source,
            board: Some(b),
            qos,
            dup,
            pkid,
            ..
        } if b == board && source == "tap" => Some(Message {
            t,
            topic,
            qos: qos.unwrap_or(0),
            retain: *retain,
            dup: *dup,
            pkid: *pkid,
            payload,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::Event;

    #[test]
    fn a_session_keeps_its_packets_in_order_and_tells_what_came_after_disconnect() {
        let at = |t: f64, body: Body| Event { t, body };
        let events = vec![
            start(&["b"]),
            tap_connect(1.0, "b", 60),
            tap_connack(1.1, "b", 0),
            tap_publish(1.2, "b", 0, 1),
            at(
                1.3,
                Body::PingReq {
                    board: "b".into(),
                    conn: None,
                },
            ),
            tap_puback(1.4, "b", 1, false),
            tap_publish(1.5, "b", 1, 2),
            tap_puback(1.6, "b", 2, true),
            at(
                1.7,
                Body::Disconnect {
                    board: "b".into(),
                    conn: None,
                },
            ),
            tap_publish(1.8, "b", 1, 2),
            tap_close(1.9, "b"),
            tap_publish(5.0, "b", 2, 3),
        ];
        let view = RunView::new(&events).unwrap();
        let sessions = view.sessions("b");
        assert_eq!(sessions.len(), 1, "{sessions:?}");
        let s = &sessions[0];
        assert!(s.accepted);
        let sent: Vec<&str> = s.sent.iter().map(|(_, p)| *p).collect();
        assert_eq!(
            sent,
            [
                "CONNECT",
                "PUBLISH",
                "PINGREQ",
                "PUBLISH",
                "DISCONNECT",
                "PUBLISH"
            ]
        );
        assert_eq!(s.messages.len(), 2);
        assert_eq!(s.after_disconnect.len(), 1);
        assert_eq!(s.acked, [1], "the dropped PUBACK never reached the client");
        assert!(s.confirmed(&s.messages[0]) && !s.confirmed(&s.messages[1]));
        assert_eq!(s.close, Some((1.9, "client")));
        assert_eq!(
            view.messages("b").len(),
            4,
            "every message, in a session or not"
        );
        let firsts: Vec<(f64, Option<u64>)> = view
            .first_copies("b")
            .iter()
            .map(|m| (m.t, m.seq()))
            .collect();
        assert_eq!(
            firsts,
            [(1.2, Some(0)), (1.5, Some(1))],
            "the copy after DISCONNECT repeats seq 1; seq 2 came in no session"
        );
    }

    #[test]
    fn interleaved_connections_are_told_apart_by_their_number() {
        // A probe connection's DISCONNECT and close are recorded after the next connection's CONNECT: each is
        // recorded by a task of its own.
        let disconnect = |t: f64| Event {
            t,
            body: Body::Disconnect {
                board: "b".into(),
                conn: None,
            },
        };
        let events = vec![
            start(&["b"]),
            on_conn(tap_connect(4.37, "b", 60), 1),
            on_conn(tap_connack(4.38, "b", 0), 1),
            on_conn(tap_connect(4.40, "b", 60), 2),
            on_conn(disconnect(4.41), 1),
            on_conn(tap_close(4.41, "b"), 1),
            on_conn(tap_connack(4.43, "b", 0), 2),
            on_conn(tap_publish(4.44, "b", 0, 0), 2),
            on_conn(disconnect(4.45), 2),
            on_conn(tap_close(4.45, "b"), 2),
        ];
        let sessions = RunView::new(&events).unwrap().sessions("b");
        let seen: Vec<(Option<u64>, bool, usize, Option<f64>)> = sessions
            .iter()
            .map(|s| (s.conn, s.accepted, s.messages.len(), s.disconnect))
            .collect();
        assert_eq!(
            seen,
            [
                (Some(1), true, 0, Some(4.41)),
                (Some(2), true, 1, Some(4.45))
            ]
        );
    }
}
