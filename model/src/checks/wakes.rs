//! A board's wakes as the bench saw them: when each began, the seq it announced, whether it took its sample,
//! whether its radio joined the network, and whether the board lost its power since the wake before (the run's
//! start counts as such a loss: the boards come up from off).

use super::view::RunView;
use crate::events::Body;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wake<'a> {
    /// The `boot …` line.
    pub t: f64,
    pub seq: Option<u64>,
    /// The reset the firmware announced.
    pub reset: &'a str,
    /// The firmware saves its sample before WiFi starts (firmware/README.md): a `wifi …` line shows it did.
    pub sampled: bool,
    /// `wifi ok`: the radio joined the network, so it could tell its RSSI.
    pub joined: bool,
    /// The supply failed the board between the wake before (or the run's start) and this one: its RTC memory
    /// is gone, and the chip resets as at power-on.
    pub after_power_loss: bool,
}

/// The wakes the board's console announced (`boot reset=… seq=…`), in order.
pub fn wakes<'a>(view: &RunView<'a>, board: &str) -> Vec<Wake<'a>> {
    let mut wakes: Vec<Wake<'a>> = Vec::new();
    for e in view.events() {
        match &e.body {
            Body::BoardWake {
                board: b,
                reset,
                seq,
            } if b == board => wakes.push(Wake {
                t: e.t,
                seq: *seq,
                reset,
                sampled: false,
                joined: false,
                after_power_loss: false,
            }),
            Body::Console { board: b, line } if b == board => {
                if let Some(w) = wakes.last_mut() {
                    let line = line.trim();
                    w.sampled |= line.starts_with("wifi ");
                    w.joined |= line.starts_with("wifi ok");
                }
            }
            _ => {}
        }
    }
    let losses = super::power::board_power_losses(view, board);
    let mut previous = f64::NEG_INFINITY;
    for w in &mut wakes {
        w.after_power_loss = losses.iter().any(|l| (previous..w.t).contains(l));
        previous = w.t;
    }
    wakes
}

/// The wake during which something happened at `t`: the last that began at or before it.
pub fn wake_at<'w, 'a>(wakes: &'w [Wake<'a>], t: f64) -> Option<(usize, &'w Wake<'a>)> {
    wakes.iter().enumerate().rev().find(|(_, w)| w.t <= t)
}

/// The wake that took sample `seq`, as of `t`: the last to announce it (seqs restart at 0 after a power loss).
pub fn wake_of_sample<'w, 'a>(
    wakes: &'w [Wake<'a>],
    seq: u64,
    t: f64,
) -> Option<(usize, &'w Wake<'a>)> {
    wakes
        .iter()
        .enumerate()
        .rev()
        .find(|(_, w)| w.t <= t && w.seq == Some(seq))
}

/// When each wake's chip came out of reset, and how the bench knows: the ROM's reset banners on the console,
/// else the rises of the supply current when the board has its channel to itself. None when neither saw them
/// (the app's `boot` line comes a maintenance window later).
pub fn reset_instants(view: &RunView, board: &str) -> Option<(Vec<f64>, &'static str)> {
    let banners = view.rom_banners(board);
    if !banners.is_empty() {
        return Some((banners, "the ROM's reset banner"));
    }
    let supply = view
        .supply_of(board)
        .filter(|_| view.alone_on_supply(board))?;
    let (windows, _) = super::current::awake_windows(&view.supply_current(supply))?;
    let rises: Vec<f64> = windows.into_iter().map(|(rise, _)| rise).collect();
    (!rises.is_empty()).then_some((rises, "the supply current's rise"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::Event;

    fn set(t: f64, volts: f64) -> Event {
        Event {
            t,
            body: Body::SupplySet {
                supply: "twin:1".into(),
                volts: Some(volts),
                amps: None,
                output: Some(true),
            },
        }
    }

    #[test]
    fn wakes_know_their_sample_their_radio_and_the_power_losses_before_them() {
        let events = vec![
            start(&["b"]),
            set(0.0, 12.6),
            wake_seq(2.0, "b", "power-on", 0),
            console(3.0, "b", "wifi ok 1.0s"),
            wake_seq(33.0, "b", "deepsleep", 1),
            console(34.0, "b", "wifi fail no-ap"),
            wake_seq(64.0, "b", "deepsleep", 2),
            console(
                64.5,
                "b",
                "error sleep_ms must be an integer from 1 to 4294967",
            ),
            set(80.0, 3.0),
            set(90.0, 12.6),
            wake_seq(92.0, "b", "power-on", 0),
        ];
        let view = RunView::new(&events).unwrap();
        let wakes = wakes(&view, "b");
        let seen: Vec<(bool, bool, bool)> = wakes
            .iter()
            .map(|w| (w.sampled, w.joined, w.after_power_loss))
            .collect();
        assert_eq!(
            seen,
            [
                (true, true, true),
                (true, false, false),
                (false, false, false),
                (false, false, true)
            ]
        );
        assert_eq!(wake_at(&wakes, 40.0).map(|(i, _)| i), Some(1));
        assert_eq!(wake_at(&wakes, 1.0), None);
        assert_eq!(wake_of_sample(&wakes, 0, 100.0).map(|(i, _)| i), Some(3));
        assert_eq!(wake_of_sample(&wakes, 0, 50.0).map(|(i, _)| i), Some(0));
    }

    #[test]
    fn resets_come_from_the_banners_else_the_current_else_nowhere() {
        let mut events = vec![start(&["b"]), wake_seq(2.0, "b", "power-on", 0)];
        assert_eq!(reset_instants(&RunView::new(&events).unwrap(), "b"), None);
        events.push(console(
            1.0,
            "b",
            "ets Jan  8 2013,rst cause:1, boot mode:(3,6)",
        ));
        let (instants, source) = reset_instants(&RunView::new(&events).unwrap(), "b").unwrap();
        assert_eq!((instants, source), (vec![1.0], "the ROM's reset banner"));
    }
}
