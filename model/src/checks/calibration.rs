//! Check `raw`: each message's `raw` (the ADC counts it averaged) gives its `v` under the calibration deployed to
//! the board (firmware/README.md: volts = counts × full_scale / (1023 × divider)), within what rounding allows.

use super::messages::{config_of, every_message};
use super::view::RunView;
use super::Verdict;

pub fn raw(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "raw";
    let config = match config_of(NAME, view, board) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let per_count = config.full_scale_volts / (1023.0 * config.divider);
    // `raw` is the mean rounded to a count, `v` the unrounded mean rounded to hundredths.
    let allowed = per_count / 2.0 + 0.005 + 1e-9;
    let calibration = format!(
        "divider {:.4}, full scale {} V",
        config.divider, config.full_scale_volts
    );
    every_message(
        NAME,
        board,
        &view.messages(board),
        |m| {
            let v = m.field("v")?.as_f64()?;
            let raw = m.field("raw")?.as_u64()?;
            let volts = raw as f64 * per_count;
            ((v - volts).abs() > allowed).then(|| {
                format!(
                    "{}: raw {raw} is {volts:.3} V under the board's calibration ({calibration}), v says {v:.2} V: \
                     off by {:.3} V, allowed ±{allowed:.3} V (half a count and the rounding to hundredths)",
                    m.label(),
                    (v - volts).abs()
                )
            })
        },
        |n| {
            format!("all {n} messages: v within ±{allowed:.3} V of raw under the board's calibration ({calibration})")
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    #[test]
    fn raw_and_v_agree_within_half_a_count_and_the_rounding() {
        // 789 counts with a 1/16.2 divider: 12.493 V.
        let within = edited(tap_publish(2.0, "b", 0, 0), |p| p["v"] = 12.50.into());
        let events = vec![start(&["b"]), board_config("b", 0), within];
        assert!(raw(&RunView::new(&events).unwrap(), "b").pass);
        let off = edited(tap_publish(2.0, "b", 0, 0), |p| p["raw"] = 1250.into());
        let events = vec![start(&["b"]), board_config("b", 0), off];
        let v = raw(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message
                .contains("seq 0 at t=2.0s: raw 1250 is 19.795 V under the board's calibration"),
            "{}",
            v.message
        );
        assert!(v.message.contains("allowed ±0.013 V"), "{}", v.message);
    }
}
