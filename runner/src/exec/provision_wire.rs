//! Provisioning over the wire, as for hardware (a rig's boards and the twin's pty boards): power the boards at the profile's first voltage,
//! find each board by its MAC (and record its adapter's USB identity, by which it is found again mid-run without
//! a reset), flash the MicroPython image through the ROM loader unless it is already there, deploy the app files
//! and config over the raw REPL, and switch the supply off again: the timeline starts from off, as on the process
//! twin, so its first wake is a power-on with RTC memory clear. A board that fails a step is left out of the run
//! with a `board.error` event; the others go on.

use super::bench::{BenchChannel, Provisioned};
use super::provision_progress::{BoardProgress, ProvisionProgress};
use super::provision_step::Step;
use anyhow::{Context, Result};
use model::events::{BoardInfo, Body};
use model::scenario::Scenario;
use rig::board::flash_records::FlashRecords;
use rig::board::locate::PortFinder;
use rig::board::reset_lines::ResetLines;
use rig::board::{
    AppFile, Board, Chip, FlashOutcome, FlashSettings, FoundBy, Locating, Mac, WireBoard, Wiring,
};
use std::borrow::Cow;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bounds on each step per board, over the bounds inside the locator, the flasher and the raw-REPL client.
const FIND_TIMEOUT: Duration = Duration::from_secs(60);
const FLASH_TIMEOUT: Duration = Duration::from_secs(60);
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(60);

/// Boards provisioned at once.
const PROVISION_JOBS: usize = 8;

/// Size of the stand-in image twin boards are flashed with (a real ESP8266 build is ~600 KiB; this keeps each
/// run's flash under a second on a pty).
const TWIN_IMAGE_BYTES: usize = 64 * 1024;

/// What provisioning over the wire reaches: the bench's channels (powered during provisioning), each board's
/// port and identity (in the same order), and what to flash.
pub struct Wire<'a> {
    pub channels: &'a [BenchChannel],
    pub ports: &'a [WirePort],
    pub infos: &'a [BoardInfo],
    /// The MicroPython image to flash (the rig's `[micropython] image`); None: a generated one, for twins.
    pub image: Option<&'a Path>,
    /// Who holds which port, and where a board that is not on its port is looked for (the rig's `[boards]
    /// scan`).
    pub finder: Arc<PortFinder>,
    /// Whether what was flashed is remembered across runs: a rig's boards keep it, a twin's are new each run.
    pub keep_flash_records: bool,
    /// Whether to show progress bars (on a terminal; `--quiet` shows none).
    pub progress: bool,
}

/// A board's chip and serial port, where the port has no modem lines its reset lines' side channel, and the serial
/// number of its USB-serial adapter when the rig file names it.
pub struct WirePort {
    pub chip: Arc<dyn Chip>,
    pub port: PathBuf,
    pub lines: Option<Arc<dyn ResetLines>>,
    pub usb_serial: Option<String>,
    /// How the board is flashed (the rig's `[boards] flash_baud` and `stub`).
    pub flash: FlashSettings,
}

/// Flashes and deploys each board (`files` in `wire.infos` order) with the supply on, and returns those that
/// are ready, in that order. The caller makes the supply safe if this fails. The supply commands are not
/// recorded: the log's supply starts off at t = 0.
pub async fn provision(
    wire: Wire<'_>,
    scenario: &Scenario,
    files: &[Vec<AppFile>],
) -> Result<Provisioned> {
    let mut steps = Vec::new();
    for (channel, plan) in wire.channels.iter().zip(&scenario.supply.channels) {
        channel
            .prepare(plan.current_limit, plan.profile.volts_at(0.0), None)
            .await?;
        channel.set_output(true, None).await?;
    }

    let image = match wire.image {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("reading the MicroPython image {}", path.display()))?,
        ),
        None => None,
    };
    // A twin bench's boards are new each run: only a rig's boards keep what was flashed onto them.
    let records = wire
        .keep_flash_records
        .then(|| FlashRecords::new(&crate::paths::flash_records()));
    let finder = wire.finder.clone();
    let display = ProvisionProgress::new(wire.progress);
    let slots = tokio::sync::Semaphore::new(PROVISION_JOBS);
    let jobs = wire
        .ports
        .iter()
        .zip(wire.infos.iter().zip(files))
        .map(|(wire, (info, files))| {
            let mut board = open_board(wire, info, &finder);
            let wired = WiredBoard {
                // Twins run whatever is flashed: each is flashed with a stand-in of its own chip's format.
                image: image.as_deref().map_or_else(
                    || Cow::Owned(wire.chip.stand_in_image(TWIN_IMAGE_BYTES)),
                    Cow::Borrowed,
                ),
                records: records.as_ref(),
                files,
            };
            let slots = &slots;
            let line = display.board(&info.name);
            async move {
                // The semaphore is never closed: acquiring only waits for a free slot.
                let _slot = slots.acquire().await;
                let mut steps = Vec::new();
                let result = wired.provision(board.as_mut(), &mut steps, &line).await;
                line.done(match &result {
                    Ok(()) => "ready".to_string(),
                    Err((step, _)) => format!("{step} failed"),
                });
                (board, info, result, steps)
            }
        });
    // Boards on their own ports are provisioned side by side, as a lab flashes its USB-serial adapters; in the
    // boards' order, so they join the run in it.
    let done = futures_util::future::join_all(jobs).await;
    let mut boards: Vec<Box<dyn Board>> = Vec::new();
    for (board, info, result, board_steps) in done {
        steps.extend(board_steps);
        match result {
            Ok(()) => boards.push(board),
            Err((step, e)) => steps.push(Step::now(Body::BoardError {
                board: info.name.clone(),
                step: step.into(),
                message: format!("{e:#}"),
            })),
        }
    }
    steps.sort_by_key(Step::at);
    for channel in wire.channels {
        channel.set_output(false, None).await?;
    }
    Ok(Provisioned { boards, steps })
}

