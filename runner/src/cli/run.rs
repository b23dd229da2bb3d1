//! `hil run`: load and select the scenarios, refuse any over its channel limits, build the firmware, start the
//! brokers, run the suite, and write the reports.

use super::offline::load_scenarios;
use super::rig_bench::OpenRig;
use super::{file_error, setup_error, stop_signal, Ended, RunArgs, SetupFailed};
use super::{DEFAULT_SPEED, EXIT_FAIL, EXIT_PASS, EXIT_SETUP};
use crate::exec::{
    Apps, BenchSource, Capabilities, RigSource, RunContext, ScenarioOutcome, TwinSource,
};
use crate::report::{
    prepare_report_folder, summary_table, write_html, write_junit, Baseline, RunHeader, Skipped,
};
use crate::rigfile::RigFile;
use crate::schedule::{Claim, Turns};
use crate::{paths, plan, suite};
use model::scenario::Scenario;
use rig::mqtt::{Broker, BrokerSpec, Monitor};
use rig::secret::Secret;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub(super) async fn run(args: RunArgs) -> Ended {
    let broker_spec = args
        .broker
        .clone()
        .with_ca(args.broker_ca.clone())
        .map_err(setup_error)?;
    let scenarios =
        suite::with_tags(load_scenarios(&args.paths)?, &args.tag).map_err(setup_error)?;
    let scenarios = match args.partition {
        Some(partition) => partition.select(scenarios),
        None => scenarios,
    };
    let speed = speed(&args)?;
    // Read before the report folder is emptied: the baseline may be the folder this run reports into.
    let baseline = args
        .baseline
        .dir
        .as_deref()
        .map(|dir| Baseline::load(dir, args.baseline.margins()).map(Arc::new))
        .transpose()
        .map_err(|e| setup_error(format_args!("--baseline: {e}")))?;
    let rig = args.rig.as_deref().map(OpenRig::open).transpose()?;
    let rig_file = rig.as_ref().map(|r| r.file.clone());
    // A scenario named on the command line that the rig cannot stage is an error; one a tag selected is skipped.
    let (scenarios, unstageable) = match rig {
        Some(_) if !args.tag.is_empty() => suite::split_stageable(scenarios, Capabilities::RIG),
        _ => (scenarios, Vec::new()),
    };
    refuse_over_limits(&scenarios, rig_file.as_deref())?;
    let firmware = Firmware::prepare(&args, &scenarios).await?;
    let tested = crate::tested::describe(&firmware.folder, args.rig.as_deref()).map_err(|e| {
        setup_error(format_args!(
            "reading the firmware folder {}: {e}",
            firmware.folder.display()
        ))
    })?;
    prepare_report_folder(&args.report).map_err(setup_error)?;
    let (scenarios, mut skipped) = suite::split_runnable(scenarios, &broker_spec);
    skipped.extend(unstageable);
    if !args.quiet {
        if let Some(partition) = args.partition {
            eprintln!(
                "partition {partition}: {} scenario(s), {} of device time",
                scenarios.len(),
                suite::duration_text(scenarios.iter().map(|s| s.duration).sum())
            );
        }
        for s in &skipped {
            eprintln!("SKIP {}: {}", s.scenario, s.reason);
        }
    }
    // The claim holds the plan's channel locks until the run ends.
    let claim = rig.as_ref().map(|r| r.claim(&scenarios)).transpose()?;
    let Schedule {
        scenarios,
        turns,
        jobs,
        brokers_needed,
        at_once,
    } = schedule(&args, &broker_spec, scenarios, claim.as_ref());
    let rig_broker = rig.as_ref().and_then(|r| r.broker.clone());
    let brokers = start_brokers(&broker_spec, rig_broker, brokers_needed).await?;
    let shared = SharedByJobs {
        speed,
        interrupt: stop_on_signal(),
        wifi_password: wifi_password(rig.as_ref()),
        rig: rig_file,
    };
    if !args.quiet {
        announce(
            &args,
            scenarios.len(),
            &shared,
            &at_once,
            &brokers,
            &firmware,
        );
    }
    let header = RunHeader {
        broker: broker_description(&brokers),
        tested,
        baseline,
    };
    let contexts = contexts(&args, &shared, &firmware, &header, &claim, &brokers, jobs);
    let guard = match (&rig, &claim) {
        (Some(rig), Some(claim)) => Some(rig.guard(claim)?),
        _ => None,
    };
    let started = Instant::now();
    let outcomes = suite::run_all(&scenarios, contexts, turns).await;
    if let Some(guard) = guard {
        guard.disarm().await;
    }
    skipped.extend(Skipped::not_started(&scenarios, &outcomes));
    let wall = started.elapsed();
    if let Some(claim) = &claim {
        println!("{}", claim.plan.against(wall));
    }
    conclude(
        &header,
        &outcomes,
        &skipped,
        scenarios.len(),
        &at_once,
        wall,
        &args,
    )
}

