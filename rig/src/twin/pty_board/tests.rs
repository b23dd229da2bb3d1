//! Warm start: a deep-sleep wake runs an app process started during the sleep.

use super::{BoardMode, PtyBoard, PtyBoardSpec};
use crate::board::reset_lines::reset_to_run;
use crate::clock::DeviceClock;
use crate::twin::bench_state::{BenchState, LoadState};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_sleep_wakes_do_not_count_cpython_start_up_as_awake_time() {
    let run_py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/host/run.py");
    let mut spec = PtyBoardSpec::new("warm-0", "5c:cf:7f:00:00:31", &run_py);
    // Quiet in its loader until the app is in place.
    spec.start_in_loader = true;
    let bench = Arc::new(BenchState::new(1));
    bench.update_channel(0, |c| {
        c.set_volts = 12.6;
        c.limit_amps = 1.0;
        c.output_on = true;
    });
    let board = PtyBoard::spawn(spec, bench.clone(), DeviceClock::start(20.0))
        .await
        .unwrap();
    board
        .wait_for(BoardMode::RomLoader, Duration::from_secs(5))
        .await
        .unwrap();
    // Awake for nothing but the interpreter: a wake's awake time is then almost all start-up, if counted.
    std::fs::write(
        board.filesystem().join("main.py"),
        "import machine\nmachine.deepsleep(10000)\n",
    )
    .unwrap();
    let mut loads = bench.watch_loads();
    reset_to_run(board.lines().as_ref()).await.unwrap();
    let mut awake: Vec<Duration> = Vec::new();
    let mut since = None;
    tokio::time::timeout(Duration::from_secs(20), async {
        while awake.len() < 4 {
            match loads.recv().await.unwrap().1 {
                LoadState::Awake => since = Some(Instant::now()),
                LoadState::Asleep => awake.extend(since.take().map(|s| s.elapsed())),
                LoadState::Off => since = None,
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("4 wakes within 20 s; awake so far: {awake:?}"));
    board.stop().await;
    // The first boot after the reset starts CPython cold; the deep-sleep wakes after it run warm.
    let cold = awake[0];
    eprintln!("DBG {awake:?}");
    let mut warm = awake[1..].to_vec();
    warm.sort();
    assert!(
        warm[1] * 2 < cold,
        "cold {cold:?}, warm {warm:?}: a warm wake should not include CPython's start-up"
    );
}
