//! Fields that belong to a sample's own wake (firmware/README.md: a late sample keeps its own `reset`): `late`,
//! true exactly when the sample was taken on an earlier wake than the one that sent it, and `reset`, the reset
//! of the wake that took it, as the bench's power history tells it. The console's `boot … seq=…` lines say which
//! wake took which sample.

use super::messages::every_message;
use super::view::RunView;
use super::wakes::{wake_at, wake_of_sample, wakes, Wake};
use super::Verdict;

/// Not judged where no wake announced a seq: which wake took a sample cannot be told.
fn announced<'a>(
    name: &'static str,
    view: &RunView<'a>,
    board: &str,
) -> Result<Vec<Wake<'a>>, Verdict> {
    let wakes = wakes(view, board);
    if wakes.iter().any(|w| w.seq.is_some()) {
        Ok(wakes)
    } else {
        Err(Verdict::not_judged(
            name,
            board,
            "the console announced no wake with a seq (`boot reset=… seq=…`): which wake took each sample is unknown",
        ))
    }
}

pub fn late(view: &RunView, board: &str) -> Verdict {
    let wakes = match announced("late", view, board) {
        Ok(w) => w,
        Err(v) => return v,
    };
    let messages = view.messages(board);
    let late_ones = messages
        .iter()
        .filter(|m| m.field("late").and_then(|l| l.as_bool()) == Some(true))
        .count();
    every_message(
        "late",
        board,
        &messages,
        |m| {
            // A message without a flag or a seq, or whose seq no wake announced, is check payload's or seq's.
            let said = m.field("late")?.as_bool()?;
            let (taken, sample_wake) = wake_of_sample(&wakes, m.seq()?, m.t)?;
            let (sent, sending_wake) = wake_at(&wakes, m.t)?;
            let want = taken != sent;
            if said == want {
                return None;
            }
            let sent_by = if want {
                format!("the wake at t={:.1}s sent it", sending_wake.t)
            } else {
                "the same wake sent it".to_string()
            };
            Some(format!(
                "{} said late: {said}, expected {want}: the wake at t={:.1}s took its sample and {sent_by}",
                m.label(),
                sample_wake.t
            ))
        },
        |n| {
            format!("all {n} messages: late exactly where a later wake sent the sample ({late_ones} late)")
        },
    )
}

/// The reset a wake reports when the bench knows its power history: power-on after a power loss (and at the
/// run's start), deep sleep otherwise (the boards on the bench reset no other way).
fn expected_reset(wake: &Wake) -> &'static str {
    if wake.after_power_loss {
        "power-on"
    } else {
        "deepsleep"
    }
}

pub fn reset(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "sample-reset";
    let wakes = match announced(NAME, view, board) {
        Ok(w) => w,
        Err(v) => return v,
    };
    every_message(
        NAME,
        board,
        &view.messages(board),
        |m| {
            let said = m.field("reset")?.as_str()?;
            let (_, sample_wake) = wake_of_sample(&wakes, m.seq()?, m.t)?;
            let want = expected_reset(sample_wake);
            let why = if sample_wake.after_power_loss {
                "the first after the board was powered up"
            } else {
                "a wake from deep sleep, the power on since the wake before"
            };
            (said != want).then(|| {
                format!(
                    "{} said reset {said:?}, expected {want:?}: its sample's wake (t={:.1}s) was {why}",
                    m.label(),
                    sample_wake.t
                )
            })
        },
        |n| {
            format!("all {n} messages report the reset of the wake that took their sample, as the power history tells it")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::Event;

    fn outage_then(sends: Vec<Event>) -> Vec<Event> {
        let mut events = vec![start(&["b"])];
        events.extend(wake_sending(1.0, "b", 0, &[0]));
        events.extend([
            wake_seq(30.0, "b", "deepsleep", 1),
            console(31.0, "b", "wifi ok 1.0s"),
        ]);
        events.extend(sends);
        events
    }

    #[test]
    fn late_is_true_exactly_for_samples_an_earlier_wake_took() {
        let events = outage_then(wake_sending(60.0, "b", 2, &[1, 2]));
        let v = late(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        assert!(v.message.ends_with("(1 late)"), "{}", v.message);
        let mut events = outage_then(wake_sending(60.0, "b", 2, &[1, 2]));
        for e in &mut events {
            *e = edited(e.clone(), |p| p["late"] = false.into());
        }
        let v = late(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert_eq!(
            v.message,
            "1 of 3 messages: first, seq 1 at t=62.3s said late: false, expected true: the wake at t=30.0s took \
             its sample and the wake at t=61.0s sent it"
        );
    }

    #[test]
    fn a_sample_keeps_its_own_wakes_reset() {
        let events = outage_then(wake_sending(60.0, "b", 2, &[1, 2]));
        assert!(reset(&RunView::new(&events).unwrap(), "b").pass);
        let mut events = vec![start(&["b"])];
        events.extend(wake_sending(1.0, "b", 0, &[0]));
        for e in &mut events {
            *e = edited(e.clone(), |p| p["reset"] = "deepsleep".into());
        }
        let v = reset(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message.ends_with(
                "seq 0 at t=3.3s said reset \"deepsleep\", expected \"power-on\": its sample's wake (t=2.0s) was \
                 the first after the board was powered up"
            ),
            "{}",
            v.message
        );
    }

    #[test]
    fn without_announced_seqs_neither_is_judged() {
        let events = vec![
            start(&["b"]),
            wake(1.0, "b", "power-on"),
            tap_publish(3.0, "b", 0, 0),
        ];
        let view = RunView::new(&events).unwrap();
        for v in [late(&view, "b"), reset(&view, "b")] {
            assert!(
                !v.judged && v.message.contains("announced no wake with a seq"),
                "{v:?}"
            );
        }
    }
}
