//! Helpers for the tests of the rig and of its users (feature `testing`, a dev-dependency only).

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Awaits `work` while another task on the same runtime ticks every 5 ms, and returns its output with the
/// number of ticks: on a current-thread runtime, none if `work` blocked the thread instead of awaiting.
pub async fn ticks_during<T>(work: impl Future<Output = T>) -> (T, u32) {
    let ticks = Arc::new(AtomicU32::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_millis(5)).await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    let out = work.await;
    ticker.abort();
    (out, ticks.load(Ordering::Relaxed))
}
