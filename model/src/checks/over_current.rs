//! A board whose supply channel's over-current protection tripped lost its power: whatever else it did, the run
//! cannot pass for it. Judged for every board, whatever the scenario expects.

use super::{RunView, Verdict};
use crate::events::Body;

/// The failed verdict of `board`, if its channel's protection tripped (`supply.ocp_trip`).
pub fn check(view: &RunView, board: &str) -> Option<Verdict> {
    let supply = view.supply_of(board)?;
    let tripped_at = view.events().iter().find_map(|e| match &e.body {
        Body::SupplyOcpTrip { supply: s } if s == supply => Some(e.t),
        _ => None,
    })?;
    let armed = view
        .events()
        .iter()
        .find_map(|e| match &e.body {
            Body::SupplyOcp {
                supply: s,
                trip,
                amps: Some(amps),
            } if s == supply => Some(if trip == "level" {
                format!(" (armed at {amps} A)")
            } else {
                format!(" (tripping at the current limit, {amps} A)")
            }),
            _ => None,
        })
        .unwrap_or_default();
    Some(Verdict::new(
        "over-current",
        board,
        false,
        format!(
            "{supply}'s over-current protection{armed} switched the output off at t={tripped_at:.1} s: \
             the board lost its power"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::start;
    use crate::events::Event;

    #[test]
    fn only_boards_on_a_tripped_channel_fail_and_the_message_says_where_it_tripped() {
        let at = |t: f64, body: Body| Event { t, body };
        let mut events = vec![start(&["a"])];
        let view = RunView::new(&events).unwrap();
        assert_eq!(check(&view, "a"), None);
        events.push(at(
            0.0,
            Body::SupplyOcp {
                supply: "twin:1".into(),
                trip: "level".into(),
                amps: Some(0.5),
            },
        ));
        events.push(at(
            12.34,
            Body::SupplyOcpTrip {
                supply: "twin:2".into(),
            },
        ));
        let view = RunView::new(&events).unwrap();
        assert_eq!(check(&view, "a"), None, "another channel tripped");
        events.push(at(
            13.0,
            Body::SupplyOcpTrip {
                supply: "twin:1".into(),
            },
        ));
        let view = RunView::new(&events).unwrap();
        let verdict = check(&view, "a").unwrap();
        assert!(!verdict.pass);
        assert_eq!(
            verdict.message,
            "twin:1's over-current protection (armed at 0.5 A) switched the output off at t=13.0 s: the board lost its power"
        );
    }
}
