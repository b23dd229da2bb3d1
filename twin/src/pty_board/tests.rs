//! Warm start: a wake runs an app process started while the chip slept; the board's power and reset lines; the
//! line's pacing.

use super::{wire_time, BoardMode, PtyBoard, PtyBoardSpec};
use crate::bench_state::{BenchState, LoadState};
use crate::runtime::{FirmwareRuntime, ImageVariant};
use model::clock::DeviceClock;
use rig::board::reset_lines::{reset_to_run, ResetLines};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The MicroPython VM twin boards run on, as firmware/host/install.py installed it.
fn vm() -> FirmwareRuntime {
    let host_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/host");
    FirmwareRuntime::installed_vm(Path::new("python3"), &host_dir, ImageVariant::Generic)
        .unwrap_or_else(|e| panic!("{e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_sleep_wakes_do_not_count_the_vms_start_up_as_awake_time() {
    let runtime = vm();
    let mut spec = PtyBoardSpec::new("warm-0", "5c:cf:7f:00:00:31", &runtime);
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
    // Awake for nothing but the interpreter: a wake's awake time is then almost all start-up, if counted. Each
    // sleep (1 s here) leaves the next wake's process time to start even on a loaded machine.
    std::fs::write(
        board.filesystem().join("main.py"),
        "import machine\nmachine.deepsleep(20000)\n",
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
    // What the wakes would add if the VM started at the wake: a boot's own start-up (the interpreter, the VM and
    // the chip's modules), ending at once without its control socket.
    let (argv, env) = runtime.boot_command();
    let started = Instant::now();
    let status = std::process::Command::new("python3")
        .arg("-u")
        .args(argv)
        .envs(env)
        .env_remove("HIL_TWIN_ADDR")
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
    let start_up = started.elapsed();
    // The deep-sleep wakes (after the first boot) run the app started during the sleep.
    let mut warm = awake[1..].to_vec();
    warm.sort();
    assert!(
        warm[1] * 2 < start_up,
        "deep-sleep wakes awake {warm:?} (real time) vs the VM's start-up {start_up:?}"
    );
}

#[tokio::test]
async fn power_that_comes_while_en_is_held_low_starts_the_chip_at_its_release() {
    let spec = PtyBoardSpec::new("held-0", "5c:cf:7f:00:00:32", &vm());
    let bench = Arc::new(BenchState::new(1));
    let board = PtyBoard::spawn(spec, bench.clone(), DeviceClock::start(1.0))
        .await
        .unwrap();
    let lines = board.lines();
    // RTS alone: EN low, seen by the board before the power comes.
    lines.set(false, true).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    bench.update_channel(0, |c| {
        c.set_volts = 12.6;
        c.limit_amps = 1.0;
        c.output_on = true;
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(board.mode(), BoardMode::Off, "held in reset");
    lines.set(false, false).await.unwrap();
    // An empty filesystem: the app ends at once and the REPL takes the console.
    board
        .wait_for(BoardMode::Repl, Duration::from_secs(10))
        .await
        .unwrap();
    board.stop().await;
}

#[test]
fn a_byte_is_ten_bits_of_device_time() {
    assert_eq!(
        wire_time(11_520, 115_200, &DeviceClock::start(1.0)),
        Duration::from_secs(1)
    );
    assert_eq!(
        wire_time(46_080, 460_800, &DeviceClock::start(10.0)),
        Duration::from_millis(100),
        "at 10x the line runs ten times faster"
    );
}
