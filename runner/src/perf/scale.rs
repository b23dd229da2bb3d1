//! `hil bench scale`: K twin boards at once through the full path (pty boards flashed and deployed over their
//! ports, or warm-started host processes; SCPI supply, tap, real broker), with the cost and the timing precision of what the rig measures against the twin's
//! ground truth.

use crate::exec::{
    deployed_app, run_scenario, Apps, RunContext, TwinRuntime, TwinSource, TwinTransport,
};
use crate::paths;
use anyhow::{Context, Result};
use model::diagnostic::UserTomlFile;
use model::events::{Body, Event};
use model::scenario::Scenario;
use rig::mqtt::{Broker, BrokerSpec};
use rig::secret::Secret;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::watch;

const SLEEP_S: f64 = 60.0;
/// An awake twin ESP8266 draws 75 mA at 3.3 V, ~23 mA from 12.6 V through the buck: 34 of them ≈ 0.8 A, under
/// the twin channel's 1 A.
const BOARDS_PER_CHANNEL: u32 = 34;

/// CPU seconds (user + system) and peak resident kilobytes, of this process and of its waited-for children
/// (the fork server's children count through the server).
fn usage() -> (f64, i64, i64) {
    let get = |who| {
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: getrusage only writes the struct it is given.
        unsafe { libc::getrusage(who, &mut u) };
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (secs(u.ru_utime) + secs(u.ru_stime), u.ru_maxrss)
    };
    let (own_cpu, own_rss) = get(libc::RUSAGE_SELF);
    let (child_cpu, child_rss) = get(libc::RUSAGE_CHILDREN);
    let forked_cpu = twin::fork_server::ForkServer::shared_cpu_seconds();
    (own_cpu + child_cpu + forked_cpu, own_rss, child_rss)
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

/// Per board: times the twin really woke and fell asleep (ground truth), and the rig's console observations.
#[derive(Default)]
struct Timeline {
    true_wakes: Vec<f64>,
    true_sleeps: Vec<f64>,
    seen_wakes: Vec<f64>,
    seen_sleeps: Vec<f64>,
}

fn timelines(events: &[Event]) -> BTreeMap<String, Timeline> {
    let mut boards: BTreeMap<String, Timeline> = BTreeMap::new();
    for e in events {
        match &e.body {
            Body::TwinLoad { board, state } => {
                let tl = boards.entry(board.clone()).or_default();
                match state.as_str() {
                    "awake" => tl.true_wakes.push(e.t),
                    _ if tl.true_wakes.len() > tl.true_sleeps.len() => tl.true_sleeps.push(e.t),
                    _ => {}
                }
            }
            Body::Console { board, line } if line.starts_with("ets Jan") => boards
                .entry(board.clone())
                .or_default()
                .seen_wakes
                .push(e.t),
            Body::BoardSleep { board, .. } => boards
                .entry(board.clone())
                .or_default()
                .seen_sleeps
                .push(e.t),
            _ => {}
        }
    }
    boards
}

/// Errors (seconds of device time) of measured periods and awake windows against the ground truth.
fn timing_errors(events: &[Event]) -> (Vec<f64>, Vec<f64>) {
    let mut period_errors = Vec::new();
    let mut awake_errors = Vec::new();
    for tl in timelines(events).values() {
        let n = tl.true_wakes.len().min(tl.seen_wakes.len());
        for i in 1..n {
            let truth = tl.true_wakes[i] - tl.true_wakes[i - 1];
            let seen = tl.seen_wakes[i] - tl.seen_wakes[i - 1];
            period_errors.push((seen - truth).abs());
        }
        let m = tl.true_sleeps.len().min(tl.seen_sleeps.len()).min(n);
        for i in 0..m {
            let truth = tl.true_sleeps[i] - tl.true_wakes[i];
            let seen = tl.seen_sleeps[i] - tl.seen_wakes[i];
            awake_errors.push((seen - truth).abs());
        }
    }
    (period_errors, awake_errors)
}

/// Runs `boards` twin boards for `minutes` of device time at `speed` and prints the figures.
pub async fn scale(
    boards: &[u32],
    speed: f64,
    minutes: f64,
    spec: &BrokerSpec,
    transport: TwinTransport,
    runtime: TwinRuntime,
) -> Result<()> {
    let broker = Arc::new(Broker::start(spec).await?);
    let runtime = paths::firmware_runtime(runtime, twin::ImageVariant::Generic).await?;
    let app = Arc::new(Apps::only(deployed_app(
        &paths::default_firmware(),
        &runtime,
        false,
        false,
    )?));
    let report = rig::scratch::tempdir("bench-scale-")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "hil bench scale: {minutes} min device time per run, sleep {SLEEP_S}s, speed {speed}x, {:?} boards on the {}, {} ({cores} cores)",
        transport,
        runtime.describe(),
        broker.description
    );
    println!(
        "{:>6} {:>8} {:>8} {:>9} {:>9} {:>10} {:>14} {:>14} {:>6}",
        "boards",
        "wall s",
        "cpu s",
        "rss MB",
        "child MB",
        "readings",
        "period p50/p99",
        "awake p50/p99",
        "checks"
    );
    for &k in boards {
        let name = format!("scale-{k}");
        // As a lab would wire them: spread over the twin DP832's three channels, at most BOARDS_PER_CHANNEL on
        // one where that suffices, so that all of them awake at once stay under a channel's current limit (and its
        // over-current protection).
        let channel_count = k.div_ceil(BOARDS_PER_CHANNEL).clamp(1, 3);
        let mut channels = String::new();
        for c in 0..channel_count {
            let here = k / channel_count + u32::from(c < k % channel_count);
            channels.push_str(&format!("[[supply.channel]]\nboards = {here}\n"));
        }
        let text = format!(
            "name = \"{name}\"\nduration = \"{minutes}m\"\n[firmware]\nsleep = \"{SLEEP_S}s\"\n\
             [supply]\ncurrent_limit = 1.0\nprofile = [{{ at = \"0s\", volts = 12.6 }}]\n{channels}[expect]\n\
             readings = {{ within_volts = 0.15, min_count = 1 }}\nperiod = {{ nominal = \"62s\", tolerance = \"10%\" }}\n"
        );
        let scenario = Scenario::parse(Path::new(&format!("{name}.toml")), &text)
            .map_err(|d| anyhow::anyhow!("{d}"))?;
        let (_stop_tx, stop_rx) = watch::channel(false);
        let ctx = RunContext {
            broker: broker.clone(),
            app: app.clone(),
            speed,
            report_dir: report.path().to_path_buf(),
            run_id: format!("bench{k}"),
            interrupt: stop_rx,
            wifi_password: Secret::generate(),
            progress: false,
            bench: Arc::new(TwinSource {
                transport,
                runtime: runtime.clone(),
            }),
            tested: Arc::new(crate::tested::describe(&paths::default_firmware(), None)?),
            baseline: None,
        };
        let (cpu_before, _, _) = usage();
        let started = Instant::now();
        let outcome = run_scenario(&scenario, &ctx).await;
        let wall = started.elapsed().as_secs_f64();
        let (cpu_after, rss, child_rss) = usage();
        if let Some(e) = &outcome.error {
            anyhow::bail!("{k} boards: {e}");
        }
        let events =
            model::events::read_log(&outcome.events_path).map_err(|e| anyhow::anyhow!(e))?;
        let received: std::collections::BTreeSet<(String, u64)> = events
            .iter()
            .filter_map(|e| match &e.body {
                Body::Reading {
                    board,
                    seq: Some(seq),
                    ..
                } => Some((board.clone(), *seq)),
                _ => None,
            })
            .collect();
        // Every board wakes at power-on and then once per period (~sleep + awake).
        let expected = k as usize * (1 + (minutes * 60.0 / (SLEEP_S + 2.0)).floor() as usize);
        let (mut periods, mut awakes) = timing_errors(&events);
        let passed = outcome.verdicts.iter().filter(|v| v.pass).count();
        println!(
            "{k:>6} {wall:>8.1} {:>8.1} {:>9.1} {:>9.1} {:>10} {:>6.3}/{:<7.3} {:>6.3}/{:<7.3} {:>6}",
            cpu_after - cpu_before,
            rss as f64 / 1024.0,
            child_rss as f64 / 1024.0,
            format!("{}/{expected}", received.len()),
            percentile(&mut periods, 0.5),
            percentile(&mut periods, 0.99),
            percentile(&mut awakes, 0.5),
            percentile(&mut awakes, 0.99),
            format!("{passed}/{}", outcome.verdicts.len()),
        );
        let mut failed: BTreeMap<&str, usize> = BTreeMap::new();
        for v in outcome.verdicts.iter().filter(|v| !v.pass) {
            *failed.entry(v.name).or_default() += 1;
        }
        if let Some(first) = outcome.verdicts.iter().find(|v| !v.pass) {
            let counts: Vec<String> = failed.iter().map(|(n, c)| format!("{n} ×{c}")).collect();
            println!(
                "       failed: {}; first: {} {}",
                counts.join(", "),
                first.board.as_deref().unwrap_or("-"),
                first.message
            );
        }
    }
    println!("timing errors are device seconds between the rig's console observations and the twin's ground truth");
    report
        .close()
        .context("removing the benchmark's report folder")
}
