//! Shared by the serial tests: a scripted instrument on a real pty, the settings every driver must carry to the
//! twin bench, and standalone twin boards.
#![allow(dead_code, reason = "each test binary uses its own subset")]

pub mod esptool;

use rig::supply::PowerSupply;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use twin::pty_board::{BoardMode, PtyBoard, PtyBoardSpec};
use twin::{BenchState, FirmwareRuntime, ImageVariant, PtyInstrument};

/// Requests the instrument saw, with the times it took them (when the line went quiet after each).
pub type Log = Arc<Mutex<Vec<(Instant, Vec<u8>)>>>;

/// A running scripted instrument; dropping it closes the pty.
pub struct Scripted {
    pub address: String,
    pub log: Log,
    _instrument: PtyInstrument,
}

/// Serves `script(request number, request) -> reply bytes` (empty: no reply) on a new pty at `baud`, a request
/// ending when the line has been quiet for `gap`.
pub async fn scripted(
    baud: u32,
    gap: Duration,
    script: impl Fn(usize, &[u8]) -> Vec<u8> + Send + 'static,
) -> Scripted {
    let log: Log = Arc::default();
    let seen = log.clone();
    let instrument = PtyInstrument::start("scripted", gap, 4096, move |request| {
        let number = {
            let mut log = seen.lock().unwrap();
            log.push((Instant::now(), request.to_vec()));
            log.len() - 1
        };
        Some(script(number, request)).filter(|reply| !reply.is_empty())
    })
    .await
    .expect("a pty");
    Scripted {
        address: format!("{}?baud={baud}", instrument.address()),
        log,
        _instrument: instrument,
    }
}

impl Scripted {
    /// The requests seen so far, as text where they are text.
    pub fn requests(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| String::from_utf8_lossy(r).into_owned())
            .collect()
    }

    pub fn times(&self) -> Vec<Instant> {
        self.log.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }
}

/// Sets 12.6 V, 0.5 A and output on through `psu`, and checks that the bench's first channel took them.
pub async fn set_and_check(psu: &dyn PowerSupply, bench: &BenchState) {
    psu.set_volts(1, 12.6).await.unwrap();
    psu.set_current_limit(1, 0.5).await.unwrap();
    psu.set_output(1, true).await.unwrap();
    let channel = bench.channel(0);
    assert_eq!(
        (channel.set_volts, channel.limit_amps, channel.output_on),
        (12.6, 0.5, true),
        "{}",
        psu.name()
    );
}

/// What twin boards run the firmware files and REPL code on: the MicroPython VM that
/// `python3 firmware/host/install.py` installs (the test fails naming that command when it has not run).
pub fn vm_runtime() -> FirmwareRuntime {
    let host_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/host");
    FirmwareRuntime::installed_vm(Path::new("python3"), &host_dir, ImageVariant::Generic)
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// The CPython comparison runtime (firmware/host/cpython/).
pub fn cpython_runtime() -> FirmwareRuntime {
    FirmwareRuntime::CPython {
        python: PathBuf::from("python3"),
        run_py: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/host/cpython/run.py"),
    }
}

/// A standalone twin board from `spec` on a clock `speed` times real time (its paced link too), once it is in
/// `mode` (within `limit`).
pub async fn standalone_board(
    spec: PtyBoardSpec,
    speed: f64,
    mode: BoardMode,
    limit: Duration,
) -> PtyBoard {
    let board = PtyBoard::spawn_standalone_at(spec, speed).await.unwrap();
    board.wait_for(mode, limit).await.unwrap();
    board
}
