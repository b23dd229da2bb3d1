//! The backlog as the bench accounts for it, wake by wake (firmware/README.md: a sample is saved before WiFi
//! starts and removed once published; 16 are kept, beyond that the oldest is dropped and counted; RTC memory dies
//! with the power). Checks `backlog` (each wake sends what is due, oldest first, its own sample last) and
//! `dropped` (each message reports what a full backlog dropped since the last report).

use super::tap_log::{Message, Session};
use super::view::RunView;
use super::wakes::{wakes, Wake};
use super::Verdict;
use std::collections::VecDeque;

/// The samples the firmware's RTC backlog holds (firmware/README.md).
pub const BACKLOG_SIZE: usize = 16;

/// One wake's account: what was due, what the board sent, and what the broker confirmed.
struct Account<'a> {
    wake: Wake<'a>,
    /// The seqs due, oldest first: the backlog with this wake's own sample last.
    due: Vec<u64>,
    /// Samples a full backlog dropped since the last message the broker confirmed.
    dropped: u64,
    /// Each sample the wake sent, in order, with every copy of it (a QoS 1 resend is one), and whether the broker
    /// confirmed it.
    sent: Vec<(Vec<Message<'a>>, bool)>,
    /// The wake ended its session with DISCONNECT: it meant to send all that was due.
    finished: bool,
}

/// Replays the board's wakes; Err: why the backlog cannot be accounted for.
fn accounts<'a>(view: &RunView<'a>, board: &str) -> Result<Vec<Account<'a>>, String> {
    let wakes = wakes(view, board);
    if wakes.is_empty() {
        return Err("the console announced no wake (`boot reset=… seq=…`)".into());
    }
    if let Some(w) = wakes.iter().find(|w| w.seq.is_none()) {
        return Err(format!("the wake at t={:.1}s announced no seq", w.t));
    }
    let sessions = view.sessions(board);
    let mut pending: VecDeque<u64> = VecDeque::new();
    let mut dropped = 0;
    let mut accounts = Vec::with_capacity(wakes.len());
    for (i, wake) in wakes.iter().enumerate() {
        if wake.after_power_loss {
            pending.clear();
            dropped = 0;
        }
        if let (true, Some(seq)) = (wake.sampled, wake.seq) {
            pending.push_back(seq);
            if pending.len() > BACKLOG_SIZE {
                pending.pop_front();
                dropped += 1;
            }
        }
        let end = wakes.get(i + 1).map_or(f64::INFINITY, |next| next.t);
        let during: Vec<&Session<'a>> = sessions
            .iter()
            .filter(|s| (wake.t..end).contains(&s.connect))
            .collect();
        let sent = sent_by(&during);
        let account = Account {
            wake: *wake,
            due: pending.iter().copied().collect(),
            dropped,
            finished: during.last().is_some_and(|s| s.disconnect.is_some()),
            sent,
        };
        // The firmware removes a sample once the broker has it, and stops at the first it could not send.
        for (copies, confirmed) in &account.sent {
            if !confirmed {
                break;
            }
            if let Some(at) = pending.iter().position(|s| Some(*s) == copies[0].seq()) {
                pending.remove(at);
            }
            dropped = 0;
        }
        accounts.push(account);
    }
    Ok(accounts)
}

