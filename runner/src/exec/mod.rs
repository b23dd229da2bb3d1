//! Execution: provision the boards, run one timeline on one clock, record every event. Checks come after.

mod app_version;
mod bench;
pub mod chip_api;
mod console;
mod ocp;
mod port_events;
mod provision;
mod provision_progress;
mod provision_step;
mod provision_wire;
mod publish;
mod supply_tasks;
mod tap_events;

pub use bench::{
    make_safe, AccessPoint, Bench, BenchChannel, BenchSource, Capabilities, RigBench, RigDrivers,
    RigSource, TwinBench, TwinImage, TwinRuntime, TwinSource, TwinTransport, TWIN_LIMITS,
};
pub use provision::{app_files, deployed_app, Apps};

use bench::Provisioned;

use anyhow::{Context, Result};
use futures_util::FutureExt;
use model::checks::{run_checks, Verdict};
use model::clock::DeviceClock;
use model::events::{Body, Event, EventLog, Tested};
use model::scenario::FaultKind;
use model::scenario::Scenario;
use provision::BoardConfig;
use rig::board::AppFile;
use rig::mqtt::{Broker, Monitor, Tap, TapFault};
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use supply_tasks::{Stop, SupplyTasks};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// What every scenario of one `hil run` shares.
pub struct RunContext {
    pub broker: Arc<Broker>,
    /// The run's apps: `--firmware`'s and those scenarios name.
    pub app: Arc<Apps>,
    pub speed: f64,
    pub report_dir: PathBuf,
    /// Distinguishes this run's topics from any other run's on a shared broker.
    pub run_id: String,
    pub interrupt: watch::Receiver<bool>,
    /// The WiFi password deployed to the boards (HIL_WIFI_PASSWORD, or generated for the twin's access point).
    pub wifi_password: rig::secret::Secret,
    pub progress: bool,
    /// Where each scenario's bench comes from: a rig file's bench, or a twin bench of the scenario's own.
    pub bench: Arc<dyn BenchSource>,
    /// Recorded in each scenario's start.
    pub tested: Arc<Tested>,
    /// `--baseline`'s report: each scenario is also judged against it.
    pub baseline: Option<Arc<crate::report::Baseline>>,
}

pub struct ScenarioOutcome {
    pub scenario: String,
    pub boards: Vec<String>,
    pub verdicts: Vec<Verdict>,
    /// A set-up or bench failure that stopped the run (exit 2), as opposed to a failed check.
    pub error: Option<String>,
    pub interrupted: bool,
    pub events_path: PathBuf,
    pub wall: Duration,
    pub readings: usize,
}

impl ScenarioOutcome {
    /// A scenario not yet run: no boards, no verdicts, no error.
    pub fn new(scenario: &str, events_path: PathBuf) -> ScenarioOutcome {
        ScenarioOutcome {
            scenario: scenario.into(),
            boards: Vec::new(),
            verdicts: Vec::new(),
            error: None,
            interrupted: false,
            events_path,
            wall: Duration::ZERO,
            readings: 0,
        }
    }

    /// `check[board]` of each failed check, for one-line summaries.
    pub fn failed_checks(&self) -> Vec<String> {
        let mut failed: Vec<String> = self
            .verdicts
            .iter()
            .filter(|v| !v.pass)
            .map(|v| {
                let unjudged = if v.judged { "" } else { " (not judged)" };
                format!(
                    "{}[{}]{unjudged}",
                    v.name,
                    v.board.as_deref().unwrap_or("-")
                )
            })
            .collect();
        failed.dedup();
        failed
    }

    pub fn passed(&self) -> bool {
        self.error.is_none() && !self.interrupted && self.verdicts.iter().all(|v| v.pass)
    }
}

/// Sampling and profile updates happen this often in wall-clock time, whatever the speed.
const TICK: Duration = Duration::from_millis(100);

/// Device seconds between supply samples.
const SAMPLE_PERIOD_DEVICE: f64 = 0.2;

