//! The `hil` command line. Exit codes: 0 all passed, 1 a check failed, 2 bad input or set-up error.

use crate::checks::run_checks;
use crate::events::read_log;
use crate::exec::{app_files, run_scenario, RunContext, ScenarioOutcome, TWIN_LIMITS};
use crate::paths;
use crate::report::{summary_table, write_junit};
use crate::scenario::{collect_files, Scenario};
use clap::{Parser, Subcommand};
use rig::mqtt::{Broker, BrokerSpec};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

pub const EXIT_PASS: u8 = 0;
pub const EXIT_FAIL: u8 = 1;
pub const EXIT_SETUP: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "hil",
    version,
    about = "Hardware-in-the-loop test rig for ESP8266 battery-monitor firmware",
    long_about = "Runs scenario files against ESP8266 boards on a bench supply, or against the twin bench \
                  (simulated supply and boards running the real firmware files) when no rig file is given, \
                  and checks the readings and wake/sleep timing they publish over MQTT.\n\n\
                  Exit codes: 0 all passed, 1 a check failed, 2 bad input or set-up error.",
    after_help = "Examples:\n  hil run                          all scenarios in scenarios/ on the twin bench\n  \
                  hil run scenarios/float-charge.toml --report out/\n  \
                  hil run --firmware build/app     validate another firmware folder\n  \
                  hil run --broker mosquitto       use the system's mosquitto with a password file\n  \
                  hil check out/float-charge/events.jsonl --scenario scenarios/float-charge.toml\n  \
                  hil validate scenarios/"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run scenarios and check them (twin bench unless a rig file is given).
    Run(RunArgs),
    /// Re-run the checks on a recorded event log, offline.
    Check {
        /// An events.jsonl written by `hil run`.
        events: PathBuf,
        /// The scenario file the run used (its [expect] section is checked).
        #[arg(long)]
        scenario: PathBuf,
    },
    /// Benchmarks that print figures (not pass/fail).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Parse and validate scenario files without running them.
    Validate {
        /// Scenario files or folders [default: scenarios/]
        paths: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Publish round-trip latency (p50/p99) through the MQTT tap versus straight to the broker.
    Tap {
        /// Messages per path.
        #[arg(long, default_value_t = 500)]
        messages: usize,
        /// Broker to measure against (as for `hil run`).
        #[arg(long, default_value = "embedded", value_parser = parse_broker)]
        broker: BrokerSpec,
    },
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Scenario files or folders of them [default: scenarios/]
    pub paths: Vec<PathBuf>,
    /// Device time runs this many times faster than real time (twin bench only). Scenario times stay in device
    /// time; readings and periods are judged in device time.
    #[arg(long, default_value_t = 20.0, value_parser = parse_speed)]
    pub speed: f64,
    /// MicroPython app folder to deploy (default: the project's firmware/app).
    #[arg(long, value_name = "DIR")]
    pub firmware: Option<PathBuf>,
    /// Where to write events.jsonl per scenario, junit.xml, summary.txt and index.html (plots, checks, consoles).
    #[arg(long, value_name = "DIR", default_value = "hil-report")]
    pub report: PathBuf,
    /// `embedded` (rumqttd in-process, no install), `mosquitto` (the system's, started on a free loopback port
    /// with a generated password file), or `mqtt://USER@HOST:PORT` (password from HIL_MQTT_PASSWORD).
    #[arg(long, default_value = "embedded", value_parser = parse_broker)]
    pub broker: BrokerSpec,
    /// Print only the summary, not each reading as it arrives.
    #[arg(long, short)]
    pub quiet: bool,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (1.0..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: speed must be a number from 1 to 1000")),
    }
}

fn parse_broker(s: &str) -> Result<BrokerSpec, String> {
    s.parse()
}

pub async fn main(cli: Cli) -> u8 {
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::Check { events, scenario } => check(&events, &scenario),
        Command::Validate { paths } => validate(&paths),
        Command::Bench(BenchCommand::Tap { messages, broker }) => {
            match crate::perf::tap_latency(&broker, messages.max(1)).await {
                Ok(()) => EXIT_PASS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    EXIT_SETUP
                }
            }
        }
    }
}

fn load_all(paths: &[PathBuf]) -> Result<Vec<Scenario>, u8> {
    let paths = if paths.is_empty() {
        vec![paths::default_scenarios()]
    } else {
        paths.to_vec()
    };
    let files = collect_files(&paths).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_SETUP
    })?;
    let mut scenarios = Vec::new();
    let mut bad = 0;
    for file in files {
        match Scenario::load(&file) {
            Ok(s) => scenarios.push(s),
            Err(d) => {
                eprint!("{}", d.render());
                bad += 1;
            }
        }
    }
    let mut seen = std::collections::HashMap::new();
    for s in &scenarios {
        if let Some(other) = seen.insert(s.name.clone(), s.path.clone()) {
            eprintln!(
                "error: {} and {} are both named {:?}: names must be unique (they name report folders)",
                other.display(),
                s.path.display(),
                s.name
            );
            bad += 1;
        }
    }
    if bad > 0 {
        return Err(EXIT_SETUP);
    }
    Ok(scenarios)
}

