//! Checks: pure functions of (scenario expectations, event log) → verdicts whose messages say what was expected,
//! what was seen, and when. They run after a live run and offline (`hil check`) alike.

mod awake_ms;
mod backlog;
pub mod baseline;
mod calibration;
mod connack;
mod connects;
mod console;
mod contract;
pub mod current;
pub(crate) mod delivery;
pub(crate) mod drift;
mod duplicates;
pub mod heap;
mod keepalive;
mod low_battery;
mod messages;
mod over_current;
mod payload_keys;
mod period;
mod power;
pub(crate) mod readings;
mod rssi;
mod sample_fields;
mod seq;
mod session;
mod tap_log;
mod version;
mod view;
mod wakes;

pub use power::power_losses;
pub use view::{IncompleteLog, RunView};

use crate::events::Event;
use crate::scenario::Scenario;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub name: &'static str,
    pub board: Option<String>,
    pub pass: bool,
    /// False: the run gave nothing to judge by (the payload carries no seq, provisioning left the board out). Such
    /// a verdict never passes, and its message starts with "not judged: " and says why.
    pub judged: bool,
    pub message: String,
}

impl Verdict {
    fn new(name: &'static str, board: &str, pass: bool, message: String) -> Self {
        Verdict {
            name,
            board: Some(board.to_string()),
            pass,
            judged: true,
            message,
        }
    }

    fn not_judged(name: &'static str, board: &str, why: &str) -> Self {
        Verdict {
            judged: false,
            ..Verdict::new(name, board, false, format!("not judged: {why}"))
        }
    }

    /// The result as reports show it: `ok`, `FAIL` or `NOT JUDGED`.
    pub fn word(&self) -> &'static str {
        match (self.pass, self.judged) {
            (true, _) => "ok",
            (false, true) => "FAIL",
            (false, false) => "NOT JUDGED",
        }
    }
}

/// Every check the scenario's `[expect]` asks for, for every board in the run.
pub fn run_checks(scenario: &Scenario, events: &[Event]) -> Vec<Verdict> {
    let view = match RunView::new(events) {
        Ok(v) => v,
        Err(incomplete) => {
            return vec![Verdict {
                name: "event-log",
                board: None,
                pass: false,
                judged: true,
                message: incomplete.to_string(),
            }];
        }
    };
    let mut verdicts = Vec::new();
    for board in view.boards() {
        let first = verdicts.len();
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
        if let Some(text) = &expect.console {
            verdicts.push(console::check(text, &view, board));
        }
        verdicts.extend(contract::check(expect, &view, board));
        verdicts.extend(heap::check(expect.heap_min_free, &view, board));
        verdicts.extend(over_current::check(&view, board));
        if let Some(error) = provisioning_error(&view, board) {
            // The board was left out of the run: none of its checks can pass, and one fails even when the
            // scenario expects nothing.
            for v in &mut verdicts[first..] {
                *v = Verdict::not_judged(v.name, board, &error);
            }
            verdicts.push(Verdict::new("provisioned", board, false, error));
        }
    }
    verdicts
}

/// Why provisioning left the board out of the run (its `board.error` event), if it did.
fn provisioning_error(view: &RunView, board: &str) -> Option<String> {
    view.events().iter().find_map(|e| match &e.body {
        crate::events::Body::BoardError {
            board: b,
            step,
            message,
        } if b == board => Some(format!("{step} failed: {message}")),
        _ => None,
    })
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::UserTomlFile;
    use crate::events::Body;
    use fixtures::{board_config, connack, start, wake_sending};

    #[test]
    fn a_run_that_keeps_the_contract_passes_every_default_check_and_names_each() {
        let scenario = Scenario::parse(
            std::path::Path::new("s.toml"),
            "name = \"s\"\nduration = \"1m\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n",
        )
        .unwrap();
        let mut events = vec![start(&["b"]), board_config("b", 0)];
        events.extend(wake_sending(1.0, "b", 0, &[0]));
        events.extend(wake_sending(31.0, "b", 1, &[1]));
        let verdicts = run_checks(&scenario, &events);
        let names: Vec<&str> = verdicts.iter().map(|v| v.name).collect();
        assert_eq!(
            names,
            [
                "one-connect-per-wake",
                "clean-disconnect",
                "after-disconnect",
                "keepalive-interval",
                "topic",
                "qos",
                "retain",
                "payload",
                "duplicates",
                "backlog",
                "dropped",
                "late",
                "seq",
                "raw",
                "awake-ms",
                "sample-reset",
                "fw",
                "rssi"
            ]
        );
        assert!(verdicts.iter().all(|v| v.pass && v.judged), "{verdicts:#?}");
        let silent = Scenario::parse(
            std::path::Path::new("s.toml"),
            "name = \"s\"\nduration = \"1m\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
             [expect]\npublishes = false\n",
        )
        .unwrap();
        let verdicts = run_checks(&silent, &events);
        let names: Vec<(&str, bool)> = verdicts.iter().map(|v| (v.name, v.pass)).collect();
        assert_eq!(
            names,
            [("one-connect-per-wake", true), ("publishes", false)]
        );
    }

    #[test]
    fn a_board_left_out_by_provisioning_fails_each_check_with_why_and_the_others_are_judged() {
        let scenario = Scenario::parse(
            std::path::Path::new("s.toml"),
            "name = \"s\"\nboards = 2\nduration = \"10s\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
             [expect]\nconnack = 0\n",
        )
        .unwrap();
        let error = Event {
            t: -1.0,
            body: Body::BoardError {
                board: "mute".into(),
                step: "find".into(),
                message: "mute: no answer".into(),
            },
        };
        let mut events = vec![error, start(&["good", "mute"]), board_config("good", 0)];
        events.extend(wake_sending(1.0, "good", 0, &[0]));
        events.push(connack(3.2, "mute", 0));
        let verdicts = run_checks(&scenario, &events);
        let of = |board: &str| -> Vec<&Verdict> {
            verdicts
                .iter()
                .filter(|v| v.board.as_deref() == Some(board))
                .collect()
        };
        let good = of("good");
        assert!(good.iter().all(|v| v.pass && v.judged), "{good:#?}");
        let mute = of("mute");
        assert_eq!(mute.len(), good.len() + 1, "{verdicts:?}");
        assert!(mute.iter().all(|v| !v.pass));
        assert!(mute
            .iter()
            .all(|v| v.message.contains("find failed: mute: no answer")));
        let provisioned = mute[mute.len() - 1];
        assert_eq!(provisioned.name, "provisioned");
        assert!(!mute[0].judged && mute[0].message.starts_with("not judged: "));
        assert!(provisioned.judged, "provisioning was judged: it failed");
    }

    #[test]
    fn a_log_without_its_start_is_one_failed_event_log_verdict() {
        let scenario = Scenario::parse(
            std::path::Path::new("s.toml"),
            "name = \"s\"\nduration = \"10s\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
             [expect]\nconnack = 0\n",
        )
        .unwrap();
        assert_eq!(
            RunView::new(&[connack(1.0, "b", 0)]).err(),
            Some(IncompleteLog)
        );
        let verdicts = run_checks(&scenario, &[connack(1.0, "b", 0)]);
        assert_eq!(verdicts.len(), 1, "{verdicts:?}");
        assert_eq!((verdicts[0].name, verdicts[0].pass), ("event-log", false));
        assert_eq!(verdicts[0].message, IncompleteLog.to_string());
    }
}