/// How a run's scenarios run: in which order, each waiting for which, how many at once, on how many brokers.
struct Schedule {
    scenarios: Vec<Scenario>,
    turns: Turns,
    jobs: usize,
    brokers_needed: usize,
    /// How the run says what runs at once.
    at_once: String,
}

/// On a rig, the packed plan's order, each scenario once those before it on its channels end, all on one broker;
/// on the twin bench, `--jobs` at once, each job with a broker of its own.
fn schedule(
    args: &RunArgs,
    broker: &BrokerSpec,
    scenarios: Vec<Scenario>,
    claim: Option<&Claim>,
) -> Schedule {
    match claim {
        Some(claim) => {
            let jobs = args.jobs.unwrap_or(scenarios.len()).min(scenarios.len());
            Schedule {
                scenarios: claim
                    .plan
                    .scenarios
                    .iter()
                    .map(|p| scenarios[p.scenario].clone())
                    .collect(),
                turns: Turns::new(claim.plan.predecessors()),
                jobs,
                brokers_needed: jobs.min(1),
                at_once: format!(
                    "packed on {} rig channel(s){}",
                    claim.plan.queued.len(),
                    args.jobs
                        .map_or_else(String::new, |j| format!(", at most {j} at a time"))
                ),
            }
        }
        None => {
            let jobs = suite::jobs_for(
                broker,
                args.jobs.unwrap_or(suite::DEFAULT_JOBS),
                scenarios.len(),
            );
            Schedule {
                turns: Turns::free(scenarios.len()),
                scenarios,
                jobs,
                brokers_needed: jobs,
                at_once: format!("{jobs} at a time"),
            }
        }
    }
}

/// The run's speed: `--speed` on the twin bench; a rig's real boards sleep in real time, so it refuses one.
fn speed(args: &RunArgs) -> Result<f64, SetupFailed> {
    match (&args.rig, args.speed) {
        (Some(rig), Some(speed)) => Err(setup_error(format_args!(
            "--speed {speed} with --rig {}: real boards run in real time, so a rig run is always 1x; \
             leave --speed out",
            rig.display()
        ))),
        (Some(_), None) => Ok(1.0),
        (None, speed) => Ok(speed.unwrap_or(DEFAULT_SPEED)),
    }
}

/// Refuses, before anything is sent, every scenario that asks a supply channel for more than it allows.
fn refuse_over_limits(scenarios: &[Scenario], rig: Option<&RigFile>) -> Result<(), SetupFailed> {
    let mut all_fit = Ok(());
    for s in scenarios {
        if let Err(d) = plan::check_limits(s, rig) {
            all_fit = Err(file_error(d));
        }
    }
    all_fit
}

/// What the boards run: the app folder (`--firmware`, else the project's), the runtime twin boards run it on,
/// and the apps built for the scenarios.
struct Firmware {
    folder: PathBuf,
    runtime: twin::FirmwareRuntime,
    apps: Arc<Apps>,
}

