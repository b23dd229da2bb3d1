//! A twin instrument on a thread of its own, as a real one is its own machine: a run busy starting a hundred boards
//! must not keep it from answering within its driver's timeout. Dropping the handle stops it.

use anyhow::{anyhow, Context, Result};
use rig::board::serial::{open_pty, Tty};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long the thread may take to set up its socket or pty.
const SETUP_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct InstrumentThread {
    stop: Option<oneshot::Sender<()>>,
}

impl InstrumentThread {
    /// Runs `setup` on a new thread inside that thread's runtime (so sockets and ptys register with it), hands
    /// back the value it returns and drives its future until the handle is dropped. The caller awaits the set-up,
    /// leaving its runtime's thread to other tasks meanwhile.
    pub async fn spawn<T, F, S>(name: &str, setup: S) -> Result<(InstrumentThread, T)>
    where
        T: Send + 'static,
        F: Future<Output = ()> + 'static,
        S: FnOnce() -> Result<(T, F)> + Send + 'static,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, set_up) = oneshot::channel();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready.send(Err(e.into()));
                        return;
                    }
                };
                let set = {
                    let _inside = runtime.enter();
                    setup()
                };
                let serve = match set {
                    Ok((value, serve)) => {
                        let _ = ready.send(Ok(value));
                        serve
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(async move {
                    tokio::select! {
                        _ = serve => {}
                        _ = stopped => {}
                    }
                });
            })
            .with_context(|| format!("starting the thread {name}"))?;
        let value = tokio::time::timeout(SETUP_TIMEOUT, set_up)
            .await
            .map_err(|_| anyhow!("{name} did not start within {SETUP_TIMEOUT:?}"))?
            .map_err(|_| anyhow!("{name}'s thread ended before it was set up"))??;
        Ok((InstrumentThread { stop: Some(stop) }, value))
    }

    /// An instrument on a new pty: `serve` gets the twin's end; the returned path is the port a driver opens.
    pub async fn spawn_on_pty<F>(
        name: &str,
        serve: impl FnOnce(Tty) -> F + Send + 'static,
    ) -> Result<(InstrumentThread, PathBuf)>
    where
        F: Future<Output = ()> + 'static,
    {
        let what = name.to_string();
        InstrumentThread::spawn(name, move || {
            let pty = open_pty().with_context(|| format!("opening a pty for {what}"))?;
            let path = pty.slave_path.clone();
            // The slave stays open for as long as the instrument runs, so its end never reads EIO between clients.
            let guard = pty.slave_guard;
            let serving = serve(pty.master);
            Ok((path, async move {
                let _guard = guard;
                serving.await
            }))
        })
        .await
    }
}

impl Drop for InstrumentThread {
    fn drop(&mut self) {
        // Ending the thread's runtime drops the instrument's tasks, its sockets and its pty with them.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiting_for_the_set_up_leaves_the_callers_thread_to_other_tasks() {
        let spawning = InstrumentThread::spawn("slow-setup", || {
            std::thread::sleep(Duration::from_millis(150));
            Ok(("set up", std::future::pending::<()>()))
        });
        let (spawned, ticks) = rig::testing::ticks_during(spawning).await;
        let (_thread, value) = spawned.unwrap();
        assert_eq!(value, "set up");
        assert!(ticks >= 5, "other tasks ran {ticks} times in the wait");
    }
}
