//! What provisioning did, kept until the timeline's log exists and then recorded at its own (negative) time.

use model::clock::DeviceClock;
use model::events::{Body, Event, EventLog};
use std::time::Instant;

/// A provisioning step, recorded once the timeline has started.
pub struct Step {
    at: Instant,
    body: Body,
}

impl Step {
    pub fn now(body: Body) -> Step {
        Step {
            at: Instant::now(),
            body,
        }
    }

    pub fn at(&self) -> Instant {
        self.at
    }

    /// Records the step at its own time, before the scenario's start (negative device seconds).
    pub fn record(self, log: &EventLog, clock: DeviceClock) {
        let t = clock.now() - self.at.elapsed().as_secs_f64() * clock.speed();
        log.record_at(Event {
            // `+ 0.0` writes a step that rounds to zero as 0, not -0.
            t: (t * 1000.0).round() / 1000.0 + 0.0,
            body: self.body,
        });
    }
}
