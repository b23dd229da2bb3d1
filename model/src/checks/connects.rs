//! Check `one-connect-per-wake`: a wake opens one MQTT session at most. Wakes begin at the ROM's reset banners,
//! else at the firmware's `boot` lines.

use super::view::RunView;
use super::wakes::wakes;
use super::Verdict;

pub fn one_per_wake(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "one-connect-per-wake";
    let mut starts = view.rom_banners(board);
    if starts.is_empty() {
        starts = wakes(view, board).iter().map(|w| w.t).collect();
    }
    if starts.is_empty() {
        return Verdict::not_judged(
            NAME,
            board,
            "the console shows no wake (no ROM reset banner, no boot line)",
        );
    }
    let connects: Vec<f64> = view.connects(board).iter().map(|(t, _)| *t).collect();
    for (i, start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(f64::INFINITY);
        let during: Vec<String> = connects
            .iter()
            .filter(|t| (*start..end).contains(*t))
            .map(|t| format!("t={t:.1}s"))
            .collect();
        if during.len() > 1 {
            return Verdict::new(
                NAME,
                board,
                false,
                format!(
                    "the wake at t={start:.1}s sent {} CONNECTs ({}), expected one at most",
                    during.len(),
                    during.join(", ")
                ),
            );
        }
    }
    Verdict::new(
        NAME,
        board,
        true,
        format!(
            "{} wakes, none with more than one CONNECT ({} in all)",
            starts.len(),
            connects.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    #[test]
    fn a_second_connect_in_one_wake_fails() {
        let mut events = vec![start(&["b"])];
        events.extend(wake_sending(1.0, "b", 0, &[0]));
        events.extend(wake_sending(31.0, "b", 1, &[1]));
        let v = one_per_wake(&RunView::new(&events).unwrap(), "b");
        assert!(v.pass, "{v:?}");
        assert_eq!(
            v.message,
            "2 wakes, none with more than one CONNECT (2 in all)"
        );
        events.push(tap_connect(34.0, "b", 60));
        let v = one_per_wake(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert_eq!(
            v.message,
            "the wake at t=31.0s sent 2 CONNECTs (t=33.1s, t=34.0s), expected one at most"
        );
    }

    #[test]
    fn without_any_wake_on_the_console_it_is_not_judged() {
        let events = vec![start(&["b"]), tap_connect(1.0, "b", 60)];
        let v = one_per_wake(&RunView::new(&events).unwrap(), "b");
        assert!(!v.judged, "{v:?}");
    }
}