/// The board on `wire`, opened by its chip; one with a MAC is found by it (`finder` is shared by the run's
/// boards), others are taken on their port as given.
fn open_board(wire: &WirePort, info: &BoardInfo, finder: &Arc<PortFinder>) -> Box<dyn WireBoard> {
    let locating = info.mac.parse::<Mac>().ok().map(|mac| Locating {
        mac,
        usb_serial: wire.usb_serial.clone(),
        finder: finder.clone(),
    });
    wire.chip.open(Wiring {
        name: info.name.clone(),
        port: wire.port.clone(),
        lines: wire.lines.clone(),
        locating,
        flash: wire.flash.clone(),
    })
}

/// What one board is provisioned with.
struct WiredBoard<'a> {
    image: Cow<'a, [u8]>,
    records: Option<&'a FlashRecords>,
    files: &'a [AppFile],
}

/// A failed step: its name (`find`, `flash`, `deploy`) and why.
type StepError = (&'static str, anyhow::Error);

/// Runs a step within its bound; an error or timeout is that step's.
async fn bounded<T, E: Into<anyhow::Error>>(
    step: &'static str,
    board: &str,
    limit: Duration,
    run: impl Future<Output = Result<T, E>>,
) -> Result<T, StepError> {
    match tokio::time::timeout(limit, run).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err((step, e.into())),
        Err(_) => Err((step, anyhow::anyhow!("{board}: {step} took over {limit:?}"))),
    }
}

impl WiredBoard<'_> {
    /// Finds the board (when it has a MAC), flashes it and deploys to it, recording each step.
    async fn provision(
        &self,
        board: &mut dyn WireBoard,
        steps: &mut Vec<Step>,
        line: &BoardProgress,
    ) -> Result<(), StepError> {
        let name = board.name().to_string();
        if let Some(mac) = board.mac() {
            line.finding();
            let found = bounded("find", &name, FIND_TIMEOUT, board.locate()).await?;
            steps.push(Step::now(Body::BoardPort {
                board: name.clone(),
                mac: mac.to_string(),
                port: found.port.display().to_string(),
                scanned: found.scanned,
                by: FoundBy::Mac.as_str().into(),
                usb: found.usb.as_ref().map(ToString::to_string),
            }));
        }

        let started = Instant::now();
        line.start("flashing");
        let outcome = bounded(
            "flash",
            &name,
            FLASH_TIMEOUT,
            board.flash(&self.image, self.records, &mut |p| line.update(p)),
        )
        .await?;
        steps.push(Step::now(Body::BoardFlash {
            board: name.clone(),
            bytes: self.image.len(),
            skipped: matches!(outcome, FlashOutcome::Unchanged(_)),
            seconds: started.elapsed().as_secs_f64(),
        }));

        let started = Instant::now();
        line.start("deploying");
        let report = bounded(
            "deploy",
            &name,
            DEPLOY_TIMEOUT,
            board.deploy_with_progress(self.files, &mut |p| line.update(p)),
        )
        .await?;
        steps.push(Step::now(Body::BoardDeploy {
            board: name,
            files: self.files.len(),
            written: report.written.len(),
            skipped: report.unchanged.len(),
            seconds: started.elapsed().as_secs_f64(),
        }));
        Ok(())
    }
}