pub async fn run_scenario(scenario: &Scenario, ctx: &RunContext) -> ScenarioOutcome {
    let started = Instant::now();
    let events_path = ctx.report_dir.join(&scenario.name).join("events.jsonl");
    let mut outcome = ScenarioOutcome::new(&scenario.name, events_path.clone());
    match execute(scenario, ctx, &events_path).await {
        Ok((log, boards, interrupted)) => {
            let events = log.events();
            outcome.boards = boards;
            outcome.interrupted = interrupted;
            outcome.readings = events
                .iter()
                .filter(|e| matches!(e.body, Body::Reading { .. }))
                .count();
            // A bench that fell behind says nothing about the firmware: a bench error, not its checks.
            let verdicts = run_checks(scenario, &events);
            let failed: Vec<&str> = verdicts
                .iter()
                .filter(|v| !v.pass && v.judged)
                .map(|v| v.name)
                .collect();
            match model::bench_lag::fell_behind(&events, &failed) {
                Some(behind) => outcome.error = Some(behind.to_string()),
                None => {
                    outcome.verdicts = verdicts;
                    if let Some(baseline) = &ctx.baseline {
                        outcome.verdicts.extend(baseline.judge(scenario, &events));
                    }
                }
            }
            let end = events.last().map_or(0.0, |e| e.t);
            for v in &outcome.verdicts {
                log.record_at(Event {
                    t: end,
                    body: Body::Check {
                        name: v.name.into(),
                        board: v.board.clone(),
                        pass: v.pass,
                        judged: v.judged,
                        message: v.message.clone(),
                    },
                });
            }
            if let Some(e) = log.write_error() {
                outcome.error = Some(format!("writing {}: {e}", events_path.display()));
            }
        }
        Err(e) => outcome.error = Some(format!("{e:#}")),
    }
    outcome.wall = started.elapsed();
    outcome
}

async fn execute(
    scenario: &Scenario,
    ctx: &RunContext,
    events_path: &Path,
) -> Result<(EventLog, Vec<String>, bool)> {
    if let Some(refusal) = ctx.bench.capabilities().refusal(scenario) {
        anyhow::bail!(refusal);
    }
    // The bench and its boards keep a clock of their own (only durations matter to them): the scenario's clock,
    // and so `t`, starts once the boards are provisioned.
    let mut bench = ctx
        .bench
        .open(scenario, DeviceClock::start(ctx.speed))
        .await?;
    let prefix = format!("hil/{}/{}", ctx.run_id, scenario.name);
    let app = ctx.app.of(scenario)?;
    let payload = scenario
        .payload
        .clone()
        .or_else(|| bench.payload())
        .unwrap_or_default();
    let (monitor, received) = Monitor::start(
        &ctx.broker,
        &format!("hil-monitor-{}-{}", ctx.run_id, scenario.name),
        &format!("{prefix}/+/battery"),
    )
    .await?;
    let (tap_tx, tap_rx) = tokio::sync::mpsc::unbounded_channel();
    let tap = Tap::start("127.0.0.1:0".parse()?, ctx.broker.upstream(), tap_tx).await?;

    let safe_channels = bench.channels().to_vec();
    let supply_tasks = SupplyTasks::new();
    let on_bench = async {
        let files = board_files(bench.as_ref(), scenario, ctx, app, &prefix, tap.addr);
        let (provisioned, clock, log) =
            provision(bench.as_mut(), scenario, &files, ctx.speed, events_path).await?;
        for step in provisioned.steps {
            step.record(&log, clock);
        }
        let mut boards = provisioned.boards;
        log.record_start(
            Body::ScenarioStart {
                scenario: scenario.name.clone(),
                speed: ctx.speed,
                boards: bench.boards().to_vec(),
                broker: ctx.broker.description.clone(),
                payload: Some(payload.clone()),
                within_volts: scenario.expect.readings.as_ref().map(|r| r.within_volts),
            },
            &ctx.tested,
        );
        record_board_configs(&log, bench.as_ref(), scenario, app, &prefix);
        let reader = publish::Reader {
            prefix: prefix.clone(),
            format: payload,
            adc: bench.adc(),
        };
        let progress = ctx.progress.then(|| scenario.name.clone());
        let tasks = start_recorders(
            bench.as_ref(),
            &mut boards,
            &log,
            tap_rx,
            received,
            reader,
            progress,
        );

        let targets = FaultTargets {
            tap: tap.faults.clone(),
            channels: bench.channels().to_vec(),
            access_point: bench.access_point(),
        };
        {
            let (faults, log) = (scenario.faults.clone(), log.clone());
            supply_tasks.spawn(move |stop| schedule_faults(faults, targets, log, clock, stop));
        }
        let result = drive(
            scenario,
            ctx,
            bench.channels(),
            &mut boards,
            &log,
            clock,
            &supply_tasks,
        )
        .await;

        let safe = wind_down(
            bench.channels(),
            &mut boards,
            &log,
            &supply_tasks,
            (monitor, tap, tasks),
        )
        .await;
        log.record(Body::ScenarioEnd {
            scenario: scenario.name.clone(),
        });
        let interrupted = result?;
        safe?;
        Ok((
            log,
            bench.boards().iter().map(|b| b.name.clone()).collect(),
            interrupted,
        ))
    };
    // A panic anywhere in provisioning or the timeline (a bug) still ends with the supply safe.
    match AssertUnwindSafe(on_bench).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            supply_tasks.halt().await;
            let _ = bench::make_safe(&safe_channels, None).await;
            anyhow::bail!(
                "hil panicked during the run (a bug: please report it); the supply was made safe"
            )
        }
    }
}