fn validate(paths: &[PathBuf]) -> u8 {
    match load_all(paths) {
        Ok(scenarios) => {
            for s in &scenarios {
                println!("ok  {}  ({})", s.path.display(), s.name);
            }
            EXIT_PASS
        }
        Err(code) => code,
    }
}

fn check(events: &Path, scenario: &Path) -> u8 {
    let scenario = match Scenario::load(scenario) {
        Ok(s) => s,
        Err(d) => {
            eprint!("{}", d.render());
            return EXIT_SETUP;
        }
    };
    let events = match read_log(events) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_SETUP;
        }
    };
    let verdicts = run_checks(&scenario, &events);
    for v in &verdicts {
        println!(
            "{} {:<18} {:<8} {}",
            if v.pass { "ok  " } else { "FAIL" },
            v.name,
            v.board.as_deref().unwrap_or("-"),
            v.message
        );
    }
    if verdicts.iter().all(|v| v.pass) {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

/// Refuses, before anything is sent, a scenario that asks a supply channel for more than its limits.
fn check_limits(scenario: &Scenario) -> Result<(), crate::diagnostic::Diagnostic> {
    let (max, line) = scenario.supply.profile.max_volts();
    if max > TWIN_LIMITS.max_volts {
        let index = scenario
            .supply
            .profile
            .steps
            .iter()
            .position(|s| s.line == line)
            .unwrap_or(0);
        return Err(scenario.error_at_profile_step(
            index,
            format!(
                "{max} V is above the supply channel's max_volts = {} V",
                TWIN_LIMITS.max_volts
            ),
        ));
    }
    if scenario.supply.current_limit > TWIN_LIMITS.max_amps {
        return Err(scenario.error_at_current_limit(format!(
            "current_limit {} A is above the supply channel's max_amps = {} A",
            scenario.supply.current_limit, TWIN_LIMITS.max_amps
        )));
    }
    Ok(())
}

async fn run(args: RunArgs) -> u8 {
    let scenarios = match load_all(&args.paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut refused = 0;
    for s in &scenarios {
        if let Err(d) = check_limits(s) {
            eprint!("{}", d.render());
            refused += 1;
        }
    }
    if refused > 0 {
        return EXIT_SETUP;
    }
    let firmware = args
        .firmware
        .clone()
        .unwrap_or_else(paths::default_firmware);
    let app = match app_files(&firmware) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: {e:#}");
            return EXIT_SETUP;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&args.report) {
        eprintln!(
            "error: cannot create the report folder {}: {e}",
            args.report.display()
        );
        return EXIT_SETUP;
    }
    let broker = match Broker::start(&args.broker).await {
        Ok(b) => Arc::new(b),
        Err(e) => {
            eprintln!("error: broker: {e:#}");
            return EXIT_SETUP;
        }
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        let signal = stop_signal().await;
        eprintln!("\n{signal}: stopping; turning the supply off and writing what was recorded");
        let _ = stop_tx.send(true);
    });
    let ctx = RunContext {
        broker: broker.clone(),
        app,
        speed: args.speed,
        report_dir: args.report.clone(),
        run_id: run_id(),
        interrupt: stop_rx.clone(),
        wifi_password: std::env::var("HIL_WIFI_PASSWORD")
            .map(rig::secret::Secret::new)
            .unwrap_or_else(|_| rig::secret::Secret::generate()),
        progress: !args.quiet,
    };
    eprintln!(
        "hil: {} scenario(s) on the twin bench at {}x, broker: {}, firmware: {}",
        scenarios.len(),
        args.speed,
        broker.description,
        firmware.display()
    );
    let mut outcomes: Vec<ScenarioOutcome> = Vec::new();
    for scenario in &scenarios {
        if *stop_rx.borrow() {
            break;
        }
        eprintln!(
            "▶ {} — {} boards, {:.0}s device time (≈{:.0}s here)",
            scenario.name,
            scenario.boards,
            scenario.duration,
            scenario.duration / args.speed
        );
        let outcome = run_scenario(scenario, &ctx).await;
        eprintln!(
            "{} {} ({:.1}s)",
            if outcome.passed() { "✔" } else { "✘" },
            scenario.name,
            outcome.wall.as_secs_f64()
        );
        outcomes.push(outcome);
    }
    let summary = summary_table(&outcomes);
    print!("{summary}");
    let mut code = if outcomes.iter().any(|o| o.error.is_some()) {
        EXIT_SETUP
    } else if outcomes.len() < scenarios.len() || !outcomes.iter().all(ScenarioOutcome::passed) {
        EXIT_FAIL
    } else {
        EXIT_PASS
    };
    if let Err(e) = write_junit(&outcomes, &args.report.join("junit.xml"))
        .and_then(|_| std::fs::write(args.report.join("summary.txt"), &summary))
        .and_then(|_| crate::report::write_html(&outcomes, &args.report.join("index.html")))
    {
        eprintln!(
            "error: writing the report in {}: {e}",
            args.report.display()
        );
        code = EXIT_SETUP;
    }
    eprintln!("report: {}", args.report.display());
    code
}

/// Waits for Ctrl-C or SIGTERM (a CI job's cancel, systemd's stop) and names which came.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "interrupted",
            _ = term.recv() => "terminated",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "interrupted"
        }
    }
}

/// A short id unique enough to keep two runs' topics apart on one broker.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("r{:x}", (nanos as u64) ^ u64::from(std::process::id()))
}
