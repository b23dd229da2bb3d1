//! Check `seq`: the count carries on across wakes and restarts only where RTC memory died. Each wake announces
//! the seq after the last sample taken (firmware/README.md: the sample is saved before WiFi starts, so a wake
//! that reached WiFi took one), 0 after the board lost its power; and every message's seq is one a wake announced.

use super::view::RunView;
use super::wakes::{wake_of_sample, wakes};
use super::Verdict;

pub fn check(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "seq";
    let wakes = wakes(view, board);
    if wakes.is_empty() {
        return Verdict::not_judged(
            NAME,
            board,
            "the console announced no wake (`boot reset=… seq=…`)",
        );
    }
    let fail = |message: String| Verdict::new(NAME, board, false, message);
    let mut previous: Option<(f64, u64, bool)> = None;
    for w in &wakes {
        let Some(seq) = w.seq else {
            return Verdict::not_judged(
                NAME,
                board,
                &format!("the wake at t={:.1}s announced no seq", w.t),
            );
        };
        let (want, why) = match previous {
            _ if w.after_power_loss => (
                0,
                "the board had lost its power, and RTC memory with it".to_string(),
            ),
            Some((t, before, true)) => (
                before + 1,
                format!("the wake at t={t:.1}s announced {before} and took its sample"),
            ),
            Some((t, before, false)) => (
                before,
                format!("the wake at t={t:.1}s announced {before} and took no sample"),
            ),
            None => (0, "it is the first wake".to_string()),
        };
        if seq != want {
            return fail(format!(
                "the wake at t={:.1}s announced seq {seq}, expected {want}: {why}",
                w.t
            ));
        }
        previous = Some((w.t, seq, w.sampled));
    }
    let messages = view.messages(board);
    if let Some(m) = messages.iter().find(|m| {
        m.seq()
            .is_some_and(|seq| wake_of_sample(&wakes, seq, m.t).is_none())
    }) {
        return fail(format!(
            "{}: no wake announced that seq before it",
            m.label()
        ));
    }
    let restarts = wakes.iter().skip(1).filter(|w| w.after_power_loss).count();
    Verdict::new(
        NAME,
        board,
        true,
        format!(
            "{} wakes counted on from seq 0 ({restarts} restart(s) after a power loss); the {} messages' seqs were \
             all announced",
            wakes.len(),
            messages.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    #[test]
    fn the_count_goes_on_by_each_sample_taken() {
        let mut events = vec![start(&["b"])];
        events.extend(wake_sending(1.0, "b", 0, &[0]));
        // A wake that failed before its sample (a config error) leaves the count where it was.
        events.push(wake_seq(30.0, "b", "deepsleep", 1));
        events.extend(wake_sending(60.0, "b", 1, &[1]));
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        events.push(wake_seq(90.0, "b", "deepsleep", 3));
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert_eq!(
            v.message,
            "the wake at t=90.0s announced seq 3, expected 2: the wake at t=61.0s announced 1 and took its sample"
        );
    }

    #[test]
    fn a_message_with_a_seq_no_wake_announced_fails() {
        let mut events = vec![start(&["b"])];
        events.extend(wake_sending(1.0, "b", 0, &[0, 5]));
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert_eq!(
            v.message,
            "seq 5 at t=3.3s: no wake announced that seq before it"
        );
    }

    #[test]
    fn the_first_wake_counts_from_zero() {
        let events = vec![start(&["b"]), wake_seq(2.0, "b", "power-on", 7)];
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(
            v.message
                .ends_with("expected 0: the board had lost its power, and RTC memory with it"),
            "the run's start is a power-up: {v:?}"
        );
    }
}
