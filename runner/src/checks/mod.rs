//! Checks: pure functions of (scenario expectations, event log) → verdicts whose messages say what was expected,
//! what was seen, and when. They run after a live run and offline (`hil check`) alike.

mod connack;
pub mod current;
mod delivery;
mod drift;
mod low_battery;
mod period;
mod power;
mod readings;
mod session;
mod view;

pub use view::RunView;

use crate::events::Event;
use crate::scenario::Scenario;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub name: &'static str,
    pub board: Option<String>,
    pub pass: bool,
    pub message: String,
}

impl Verdict {
    fn new(name: &'static str, board: &str, pass: bool, message: String) -> Self {
        Verdict {
            name,
            board: Some(board.to_string()),
            pass,
            message,
        }
    }
}

/// Every check the scenario's `[expect]` asks for, for every board in the run.
pub fn run_checks(scenario: &Scenario, events: &[Event]) -> Vec<Verdict> {
    let view = match RunView::new(events) {
        Ok(v) => v,
        Err(message) => {
            return vec![Verdict {
                name: "event-log",
                board: None,
                pass: false,
                message,
            }];
        }
    };
    let mut verdicts = Vec::new();
    for board in view.boards() {
        if let Some(expect) = &scenario.expect.readings {
            verdicts.extend(readings::check(expect, &view, board));
        }
        if let Some(expect) = &scenario.expect.period {
            verdicts.push(period::check(expect, &view, board));
        }
        let expect = &scenario.expect;
        if let Some(code) = expect.connack {
            verdicts.push(connack::check(code, &view, board));
        }
        if expect.keepalive_nonzero {
            verdicts.push(session::keepalive_nonzero(&view, board));
        }
        if expect.clean_disconnect {
            verdicts.push(session::clean_disconnect(&view, board));
        }
        if expect.silence_during_faults {
            verdicts.push(delivery::silence_during_faults(&view, board));
        }
        if expect.no_lost_readings {
            verdicts.push(delivery::no_lost_readings(&view, board));
        }
        if let Some(max) = expect.awake_max {
            verdicts.push(delivery::awake(max, &view, board));
        }
        if let Some(below) = expect.low_battery_below {
            verdicts.push(low_battery::check(below, &view, board));
        }
        if let Some(reset) = &expect.reset {
            verdicts.push(power::reset_after_power_loss(reset, &view, board));
        }
        if let Some(drift) = &expect.sleep_drift {
            verdicts.push(drift::sleep_drift(drift, &view, board));
        }
    }
    verdicts
}

#[cfg(test)]
pub(crate) mod fixtures;