impl Firmware {
    async fn prepare(args: &RunArgs, scenarios: &[Scenario]) -> Result<Firmware, SetupFailed> {
        let folder = args
            .firmware
            .clone()
            .unwrap_or_else(paths::default_firmware);
        let runtime = paths::firmware_runtime(args.twin_runtime, args.twin_image.variant())
            .await
            .map_err(setup_error)?;
        let apps = Apps::build(
            &folder,
            scenarios,
            &runtime,
            args.deploy_source,
            args.rig.is_some(),
        )
        .map_err(setup_error)?;
        Ok(Firmware {
            folder,
            runtime,
            apps: Arc::new(apps),
        })
    }

    /// How the app's modules reach the boards.
    fn deployed_as(&self, deploy_source: bool) -> &'static str {
        if deploy_source || matches!(self.runtime, twin::FirmwareRuntime::CPython { .. }) {
            "deployed as source"
        } else {
            "modules deployed as .mpy"
        }
    }
}

/// One broker per job: the rig's when it names one, then as many as `spec` starts; each one answering before
/// any scenario starts, so that a broker that cannot be reached (or refuses the credentials) is one error, not
/// one per scenario.
async fn start_brokers(
    spec: &BrokerSpec,
    rig_broker: Option<Arc<Broker>>,
    jobs: usize,
) -> Result<Vec<Arc<Broker>>, SetupFailed> {
    let mut brokers = Vec::with_capacity(jobs);
    brokers.extend(rig_broker);
    for _ in brokers.len()..jobs {
        let broker = Broker::start(spec)
            .await
            .map_err(|e| setup_error(format_args!("broker: {e:#}")))?;
        brokers.push(Arc::new(broker));
    }
    for broker in &brokers {
        let client_id = format!("hil-probe-{}", std::process::id());
        Monitor::start(broker, &client_id, "hil/probe")
            .await
            .map_err(|e| setup_error(format_args!("broker: {e:#}")))?;
    }
    Ok(brokers)
}

/// Turns Ctrl-C or SIGTERM into the run's interrupt: the scenarios stop, the supply goes off, and what was
/// recorded is written.
fn stop_on_signal() -> watch::Receiver<bool> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        let signal = stop_signal().await;
        eprintln!("\n{signal}: stopping; turning the supply off and writing what was recorded");
        let _ = stop_tx.send(true);
    });
    stop_rx
}

/// The WiFi password deployed to the boards: the rig's, else HIL_WIFI_PASSWORD, else one made up for the twin's
/// access point.
fn wifi_password(rig: Option<&OpenRig>) -> Secret {
    match rig.and_then(|r| r.wifi_password.clone()) {
        Some(password) => password,
        None => std::env::var("HIL_WIFI_PASSWORD")
            .map(Secret::new)
            .unwrap_or_else(|_| Secret::generate()),
    }
}

/// What every job of the run shares, besides its firmware.
struct SharedByJobs {
    speed: f64,
    interrupt: watch::Receiver<bool>,
    wifi_password: Secret,
    rig: Option<Arc<RigFile>>,
}

/// Says on stderr what is about to run, where, how fast, on which broker and firmware.
fn announce(
    args: &RunArgs,
    scenarios: usize,
    shared: &SharedByJobs,
    at_once: &str,
    brokers: &[Arc<Broker>],
    firmware: &Firmware,
) {
    let broker = broker_description(brokers);
    let bench = shared.rig.as_ref().map_or_else(
        || "the twin bench".to_string(),
        |r| format!("the rig {}", r.path.display()),
    );
    let boards_run = match &shared.rig {
        Some(_) => String::new(),
        None => format!(", boards on the {}", firmware.runtime.describe()),
    };
    eprintln!(
        "hil: {scenarios} scenario(s) on {bench} at {}x, {at_once}, broker: {broker}, firmware: {}{} \
         ({}){boards_run}",
        shared.speed,
        firmware.folder.display(),
        firmware.apps.named(),
        firmware.deployed_as(args.deploy_source),
    );
}

