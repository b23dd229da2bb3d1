//! Period: the time between consecutive wakes stays within tolerance of nominal.

use super::view::RunView;
use super::Verdict;
use crate::scenario::PeriodExpectation;

pub fn check(expect: &PeriodExpectation, view: &RunView, board: &str) -> Verdict {
    let wakes = view.wakes(board);
    // Only deep-sleep wakes measure the period; a power-on or watchdog reset restarts the count.
    let intervals: Vec<(f64, f64)> = wakes
        .windows(2)
        .filter(|w| w[1].1 == "deepsleep")
        .map(|w| (w[1].0, w[1].0 - w[0].0))
        .collect();
    let range = format!(
        "{:.1}s..={:.1}s ({}s ± {})",
        expect.nominal - expect.tolerance,
        expect.nominal + expect.tolerance,
        expect.nominal,
        expect.tolerance_text
    );
    if intervals.is_empty() {
        return Verdict::new(
            "period",
            board,
            false,
            format!(
                "expected wakes every {range}, but saw {} wake(s) and no deep-sleep interval",
                wakes.len()
            ),
        );
    }
    let outside: Vec<&(f64, f64)> = intervals
        .iter()
        .filter(|(_, dt)| (dt - expect.nominal).abs() > expect.tolerance)
        .collect();
    let (min, max) = intervals
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (_, dt)| {
            (lo.min(*dt), hi.max(*dt))
        });
    match outside.first() {
        Some((t, dt)) => Verdict::new(
            "period",
            board,
            false,
            format!(
                "{} of {} intervals outside {range}; first: {dt:.1}s ending at t={t:.1}s (all {min:.1}s..{max:.1}s)",
                outside.len(),
                intervals.len()
            ),
        ),
        None => Verdict::new(
            "period",
            board,
            true,
            format!("{} intervals, {min:.1}s..{max:.1}s, within {range}", intervals.len()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn expect() -> PeriodExpectation {
        PeriodExpectation {
            nominal: 60.0,
            tolerance: 6.0,
            tolerance_text: "10%".into(),
        }
    }

    #[test]
    fn passes_within_tolerance_and_ignores_power_on_gaps() {
        let events = vec![
            start(&["b"]),
            wake(0.0, "b", "power-on"),
            wake(61.0, "b", "deepsleep"),
            wake(122.0, "b", "deepsleep"),
            wake(400.0, "b", "power-on"),
            wake(459.0, "b", "deepsleep"),
        ];
        let v = check(&expect(), &RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{}", v.message);
        assert!(v.message.contains("3 intervals"), "{}", v.message);
    }

    #[test]
    fn fails_on_a_long_sleep_saying_when() {
        let events = vec![
            start(&["b"]),
            wake(0.0, "b", "power-on"),
            wake(121.0, "b", "deepsleep"),
        ];
        let v = check(&expect(), &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message.contains("121.0s ending at t=121.0s"),
            "{}",
            v.message
        );
    }

    #[test]
    fn fails_when_the_board_never_slept() {
        let events = vec![start(&["b"]), wake(0.0, "b", "power-on")];
        assert!(!check(&expect(), &RunView::new(&events).unwrap(), "b").pass);
    }
}