/// Provisions the boards, then starts the scenario's clock and its log; on a failure the supply is made safe
/// (provisioning over the wire powers it).
async fn provision(
    bench: &mut dyn Bench,
    scenario: &Scenario,
    files: &[Vec<AppFile>],
    speed: f64,
    events_path: &Path,
) -> Result<(Provisioned, DeviceClock, EventLog)> {
    let started = async {
        let provisioned = bench.provision(scenario, files).await?;
        let clock = DeviceClock::start(speed);
        let log = EventLog::create(Some(events_path), clock)
            .with_context(|| format!("creating {}", events_path.display()))?;
        anyhow::Ok((provisioned, clock, log))
    }
    .await;
    if started.is_err() {
        // Failures to make safe are logged by `make_safe`; the provisioning error is the one to report.
        let _ = bench::make_safe(bench.channels(), None).await;
    }
    started
}

/// Ends the timeline whatever happened: the supply tasks halted, then the supply in the rig's safe state (nothing
/// commands it afterwards), the boards stopped, and the recorders given a moment to record what is in flight.
async fn wind_down(
    channels: &[BenchChannel],
    boards: &mut [Box<dyn rig::board::Board>],
    log: &EventLog,
    supply_tasks: &SupplyTasks,
    (monitor, tap, recorders): (Monitor, Tap, Recorders),
) -> Result<()> {
    supply_tasks.halt().await;
    let safe = bench::make_safe(channels, Some(log)).await;
    for board in boards.iter_mut() {
        if let Err(e) = board.stop().await {
            tracing::warn!("{e:#}");
        }
    }
    drop(monitor);
    drop(tap);
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(recorders);
    safe
}

/// Each board's files: the app, and its own config.json (in `bench.boards()` order).
fn board_files(
    bench: &dyn Bench,
    scenario: &Scenario,
    ctx: &RunContext,
    app: &[AppFile],
    prefix: &str,
    mqtt_addr: std::net::SocketAddr,
) -> Vec<Vec<AppFile>> {
    let adc = bench.adc();
    bench
        .boards()
        .iter()
        .map(|info| {
            let config = BoardConfig {
                device_id: &info.name,
                topic_prefix: prefix,
                broker: &ctx.broker,
                mqtt_addr,
                wifi_ssid: bench.wifi_ssid(),
                wifi_password: &ctx.wifi_password,
                adc,
                firmware: &scenario.firmware,
            };
            let mut files = app.to_vec();
            files.push(config.to_file());
            files
        })
        .collect()
}

