//! The checks every scenario asks of every board unless it says otherwise: the MQTT session around each wake,
//! each message's topic, QoS and retain flag, and, where the boards send firmware/README.md's payload, every
//! field of it against what the bench knows. A scenario states what differs: `publishes = false` for boards that
//! are to publish nothing, `clean_disconnect = false`, `retain = true`.

use super::view::RunView;
use super::{
    awake_ms, backlog, calibration, connects, duplicates, keepalive, messages, payload_keys, rssi,
    sample_fields, seq, session, version, Verdict,
};
use crate::payload::PayloadFormat;
use crate::scenario::Expectations;

pub fn check(expect: &Expectations, view: &RunView, board: &str) -> Vec<Verdict> {
    let mut verdicts = vec![connects::one_per_wake(view, board)];
    if !expect.publishes {
        verdicts.push(messages::none(view, board));
        return verdicts;
    }
    if expect.clean_disconnect {
        verdicts.push(session::clean_disconnect(view, board));
    }
    verdicts.extend([
        session::after_disconnect(view, board),
        keepalive::interval(view, board),
        messages::topic(view, board),
        messages::qos(view, board),
        messages::retain(expect.retain, view, board),
    ]);
    // Another payload (plain numbers, renamed keys) is another firmware's: its fields are not this contract's.
    if *view.payload() == PayloadFormat::default() {
        verdicts.extend([
            payload_keys::check(view, board),
            duplicates::check(view, board),
            backlog::order(view, board),
            backlog::dropped(view, board),
            sample_fields::late(view, board),
            seq::check(view, board),
            calibration::raw(view, board),
            awake_ms::check(view, board),
            sample_fields::reset(view, board),
            version::fw(view, board),
            rssi::check(view, board),
        ]);
    }
    verdicts
}
