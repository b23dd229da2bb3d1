//! Turns: a scenario starts once those planned before it on its channels have ended, so a packed plan runs in
//! its order however long each scenario's set-up takes.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

/// How often a waiting scenario looks at the run's stop flag.
const STOP_POLL: Duration = Duration::from_millis(200);

pub struct Turns {
    /// For each scenario, those that must end before it starts.
    after: Vec<Vec<usize>>,
    ended: Mutex<Vec<bool>>,
    changed: Notify,
}

impl Turns {
    pub fn new(after: Vec<Vec<usize>>) -> Turns {
        let ended = Mutex::new(vec![false; after.len()]);
        Turns {
            after,
            ended,
            changed: Notify::new(),
        }
    }

    /// Scenarios that wait for none: the twin bench gives each one a bench of its own.
    pub fn free(scenarios: usize) -> Turns {
        Turns::new(vec![Vec::new(); scenarios])
    }

    /// Waits until scenario `index` may start (true), or the run is stopped first (false).
    pub async fn wait(&self, index: usize, stopped: impl Fn() -> bool) -> bool {
        loop {
            let changed = self.changed.notified();
            if self.ready(index) {
                return true;
            }
            if stopped() {
                return false;
            }
            let _ = tokio::time::timeout(STOP_POLL, changed).await;
        }
    }

    /// Scenario `index` ended (passed, failed, or errored): those after it may go.
    pub fn end(&self, index: usize) {
        if let Some(ended) = self
            .ended
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(index)
        {
            *ended = true;
        }
        self.changed.notify_waiters();
    }

    fn ready(&self, index: usize) -> bool {
        let ended = self.ended.lock().unwrap_or_else(PoisonError::into_inner);
        self.after.get(index).is_none_or(|before| {
            before
                .iter()
                .all(|&b| ended.get(b).copied().unwrap_or(true))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_scenario_waits_for_those_before_it_on_its_channels_or_a_stop() {
        let turns = Arc::new(Turns::new(vec![vec![], vec![], vec![0, 1]]));
        assert!(turns.wait(0, || false).await && turns.wait(1, || false).await);
        let waiting = tokio::spawn({
            let turns = turns.clone();
            async move { turns.wait(2, || false).await }
        });
        turns.end(0);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "1 has not ended");
        turns.end(1);
        assert!(waiting.await.unwrap());
        let stopped = Turns::new(vec![vec![1], vec![]]);
        assert!(!stopped.wait(0, || true).await, "a stop ends the wait");
    }
}