/// What each board was given that its checks judge it by (event `board.config`).
fn record_board_configs(
    log: &EventLog,
    bench: &dyn Bench,
    scenario: &Scenario,
    app: &[AppFile],
    prefix: &str,
) {
    let adc = bench.adc();
    let fw = app_version::declared(app);
    for info in bench.boards() {
        log.record(Body::BoardConfig {
            board: info.name.clone(),
            topic: format!("{prefix}/{}/battery", info.name),
            qos: scenario.firmware.qos,
            divider: adc.divider,
            full_scale_volts: adc.full_scale_volts,
            fw: fw.clone(),
            low_battery_volts: Some(scenario.firmware.low_battery_volts),
        });
    }
}

/// Starts the tasks that only record: the bench's ground truth, each board's console and port changes, the tap's
/// view of each MQTT session, and the readings the monitor receives (printed as they come with `progress`).
fn start_recorders(
    bench: &dyn Bench,
    boards: &mut [Box<dyn rig::board::Board>],
    log: &EventLog,
    mut tap_rx: mpsc::UnboundedReceiver<rig::mqtt::TapEvent>,
    mut received: mpsc::Receiver<rig::mqtt::Received>,
    reader: publish::Reader,
    progress: Option<String>,
) -> Recorders {
    let mut tasks = Recorders::default();
    if let Some(task) = bench.record_ground_truth(log) {
        tasks.push(task);
    }
    for board in boards.iter_mut() {
        if let Some(mut console) = board.take_console() {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(line) = console.recv().await {
                    let derived = console::interpret(&line.board, &line.line);
                    log.record(Body::Console {
                        board: line.board,
                        line: line.line,
                    });
                    if let Some(body) = derived {
                        log.record(body);
                    }
                }
            }));
        }
        if let Some(mut notices) = board.take_port_notices() {
            let log = log.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(notice) = notices.recv().await {
                    log.record(port_events::port_event(notice));
                }
            }));
        }
    }
    {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(event) = tap_rx.recv().await {
                log.record(tap_events::body_of(event));
            }
        }));
    }
    let log = log.clone();
    tasks.push(tokio::spawn(async move {
        while let Some(msg) = received.recv().await {
            for body in reader.interpret(&msg.topic, &msg.payload, msg.retain) {
                let event = log.record(body);
                if let (
                    Some(name),
                    Body::Reading {
                        board,
                        seq,
                        v,
                        late,
                        ..
                    },
                ) = (&progress, &event.body)
                {
                    let late = if *late { " (late)" } else { "" };
                    let seq = seq.map_or_else(String::new, |s| format!(" seq={s}"));
                    eprintln!("  {name} t={:>7.1}s {board}{seq} v={v:.2} V{late}", event.t);
                }
            }
        }
    }));
    tasks
}

