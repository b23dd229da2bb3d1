//! Recovery from power loss: the first wake after the supply went below the boards' minimum input (or its
//! output went off) reports the expected reset with seq restarting at 0, since RTC memory died with the power;
//! every other wake is a deep-sleep wake. The run's start counts as a power-up from off.

use super::view::RunView;
use super::Verdict;
use crate::events::Body;
use crate::scenario::ResetExpectation;

/// When the board's supply fell below what its buck converter needs (the starts of its power losses).
pub(super) fn board_power_losses(view: &RunView, board: &str) -> Vec<f64> {
    view.supply_of(board)
        .map(|supply| power_losses(view, supply, crate::scenario::BUCK_MIN_VOLTS))
        .unwrap_or_default()
        .into_iter()
        .map(|(start, _)| start)
        .collect()
}

/// Intervals `[start, end)` during which `supply` could not power a board: output off, commanded below
/// `below`, or measured below it. One still open when the log ends (the run's own switch-off) has no end.
pub fn power_losses(view: &RunView, supply: &str, below: f64) -> Vec<(f64, Option<f64>)> {
    let (mut output_on, mut set_ok, mut measured_ok) = (false, true, true);
    let mut losses: Vec<(f64, Option<f64>)> = vec![(0.0, None)];
    for e in view.events() {
        match &e.body {
            Body::SupplySet {
                supply: s,
                volts,
                output,
                ..
            } if s == supply => {
                if let Some(v) = volts {
                    set_ok = *v >= below;
                }
                if let Some(on) = output {
                    output_on = *on;
                }
            }
            Body::SupplySample {
                supply: s, volts, ..
            } if s == supply => measured_ok = *volts >= below,
            _ => continue,
        }
        let powered = output_on && set_ok && measured_ok;
        match losses.last_mut() {
            Some((_, end @ None)) if powered => *end = Some(e.t),
            Some((_, Some(_))) if !powered => losses.push((e.t, None)),
            _ => {}
        }
    }
    losses
}

