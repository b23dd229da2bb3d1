//! Provisioning over the wire (DESIGN §1), as for hardware: power the boards at the profile's first voltage,
//! flash the MicroPython image through the ROM loader unless it is already there, deploy the app files and
//! config over the raw REPL, and switch the supply off again: the timeline starts from off, as on the process
//! twin, so its first wake is a power-on with RTC memory clear.

use super::bench::Bench;
use crate::events::{Body, EventLog};
use crate::scenario::Scenario;
use anyhow::{Context, Result};
use rig::board::esp8266::Esp8266Board;
use rig::board::flasher::FlashOutcome;
use rig::board::AppFile;
use rig::clock::DeviceClock;
use std::time::{Duration, Instant};

/// Bounds on each step per board, over the bounds inside the flasher and the raw-REPL client.
const FLASH_TIMEOUT: Duration = Duration::from_secs(60);
const DEPLOY_TIMEOUT: Duration = Duration::from_secs(60);

/// The port the flash step just closed can be busy for a moment: a process the twin was starting at that
/// instant holds our descriptor (and its lock) until its exec. Deploy tries this often, this far apart.
const BUSY_TRIES: u32 = 5;
const BUSY_PAUSE: Duration = Duration::from_millis(50);

/// Size of the generated MicroPython image the twin boards are flashed with (a real ESP8266 build is ~600 KiB;
/// this keeps each run's flash under a second on a pty).
const TWIN_IMAGE_BYTES: usize = 64 * 1024;

/// A provisioning step, recorded once the timeline has started.
pub struct Step {
    at: Instant,
    body: Body,
}

impl Step {
    fn now(body: Body) -> Step {
        Step {
            at: Instant::now(),
            body,
        }
    }

    /// Records the step at its own time, before the scenario's start (negative device seconds).
    pub fn record(self, log: &EventLog, clock: DeviceClock) {
        let t = clock.now() - self.at.elapsed().as_secs_f64() * clock.speed();
        log.record_at(crate::events::Event {
            // `+ 0.0` writes a step that rounds to zero as 0, not -0.
            t: (t * 1000.0).round() / 1000.0 + 0.0,
            body: self.body,
        });
    }
}

/// Flashes and deploys each pty board (`files` in `bench.infos` order) with the supply on, and moves it into
/// `bench.boards`. The caller makes the supply safe if this fails. The supply commands are not recorded: the log's
/// supply starts off at t = 0.
pub async fn provision(
    bench: &mut Bench,
    scenario: &Scenario,
    files: &[Vec<AppFile>],
) -> Result<Vec<Step>> {
    let mut steps = Vec::new();
    for (channel, plan) in bench.channels.iter().zip(&scenario.supply.channels) {
        let (supply, ch) = (&channel.supply, channel.channel);
        supply.set_current_limit(ch, plan.current_limit).await?;
        supply.set_volts(ch, plan.profile.volts_at(0.0)).await?;
        supply.set_output(ch, true).await?;
    }

    let image = match &bench.image {
        Some(path) => std::fs::read(path)
            .with_context(|| format!("reading the MicroPython image {}", path.display()))?,
        None => rig::board::image::synthetic(TWIN_IMAGE_BYTES, 1),
    };
    for (wire, (info, files)) in bench.ports.iter().zip(bench.infos.iter().zip(files)) {
        let mut board = Esp8266Board::new(&info.name, &wire.port, wire.lines.clone());

        let started = Instant::now();
        let outcome = tokio::time::timeout(FLASH_TIMEOUT, board.flash(&image, None, &mut |_| {}))
            .await
            .with_context(|| format!("{}: flashing took over {FLASH_TIMEOUT:?}", info.name))??;
        steps.push(Step::now(Body::BoardFlash {
            board: info.name.clone(),
            bytes: image.len(),
            skipped: matches!(outcome, FlashOutcome::Unchanged(_)),
            seconds: started.elapsed().as_secs_f64(),
        }));

        let started = Instant::now();
        let deploy = async {
            let mut tries = 1;
            loop {
                match board.deploy_files(files).await {
                    Err(e) if tries < BUSY_TRIES && port_busy(&e) => {
                        tries += 1;
                        tokio::time::sleep(BUSY_PAUSE).await;
                    }
                    done => return done,
                }
            }
        };
        let report = tokio::time::timeout(DEPLOY_TIMEOUT, deploy)
            .await
            .with_context(|| format!("{}: deploying took over {DEPLOY_TIMEOUT:?}", info.name))??;
        steps.push(Step::now(Body::BoardDeploy {
            board: info.name.clone(),
            files: files.len(),
            written: report.written.len(),
            skipped: report.unchanged.len(),
            seconds: started.elapsed().as_secs_f64(),
        }));
        bench.boards.push(Box::new(board));
    }
    for channel in &bench.channels {
        channel.supply.set_output(channel.channel, false).await?;
    }
    Ok(steps)
}

fn port_busy(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ResourceBusy)
    })
}