/// Powers the boards and follows each channel's voltage profile until the scenario's duration; returns whether
/// it was interrupted.
async fn drive(
    scenario: &Scenario,
    ctx: &RunContext,
    channels: &[BenchChannel],
    boards: &mut Vec<Box<dyn rig::board::Board>>,
    log: &EventLog,
    clock: DeviceClock,
    tasks: &SupplyTasks,
) -> Result<bool> {
    for (channel, plan) in channels.iter().zip(&scenario.supply.channels) {
        channel
            .prepare(plan.current_limit, plan.profile.volts_at(0.0), Some(log))
            .await?;
    }
    // A board that cannot start is left out, as one that fails provisioning: its checks fail with the reason
    // and the other boards run.
    // All at once: started one after another, a hundred boards would power up seconds into the timeline.
    let results = futures_util::future::join_all(boards.iter_mut().map(|b| b.start())).await;
    let mut started = Vec::with_capacity(boards.len());
    let mut failures = Vec::new();
    for (board, result) in boards.drain(..).zip(results) {
        match result {
            Ok(()) => started.push(board),
            Err(e) => {
                failures.push(format!("{}: {e:#}", board.name()));
                log.record(Body::BoardError {
                    board: board.name().to_string(),
                    step: "start".into(),
                    message: format!("{e:#}"),
                });
            }
        }
    }
    if started.is_empty() && !failures.is_empty() {
        anyhow::bail!("no board started: {}", failures.join("; "));
    }
    *boards = started;
    for channel in channels {
        channel.set_output(true, Some(log)).await?;
        let (c, l) = (channel.clone(), log.clone());
        tasks.spawn(move |stop| sample(c, l, clock, stop));
        let (c, l) = (channel.clone(), log.clone());
        tasks.spawn(move |stop| ocp::watch(c, l, stop));
    }

    // Each profile is followed in a task of its own so that a panic in it is caught here, and the caller still
    // makes the supply safe; a follower that panics drops its sender without a result.
    let (results_tx, mut results) = mpsc::unbounded_channel();
    for (channel, plan) in channels.iter().zip(&scenario.supply.channels) {
        let follower = ProfileFollower {
            channel: channel.clone(),
            profile: plan.profile.clone(),
            volts: plan.profile.volts_at(0.0),
            duration: scenario.duration,
            log: log.clone(),
            clock,
            interrupt: ctx.interrupt.clone(),
        };
        let results_tx = results_tx.clone();
        tasks.spawn(move |stop| async move {
            let _ = results_tx.send(follower.run(stop).await);
        });
    }
    drop(results_tx);
    let mut interrupted = false;
    for _ in channels {
        match results.recv().await {
            Some(Ok(stopped)) => interrupted |= stopped,
            // The caller halts the other channels' followers before it makes the bench safe.
            Some(Err(e)) => return Err(e),
            None => anyhow::bail!("the supply profile driver panicked; the supply was made safe"),
        }
    }
    Ok(interrupted)
}

/// Records the channel's measured volts and amps: at least 5 samples per device second (what a bench supply's
/// own refresh allows), and at least 10 per wall-clock second.
async fn sample(channel: BenchChannel, log: EventLog, clock: DeviceClock, mut stop: Stop) {
    let label = channel.label();
    let (supply, ch) = (channel.supply, channel.channel);
    let every = TICK
        .min(clock.real(SAMPLE_PERIOD_DEVICE))
        .max(Duration::from_millis(2));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    while stop.unless_stopped(tick.tick()).await.is_some() {
        let measured = tokio::try_join!(supply.measure_volts(ch), supply.measure_amps(ch));
        log.record(match measured {
            Ok((volts, amps)) => Body::SupplySample {
                supply: label.clone(),
                volts,
                amps,
            },
            Err(e) => Body::SupplyError {
                supply: label.clone(),
                message: format!("{e:#}"),
            },
        });
    }
}

/// Sets the supply to the scenario's profile as device time passes.
struct ProfileFollower {
    channel: BenchChannel,
    profile: model::scenario::Profile,
    volts: f64,
    duration: f64,
    log: EventLog,
    clock: DeviceClock,
    interrupt: watch::Receiver<bool>,
}

