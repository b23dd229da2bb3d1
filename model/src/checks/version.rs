//! Check `fw`: every message names the version of the firmware deployed (the `FW` its app declares).

use super::messages::{config_of, every_message};
use super::view::RunView;
use super::Verdict;

pub fn fw(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "fw";
    let config = match config_of(NAME, view, board) {
        Ok(c) => c,
        Err(v) => return v,
    };
    let Some(deployed) = config.fw else {
        return Verdict::not_judged(
            NAME,
            board,
            "the deployed app declares no version (no FW = \"…\" in its app module)",
        );
    };
    every_message(
        NAME,
        board,
        &view.messages(board),
        |m| {
            let said = m.field("fw")?.as_str()?;
            (said != deployed).then(|| {
                format!(
                    "{} said fw {said:?}, the app deployed is {deployed:?}",
                    m.label()
                )
            })
        },
        |n| format!("all {n} messages name the deployed version {deployed:?}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::{Body, Event};

    #[test]
    fn fw_is_the_deployed_version_and_unknown_without_one() {
        let stale = edited(tap_publish(32.0, "b", 1, 0), |p| p["fw"] = "0.0.9".into());
        let events = vec![
            start(&["b"]),
            board_config("b", 0),
            tap_publish(2.0, "b", 0, 0),
            stale,
        ];
        let v = fw(&RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message
                .ends_with("seq 1 at t=32.0s said fw \"0.0.9\", the app deployed is \"0.1.0\""),
            "{}",
            v.message
        );
        let mut config = board_config("b", 0);
        if let Body::BoardConfig { fw, .. } = &mut config.body {
            *fw = None;
        }
        let events: Vec<Event> = vec![start(&["b"]), config, tap_publish(2.0, "b", 0, 0)];
        let v = fw(&RunView::new(&events).unwrap(), "b");
        assert!(
            !v.judged && v.message.contains("declares no version"),
            "{v:?}"
        );
    }
}