/// The brokers as the run's header names them: their description, never a password.
fn broker_description(brokers: &[Arc<Broker>]) -> String {
    brokers.first().map_or_else(
        || "none needed".to_string(),
        |b| match brokers.len() {
            1 => b.description.clone(),
            _ => format!("{} (one per job)", b.description),
        },
    )
}

/// One context per job: on the twin bench each with a broker of its own, on a rig all on the one broker.
fn contexts(
    args: &RunArgs,
    shared: &SharedByJobs,
    firmware: &Firmware,
    header: &RunHeader,
    claim: &Option<Claim>,
    brokers: &[Arc<Broker>],
    jobs: usize,
) -> Vec<Arc<RunContext>> {
    let run_id = run_id();
    let tested = Arc::new(header.tested.clone());
    let bench_source: Arc<dyn BenchSource> = match (&shared.rig, claim) {
        (Some(rig), Some(claim)) => Arc::new(RigSource::new(rig.clone(), &claim.plan, !args.quiet)),
        _ => Arc::new(TwinSource {
            transport: args.twin_transport,
            runtime: firmware.runtime.clone(),
        }),
    };
    brokers
        .iter()
        .cycle()
        .take(jobs)
        .map(|broker| {
            Arc::new(RunContext {
                broker: broker.clone(),
                app: firmware.apps.clone(),
                speed: shared.speed,
                report_dir: args.report.clone(),
                run_id: run_id.clone(),
                interrupt: shared.interrupt.clone(),
                wifi_password: shared.wifi_password.clone(),
                progress: !args.quiet,
                bench: bench_source.clone(),
                tested: tested.clone(),
                baseline: header.baseline.clone(),
            })
        })
        .collect()
}

/// A short id unique enough to keep two runs' topics apart on one broker.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("r{:x}", (nanos as u64) ^ u64::from(std::process::id()))
}

/// Prints the summary and the timings, writes the reports, and gives the run's exit code.
fn conclude(
    header: &RunHeader,
    outcomes: &[ScenarioOutcome],
    skipped: &[Skipped],
    planned: usize,
    at_once: &str,
    wall: Duration,
    args: &RunArgs,
) -> Ended {
    let summary = summary_table(outcomes, skipped);
    anstream::print!("{}", crate::colour::summary(&summary));
    if !args.quiet {
        eprintln!(
            "wall time: {} for {} scenario(s), {at_once}",
            suite::duration_text(wall.as_secs_f64()),
            outcomes.len()
        );
        if outcomes.len() > 1 {
            eprintln!("slowest: {}", suite::slowest(outcomes, 3));
        }
    }
    let code = exit_code(outcomes, planned);
    let written = write_reports(header, outcomes, skipped, &summary, &args.report);
    if !args.quiet {
        eprintln!("report: {}", args.report.display());
    }
    written.map(|()| code)
}

/// A bench or set-up error in any scenario outranks a failed check; a run stopped before every scenario ran
/// fails.
fn exit_code(outcomes: &[ScenarioOutcome], planned: usize) -> u8 {
    if outcomes.iter().any(|o| o.error.is_some()) {
        EXIT_SETUP
    } else if outcomes.len() < planned || !outcomes.iter().all(ScenarioOutcome::passed) {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}

/// junit.xml, summary.txt and index.html in the report folder.
fn write_reports(
    header: &RunHeader,
    outcomes: &[ScenarioOutcome],
    skipped: &[Skipped],
    summary: &str,
    folder: &Path,
) -> Result<(), SetupFailed> {
    let summary = format!("{}\n{summary}", header.text());
    write_junit(header, outcomes, skipped, &folder.join("junit.xml"))
        .and_then(|_| std::fs::write(folder.join("summary.txt"), summary))
        .and_then(|_| write_html(header, outcomes, skipped, &folder.join("index.html")))
        .map_err(|e| {
            setup_error(format_args!(
                "writing the report in {}: {e}",
                folder.display()
            ))
        })
}