impl ProfileFollower {
    /// Returns whether the run was interrupted (Ctrl-C, or the run stopping its supply tasks) before the
    /// scenario's end.
    async fn run(mut self, mut stop: Stop) -> Result<bool> {
        let tick_device = TICK.as_secs_f64() * self.clock.speed();
        loop {
            let now = self.clock.now();
            if now >= self.duration {
                return Ok(false);
            }
            let target = (self.profile.volts_at(now) * 1000.0).round() / 1000.0;
            if (target - self.volts).abs() >= 0.001 {
                self.channel.set_volts(target, Some(&self.log)).await?;
                self.volts = target;
            }
            let next_step = self
                .profile
                .steps
                .iter()
                .map(|s| s.at)
                .find(|at| *at > now)
                .unwrap_or(self.duration);
            let wake_at = if self.profile.ramping_at(now) {
                (now + tick_device).min(next_step)
            } else {
                next_step
            };
            let clock = self.clock;
            let mut interrupt = self.interrupt.clone();
            let slept = stop.unless_stopped(async {
                tokio::select! {
                    _ = tokio::time::sleep(clock.real_until(wake_at.min(self.duration))) => true,
                    _ = interrupt.wait_for(|stop| *stop) => false,
                }
            });
            if slept.await != Some(true) {
                return Ok(true);
            }
        }
    }
}

/// The timeline's tasks that only record (console, tap, monitor, loads), aborted when the run is done with them
/// or when a panic unwinds past them.
#[derive(Default)]
struct Recorders(Vec<JoinHandle<()>>);

impl Recorders {
    fn push(&mut self, task: JoinHandle<()>) {
        self.0.push(task);
    }
}

impl Drop for Recorders {
    fn drop(&mut self) {
        self.0.iter().for_each(JoinHandle::abort);
    }
}

/// What the fault schedule acts on.
struct FaultTargets {
    tap: Arc<rig::mqtt::TapFaults>,
    /// Every channel of the bench: `supply-off` switches them all.
    channels: Vec<BenchChannel>,
    /// The bench's access point, which `wifi-off` switches (a bench without one refuses such a scenario).
    access_point: Option<Arc<dyn AccessPoint>>,
}

/// Switches each fault on at its start and off at its end, recording both.
async fn schedule_faults(
    faults: Vec<model::scenario::FaultWindow>,
    targets: FaultTargets,
    log: EventLog,
    clock: DeviceClock,
    mut stop: Stop,
) {
    let FaultTargets {
        tap,
        channels,
        access_point,
    } = targets;
    let mut edges: Vec<(f64, bool, model::scenario::FaultWindow)> = faults
        .iter()
        .flat_map(|f| [(f.start, true, f.clone()), (f.end, false, f.clone())])
        .collect();
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (at, on, fault) in edges {
        if stop
            .unless_stopped(tokio::time::sleep(clock.real_until(at)))
            .await
            .is_none()
        {
            return;
        }
        let tap_fault = match fault.kind {
            FaultKind::StrictKeepalive => Some(TapFault::StrictKeepalive),
            FaultKind::RefuseConnect(rc) => Some(TapFault::RefuseConnect(rc)),
            FaultKind::BrokerDown => Some(TapFault::BrokerDown),
            FaultKind::DropAfterConnect => Some(TapFault::DropAfterConnect),
            FaultKind::Delay { ms } => Some(TapFault::Delay { ms }),
            // The scenario's ms are device time; the tap holds packets on the wall clock.
            FaultKind::PubackDelay { ms } => Some(TapFault::PubackDelay {
                ms: (clock.real(ms as f64 / 1000.0).as_millis() as u64).max(1),
            }),
            FaultKind::PubackDrop => Some(TapFault::PubackDrop),
            FaultKind::SupplyOff | FaultKind::WifiOff => None,
        };
        match tap_fault {
            Some(f) => tap.set(f, on),
            None if fault.kind == FaultKind::WifiOff => {
                if let Some(access_point) = &access_point {
                    access_point.set_up(!on);
                }
            }
            None => {
                // A failure is recorded with the setting; the other channels still switch.
                for channel in &channels {
                    let _ = channel.set_output(!on, Some(&log)).await;
                }
            }
        }
        log.record(if on {
            Body::FaultStart {
                fault: fault.kind.to_string(),
                until: fault.end,
            }
        } else {
            Body::FaultEnd {
                fault: fault.kind.to_string(),
            }
        });
    }
}
