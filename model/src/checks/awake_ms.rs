//! Check `awake-ms`: each message's `awake_ms` is how long the wake that sent it had been awake (firmware/README.md:
//! a late sample carries its sending wake's), against the time from that wake's reset, as the bench saw it, to the
//! message's arrival at the tap. A later copy of a sample in the same session (a QoS 1 resend) repeats the first
//! copy's bytes and is judged by it.

use super::messages::every_message;
use super::view::RunView;
use super::wakes::reset_instants;
use super::Verdict;

/// How far `awake_ms` may fall short of the bench's measure: the chip's ticks start a little after its reset,
/// and a twin's once its VM has started, which a busy host delays by up to a second or two of device time.
pub const SHORT_S: f64 = 2.0;
/// How far it may exceed it: the tap stamps a message as its event reaches the log.
pub const OVER_S: f64 = 0.5;

pub fn check(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "awake-ms";
    let Some((resets, source)) = reset_instants(view, board) else {
        return Verdict::not_judged(
            NAME,
            board,
            "neither a ROM reset banner on the console nor a supply current of its own shows when its wakes began",
        );
    };
    every_message(
        NAME,
        board,
        &view.first_copies(board),
        |m| {
            let said = m.field("awake_ms")?.as_f64()? / 1000.0;
            let reset = resets.iter().rev().find(|t| **t <= m.t)?;
            let measured = m.t - reset;
            (said < measured - SHORT_S || said > measured + OVER_S).then(|| {
                format!(
                    "{} said awake_ms {:.0} ({said:.2} s); it arrived {measured:.2} s after its wake's reset at \
                     t={reset:.1}s ({source}); allowed {SHORT_S} s less to {OVER_S} s more",
                    m.label(),
                    said * 1000.0
                )
            })
        },
        |n| {
            format!(
                "all {n} messages within {SHORT_S} s less to {OVER_S} s more than the time since their wake's reset \
                 ({source})"
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    #[test]
    fn awake_ms_is_the_time_since_the_sending_wakes_reset() {
        let mut events = vec![start(&["b"])];
        events.extend(wake_sending(10.0, "b", 0, &[0]));
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        assert!(
            v.message.contains("(the ROM's reset banner)"),
            "{}",
            v.message
        );
        // A resend 5 s later still says 2.3 s: it repeats its first copy, which is the one judged.
        let mut resent = events.clone();
        let close = resent.pop().unwrap();
        resent.push(edited(tap_publish(7.3, "b", 0, 0), |p| {
            p["awake_ms"] = 2300.into()
        }));
        resent.push(close);
        let v = check(&RunView::new(&resent).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        assert!(v.message.starts_with("all 1 messages"), "{}", v.message);
        for (awake_ms, passes) in [
            (2300, true),
            (500, true),
            (200, false),
            (2700, true),
            (2900, false),
        ] {
            for e in &mut events {
                *e = edited(e.clone(), |p| p["awake_ms"] = awake_ms.into());
            }
            let v = check(&RunView::new(&events).unwrap(), "b");
            assert_eq!(v.pass, passes, "awake_ms {awake_ms}: {v:?}");
        }
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(
            v.message.contains(
                "seq 0 at t=12.3s said awake_ms 2900 (2.90 s); it arrived 2.30 s after its wake's reset at t=10.0s"
            ),
            "{}",
            v.message
        );
    }

    #[test]
    fn without_a_reset_instant_it_is_not_judged() {
        let events = vec![
            start(&["b"]),
            wake_seq(1.0, "b", "power-on", 0),
            tap_publish(3.0, "b", 0, 0),
        ];
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(!v.judged && v.message.contains("ROM reset banner"), "{v:?}");
    }
}
