//! Check `rssi`: each message's `rssi` is a signal strength an ESP8266 reports, in dBm, and null only where the
//! radio could not tell: a wake whose radio joined the network (`wifi ok`) knows its RSSI.

use super::messages::every_message;
use super::view::RunView;
use super::wakes::{wake_at, wakes};
use super::Verdict;
use std::ops::RangeInclusive;

/// What an ESP8266 reports for an associated station: a negative dBm (its SDK's 31 means "cannot tell").
pub const DBM: RangeInclusive<i64> = -120..=-1;

pub fn check(view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "rssi";
    let wakes = wakes(view, board);
    let messages = view.messages(board);
    let unknown = messages
        .iter()
        .filter(|m| m.field("rssi").is_some_and(|r| r.is_null()) && wake_at(&wakes, m.t).is_none())
        .count();
    if unknown > 0 {
        return Verdict::not_judged(
            NAME,
            board,
            &format!("{unknown} message(s) carried a null rssi, and the console shows no wake to tell whether their radio had joined"),
        );
    }
    let nulls = messages
        .iter()
        .filter(|m| m.field("rssi").is_some_and(|r| r.is_null()))
        .count();
    every_message(
        NAME,
        board,
        &messages,
        |m| {
            let rssi = m.field("rssi")?;
            if rssi.is_null() {
                let (_, wake) = wake_at(&wakes, m.t)?;
                return wake.joined.then(|| {
                    format!(
                        "{} said rssi null, but its wake's radio had joined the network (`wifi ok`, wake at t={:.1}s) \
                         and could tell",
                        m.label(),
                        wake.t
                    )
                });
            }
            // Not a whole number: check payload's.
            let dbm = rssi.as_i64()?;
            (!DBM.contains(&dbm)).then(|| {
                format!(
                    "{} said rssi {dbm}, outside the {}..={} dBm an ESP8266 reports (its 31 means it could not tell: \
                     null)",
                    m.label(),
                    DBM.start(),
                    DBM.end()
                )
            })
        },
        |n| {
            format!("all {n} messages: rssi within {}..={} dBm ({nulls} null, each where the radio had not joined)", DBM.start(), DBM.end())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use serde_json::Value;

    fn with_rssi(rssi: Value) -> Verdict {
        let mut events = vec![start(&["b"])];
        events.extend(wake_sending(1.0, "b", 0, &[0]));
        for e in &mut events {
            *e = edited(e.clone(), |p| p["rssi"] = rssi.clone());
        }
        check(&RunView::new(&events).unwrap(), "b")
    }

    #[test]
    fn rssi_is_a_negative_dbm_and_never_null_once_the_radio_joined() {
        assert!(with_rssi((-67).into()).pass);
        let v = with_rssi(31.into());
        assert!(!v.pass);
        assert!(
            v.message
                .contains("seq 0 at t=3.3s said rssi 31, outside the -120..=-1 dBm"),
            "{}",
            v.message
        );
        let v = with_rssi(Value::Null);
        assert!(!v.pass);
        assert!(
            v.message.contains("said rssi null, but its wake's radio had joined the network (`wifi ok`, wake at t=2.0s)"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_null_with_no_wake_to_tell_by_is_not_judged() {
        let events = vec![
            start(&["b"]),
            edited(tap_publish(2.0, "b", 0, 0), |p| p["rssi"] = Value::Null),
        ];
        let v = check(&RunView::new(&events).unwrap(), "b");
        assert!(!v.judged, "{v:?}");
    }
}
