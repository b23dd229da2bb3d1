//! The timeline's tasks that talk to the supply (profile followers, fault schedule, sampler, over-current
//! watcher), kept where the run can stop them before it makes the bench safe, on every path out of the run, a
//! panic included. They stop only between commands (a command cut short could still reach the instrument after
//! the safe state), so the safe state is the last command each channel receives.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A task still running this long after it was asked to stop is aborted: every supply call is bounded by 2 s,
/// and a task issues at most a few of them between two checks of its stop signal.
const HALT_BOUND: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct SupplyTasks {
    inner: Arc<Inner>,
}

struct Inner {
    stop: watch::Sender<bool>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

/// A task's view of the stop signal: what it waits on between commands.
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// `f`'s output, or None once the run asked its supply tasks to stop.
    pub async fn unless_stopped<T>(&mut self, f: impl Future<Output = T>) -> Option<T> {
        let stopped = self.0.wait_for(|stop| *stop);
        tokio::select! {
            out = f => Some(out),
            _ = stopped => None,
        }
    }
}

impl SupplyTasks {
    pub fn new() -> SupplyTasks {
        SupplyTasks {
            inner: Arc::new(Inner {
                stop: watch::channel(false).0,
                handles: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Runs `task` with its stop signal until it ends or the run halts it.
    pub fn spawn<F, Fut>(&self, task: F)
    where
        F: FnOnce(Stop) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(task(Stop(self.inner.stop.subscribe())));
        self.handles().push(handle);
    }

    fn handles(&self) -> std::sync::MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.inner.handles.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks every task to stop and waits until none runs (aborting, after a bound, one that does not stop);
    /// afterwards nothing of the timeline sends a command to the supply. Tasks spawned later are stopped too.
    pub async fn halt(&self) {
        self.inner.stop.send_replace(true);
        let deadline = tokio::time::Instant::now() + HALT_BOUND;
        loop {
            let handles = std::mem::take(&mut *self.handles());
            if handles.is_empty() {
                return;
            }
            for mut handle in handles {
                if tokio::time::timeout_at(deadline, &mut handle)
                    .await
                    .is_err()
                {
                    tracing::warn!("a supply task did not stop within {HALT_BOUND:?}: aborted");
                    handle.abort();
                    let _ = handle.await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn halt_lets_a_command_under_way_finish_and_sends_none_after() {
        let tasks = SupplyTasks::new();
        let sent = Arc::new(AtomicU32::new(0));
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        {
            let sent = sent.clone();
            tasks.spawn(move |mut stop| async move {
                let mut started = Some(started_tx);
                loop {
                    // A "command" that takes a while: halting must not cut it short.
                    if let Some(tx) = started.take() {
                        let _ = tx.send(());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    sent.fetch_add(1, Ordering::SeqCst);
                    if stop
                        .unless_stopped(tokio::time::sleep(Duration::from_millis(1)))
                        .await
                        .is_none()
                    {
                        return;
                    }
                }
            });
        }
        started_rx.await.unwrap();
        tasks.halt().await;
        let after_halt = sent.load(Ordering::SeqCst);
        assert_eq!(after_halt, 1, "the command under way completed, no other");
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(
            sent.load(Ordering::SeqCst),
            after_halt,
            "nothing after halt"
        );
    }

    #[tokio::test]
    async fn halt_returns_once_every_task_stopped() {
        let tasks = SupplyTasks::new();
        for _ in 0..3 {
            tasks.spawn(|mut stop| async move {
                stop.unless_stopped(std::future::pending::<()>()).await;
            });
        }
        tokio::time::timeout(Duration::from_secs(5), tasks.halt())
            .await
            .expect("halt returns once every task stopped");
        assert!(tasks.handles().is_empty());
    }
}