pub fn reset_after_power_loss(expect: &ResetExpectation, view: &RunView, board: &str) -> Verdict {
    let fail = |message: String| Verdict::new("reset", board, false, message);
    let Some(supply) = view.supply_of(board) else {
        return fail(format!("{board} is on no supply in the log"));
    };
    let losses: Vec<(f64, f64)> = power_losses(view, supply, expect.below_volts)
        .into_iter()
        .filter_map(|(start, end)| end.map(|end| (start, end)))
        .collect();
    let wakes: Vec<(f64, &str, Option<u64>)> = view
        .events()
        .iter()
        .filter_map(|e| match &e.body {
            Body::BoardWake {
                board: b,
                reset,
                seq,
            } if b == board => Some((e.t, reset.as_str(), *seq)),
            _ => None,
        })
        .collect();
    let mut after_loss = vec![false; wakes.len()];
    for (start, end) in &losses {
        let Some(i) = wakes.iter().position(|(t, ..)| t > start) else {
            return fail(format!(
                "no wake after the power loss at t={start:.1}s..{end:.1}s"
            ));
        };
        after_loss[i] = true;
        let (t, reset, seq) = wakes[i];
        if reset != expect.after_power_loss {
            return fail(format!(
                "after the power loss at t={start:.1}s..{end:.1}s the first wake (t={t:.1}s) reported reset={reset}, expected {}",
                expect.after_power_loss
            ));
        }
        if let Some(seq) = seq.filter(|s| *s != 0) {
            return fail(format!(
                "after the power loss at t={start:.1}s..{end:.1}s the first wake (t={t:.1}s) announced seq={seq}: RTC memory is lost with the power, so seq must restart at 0"
            ));
        }
    }
    if losses.len() < 2 {
        return fail(format!(
            "no power loss (supply below {} V or output off) was recorded after the run's start",
            expect.below_volts
        ));
    }
    let others: Vec<_> = wakes
        .iter()
        .zip(&after_loss)
        .filter(|(_, after)| !**after)
        .map(|(w, _)| w)
        .collect();
    if let Some((t, reset, _)) = others.iter().find(|(_, reset, _)| *reset != "deepsleep") {
        return fail(format!(
            "unexpected reset={reset} at t={t:.1}s with no power loss before it: only deep-sleep wakes were expected"
        ));
    }
    let windows: Vec<String> = losses[1..]
        .iter()
        .map(|(s, e)| format!("t={s:.1}s..{e:.1}s"))
        .collect();
    Verdict::new(
        "reset",
        board,
        true,
        format!(
            "{} power loss(es) ({}), each followed by a {} wake with seq 0; the other {} wakes were deep-sleep wakes",
            windows.len(),
            windows.join(", "),
            expect.after_power_loss,
            others.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::Event;

    fn expect() -> ResetExpectation {
        ResetExpectation {
            after_power_loss: "power-on".into(),
            below_volts: 4.5,
        }
    }

    fn set(t: f64, volts: Option<f64>, output: Option<bool>) -> Event {
        Event {
            t,
            body: Body::SupplySet {
                supply: "twin:1".into(),
                volts,
                amps: None,
                output,
            },
        }
    }

    fn wake_seq(t: f64, reset: &str, seq: u64) -> Event {
        Event {
            t,
            body: Body::BoardWake {
                board: "b".into(),
                reset: reset.into(),
                seq: Some(seq),
            },
        }
    }

    /// Power on at 0.1 s, wakes at 5 and 35, a dip to 4 V from 50 to 80 s, then `after` at 82 s and a
    /// deep-sleep wake at 112 s; the run switches the supply off at 120 s.
    fn brownout(after: Event) -> Vec<Event> {
        vec![
            start(&["b"]),
            set(0.0, Some(12.6), None),
            set(0.1, None, Some(true)),
            sample(0.2, 12.6),
            wake_seq(5.0, "power-on", 0),
            wake_seq(35.0, "deepsleep", 1),
            set(50.0, Some(4.0), None),
            sample(50.5, 4.0),
            set(80.0, Some(12.6), None),
            sample(80.5, 12.6),
            after,
            wake_seq(112.0, "deepsleep", 1),
            set(120.0, None, Some(false)),
            sample(120.2, 0.0),
        ]
    }

    #[test]
    fn a_brownout_followed_by_a_power_on_wake_with_seq_zero_passes() {
        let events = brownout(wake_seq(82.0, "power-on", 0));
        let v = reset_after_power_loss(&expect(), &RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{}", v.message);
        assert!(
            v.message.contains("1 power loss(es) (t=50.0s..80.5s)"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_kept_seq_or_a_wrong_reset_after_the_loss_fails() {
        let events = brownout(wake_seq(82.0, "power-on", 2));
        let v = reset_after_power_loss(&expect(), &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(v.message.contains("announced seq=2"), "{}", v.message);
        let events = brownout(wake_seq(82.0, "deepsleep", 2));
        let v = reset_after_power_loss(&expect(), &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message
                .contains("(t=82.0s) reported reset=deepsleep, expected power-on"),
            "{}",
            v.message
        );
    }

    #[test]
    fn output_off_counts_as_a_loss_and_a_watchdog_reset_elsewhere_fails() {
        let events = vec![
            start(&["b"]),
            set(0.0, Some(12.6), Some(true)),
            wake_seq(5.0, "power-on", 0),
            set(40.0, None, Some(false)),
            set(60.0, None, Some(true)),
            wake_seq(63.0, "power-on", 0),
            wake_seq(93.0, "watchdog", 1),
        ];
        let v = reset_after_power_loss(&expect(), &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message.contains("unexpected reset=watchdog at t=93.0s"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_run_without_a_power_loss_fails() {
        let events = vec![
            start(&["b"]),
            set(0.0, Some(12.6), Some(true)),
            wake_seq(5.0, "power-on", 0),
            wake_seq(35.0, "deepsleep", 1),
        ];
        let v = reset_after_power_loss(&expect(), &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(v.message.contains("no power loss"), "{}", v.message);
    }
}