/// The samples sent in these sessions, in order of their first copy.
fn sent_by<'a>(sessions: &[&Session<'a>]) -> Vec<(Vec<Message<'a>>, bool)> {
    let mut sent: Vec<(Vec<Message<'a>>, bool)> = Vec::new();
    for session in sessions {
        for m in &session.messages {
            let confirmed = session.confirmed(m);
            match sent
                .iter_mut()
                .find(|(copies, _)| m.seq().is_some() && copies[0].seq() == m.seq())
            {
                Some((copies, c)) => {
                    copies.push(*m);
                    *c |= confirmed;
                }
                None => sent.push((vec![*m], confirmed)),
            }
        }
    }
    sent
}

fn seqs(seqs: &[u64]) -> String {
    match seqs {
        [] => "none".into(),
        [one] => format!("seq {one}"),
        [first, .., last] if last - first + 1 == seqs.len() as u64 => {
            format!("seq {first}..={last}")
        }
        _ => format!("seqs {seqs:?}"),
    }
}

/// Check `backlog`: each wake sends the samples due, oldest first, then its own; a wake that ends its session
/// cleanly sends all of them.
pub fn order(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "backlog";
    let accounts = match accounts(view, board) {
        Ok(a) => a,
        Err(why) => return Verdict::not_judged(NAME, board, &why),
    };
    for a in &accounts {
        let sent: Vec<Option<u64>> = a.sent.iter().map(|(copies, _)| copies[0].seq()).collect();
        let when = format!("the wake at t={:.1}s (due: {})", a.wake.t, seqs(&a.due));
        for (k, seq) in sent.iter().enumerate() {
            let label = a.sent[k].0[0].label();
            let wrong = match (a.due.get(k), seq) {
                (Some(want), Some(got)) if want == got => continue,
                (Some(want), _) => format!("message {} was {label}, expected seq {want}", k + 1),
                (None, _) => format!("message {} ({label}) was not due", k + 1),
            };
            return Verdict::new(NAME, board, false, format!("{when}: {wrong}"));
        }
        if a.finished && sent.len() < a.due.len() {
            return Verdict::new(
                NAME,
                board,
                false,
                format!(
                    "{when}: sent {} and disconnected; {} never sent",
                    sent.len(),
                    seqs(&a.due[sent.len()..])
                ),
            );
        }
    }
    let largest = accounts
        .iter()
        .filter(|a| !a.sent.is_empty())
        .max_by_key(|a| a.sent.len());
    let dropped: u64 = accounts
        .iter()
        .filter_map(|a| a.sent.first().map(|_| a.dropped))
        .sum();
    let largest = largest.map_or_else(
        || "no wake sent anything".to_string(),
        |a| {
            format!(
                "most in one wake: {} ({}, t={:.1}s)",
                a.sent.len(),
                seqs(&a.due),
                a.wake.t
            )
        },
    );
    Verdict::new(
        NAME,
        board,
        true,
        format!(
            "{} wakes, each sent what was due, oldest first, its own sample last; {largest}; {dropped} sample(s) \
             dropped by a full backlog of {BACKLOG_SIZE}",
            accounts.len()
        ),
    )
}

/// Check `dropped`: the first sample a wake sends carries `dropped` = the samples a full backlog dropped since the
/// broker last confirmed one (the key left out for 0); every other message carries none.
pub fn dropped(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "dropped";
    let accounts = match accounts(view, board) {
        Ok(a) => a,
        Err(why) => return Verdict::not_judged(NAME, board, &why),
    };
    let mut reported = 0;
    for a in &accounts {
        for (k, (copies, _)) in a.sent.iter().enumerate() {
            let want = if k == 0 { a.dropped } else { 0 };
            for m in copies {
                // A `dropped` that is no count is check `payload`'s to report.
                let Some(seen) = m
                    .field("dropped")
                    .map_or(Some(0), serde_json::Value::as_u64)
                else {
                    continue;
                };
                if seen != want {
                    return Verdict::new(
                        NAME,
                        board,
                        false,
                        format!(
                            "{} reported dropped {seen}, expected {want}: a backlog of {BACKLOG_SIZE} had dropped \
                             {} sample(s) when the wake at t={:.1}s began, {}",
                            m.label(),
                            a.dropped,
                            a.wake.t,
                            if k == 0 {
                                "and this is its first message"
                            } else {
                                "reported by its first message"
                            }
                        ),
                    );
                }
            }
            reported += want;
        }
    }
    let sent: usize = accounts.iter().map(|a| a.sent.len()).sum();
    if sent == 0 {
        return Verdict::not_judged(NAME, board, &format!("the tap saw no message from {board}"));
    }
    Verdict::new(
        NAME,
        board,
        true,
        format!("{sent} samples sent; {reported} dropped sample(s) reported, each where due"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::Event;

    /// A wake at `t` announcing `seq` whose broker is down: it takes its sample and sends nothing.
    fn offline(t: f64, seq: u64) -> Vec<Event> {
        vec![
            wake_seq(t, "b", "deepsleep", seq),
            console(t + 1.0, "b", "wifi ok 1.0s"),
            console(t + 1.1, "b", "mqtt fail ECONNRESET"),
        ]
    }

    /// A run of `outage` offline wakes after seq 0 was sent, then a wake sending `sends`.
    fn run(outage: u64, sends: &[u64]) -> Vec<Event> {
        let mut events = vec![start(&["b"])];
        events.extend(wake_sending(1.0, "b", 0, &[0]));
        for seq in 1..=outage {
            events.extend(offline(seq as f64 * 10.0, seq));
        }
        events.extend(wake_sending(
            (outage + 1) as f64 * 10.0,
            "b",
            outage + 1,
            sends,
        ));
        events
    }

    #[test]
    fn the_backlog_comes_oldest_first_then_the_fresh_sample() {
        let events = run(3, &[1, 2, 3, 4]);
        let view = RunView::new(&events).unwrap();
        let v = order(&view, "b");
        assert!(v.pass, "{v:?}");
        assert!(
            v.message
                .contains("most in one wake: 4 (seq 1..=4, t=41.0s); 0 sample(s) dropped"),
            "{}",
            v.message
        );
        let v = order(&RunView::new(&run(3, &[4, 3, 2, 1])).unwrap(), "b");
        assert!(!v.pass);
        assert_eq!(
            v.message,
            "the wake at t=41.0s (due: seq 1..=4): message 1 was seq 4 at t=42.3s, expected seq 1"
        );
        let v = order(&RunView::new(&run(3, &[1, 2, 4])).unwrap(), "b");
        assert!(
            v.message
                .ends_with("message 3 was seq 4 at t=42.3s, expected seq 3"),
            "{}",
            v.message
        );
        let v = order(&RunView::new(&run(3, &[1, 2])).unwrap(), "b");
        assert!(
            v.message
                .ends_with("sent 2 and disconnected; seq 3..=4 never sent"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_full_backlog_keeps_the_newest_sixteen_and_reports_the_rest_once() {
        // Nineteen offline wakes: with the fresh sample 20 are due, 16 kept, 4 dropped.
        let sends: Vec<u64> = (5..=20).collect();
        let reported = |mut events: Vec<Event>, first: u64| {
            for e in &mut events {
                if matches!(&e.body, crate::events::Body::Publish { payload, .. } if payload["seq"] == first)
                {
                    *e = edited(e.clone(), |p| p["dropped"] = 4.into());
                }
            }
            events
        };
        let events = reported(run(19, &sends), 5);
        let view = RunView::new(&events).unwrap();
        let v = order(&view, "b");
        assert!(v.pass, "{v:?}");
        assert!(
            v.message
                .contains("4 sample(s) dropped by a full backlog of 16"),
            "{}",
            v.message
        );
        let v = dropped(&view, "b");
        assert!(v.pass, "{v:?}");
        assert_eq!(
            v.message,
            "17 samples sent; 4 dropped sample(s) reported, each where due"
        );
        let v = dropped(&RunView::new(&run(19, &sends)).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message.starts_with(
                "seq 5 at t=202.3s reported dropped 0, expected 4: a backlog of 16 had dropped 4 sample(s) when \
                 the wake at t=201.0s began"
            ),
            "{}",
            v.message
        );
        let v = dropped(&RunView::new(&reported(run(19, &sends), 6)).unwrap(), "b");
        assert!(
            v.message
                .contains("seq 5 at t=202.3s reported dropped 0, expected 4"),
            "{}",
            v.message
        );
        let v = order(
            &RunView::new(&run(19, &(4..=19).collect::<Vec<_>>())).unwrap(),
            "b",
        );
        assert!(
            v.message
                .ends_with("message 1 was seq 4 at t=202.3s, expected seq 5"),
            "{}",
            v.message
        );
    }

    #[test]
    fn an_unconfirmed_qos1_sample_stays_due_and_a_power_loss_empties_the_backlog() {
        let power = |t: f64, on: bool| Event {
            t,
            body: crate::events::Body::SupplySet {
                supply: "twin:1".into(),
                volts: Some(12.6),
                amps: None,
                output: Some(on),
            },
        };
        let mut events = vec![start(&["b"]), power(0.0, true)];
        events.extend(wake_sending(1.0, "b", 0, &[0]));
        // Seq 1 went out at QoS 1 and its PUBACK was dropped: still due on the next wake.
        events.extend([
            wake_seq(11.0, "b", "deepsleep", 1),
            console(12.0, "b", "wifi ok 1.0s"),
            tap_connect(12.1, "b", 60),
            tap_connack(12.2, "b", 0),
            tap_publish(12.3, "b", 1, 7),
            tap_puback(12.4, "b", 7, true),
            tap_close(18.0, "b"),
        ]);
        events.extend(wake_sending(21.0, "b", 2, &[1, 2]));
        let v = order(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        events.extend([power(25.0, false), power(29.0, true)]);
        events.extend(offline(31.0, 0));
        events.extend(wake_sending(41.0, "b", 1, &[0, 1]));
        let v = order(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "the loss at t=25 s emptied the backlog: {v:?}");
    }

    #[test]
    fn without_seqs_on_the_console_it_is_not_judged() {
        let events = vec![start(&["b"]), wake(1.0, "b", "power-on")];
        let v = order(&RunView::new(&events).unwrap(), "b");
        assert!(!v.judged);
        assert_eq!(v.message, "not judged: the wake at t=1.0s announced no seq");
    }
}
