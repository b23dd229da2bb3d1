//! The `hil` command line. Exit codes: 0 all passed, 1 a check failed, 2 bad input or set-up error.

use crate::exec::{Apps, RunContext, ScenarioOutcome, TwinTransport, TWIN_LIMITS};
use crate::paths;
use crate::report::{summary_table, write_junit};
use crate::suite;
use clap::{Parser, Subcommand};
use model::checks::run_checks;
use model::diagnostic::UserTomlFile;
use model::events::read_log;
use model::scenario::{collect_files, Scenario};
use rig::mqtt::{Broker, BrokerSpec};
use rig::supply::ChannelLimits;
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
                  HIL_MQTT_PASSWORD=… hil run --broker mqtts://rig@broker.lab:8883 --broker-ca lab-ca.pem\n  \
                  hil check out/float-charge/events.jsonl --scenario scenarios/float-charge.toml\n  \
                  hil validate scenarios/\n  \
                  hil list --tag nightly           scenarios with their tags, boards and duration\n  \
                  hil import-trace capture.txt --out scenarios/traces/site.csv"
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
        /// Also validate this rig file, and the scenarios against its channel limits.
        #[arg(long, value_name = "FILE")]
        rig: Option<PathBuf>,
    },
    /// List scenarios with their tags, boards, duration and requirements.
    List {
        /// Scenario files or folders [default: scenarios/]
        paths: Vec<PathBuf>,
        /// Only scenarios with this tag (repeat for any of several).
        #[arg(long)]
        tag: Vec<String>,
    },
    /// (Started by `hil run --rig` itself.) Waits on its stdin; if the run closes it without disarming, the run
    /// died, and this puts the rig's supply channels into their safe state.
    #[command(hide = true)]
    SafetyGuard {
        #[arg(long, value_name = "FILE")]
        rig: PathBuf,
    },
    /// Turn a capture of the firmware's readings into a `time_s,volts` CSV for a replay profile
    /// (`profile = { csv = "traces/x.csv", speedup = N }`).
    ImportTrace {
        /// `mosquitto_sub -F '%U %t %p' -t 'PREFIX/+/battery'` output, or an events.jsonl from `hil run`.
        capture: PathBuf,
        /// The CSV to write.
        #[arg(long, value_name = "CSV")]
        out: PathBuf,
        /// The device (board) whose readings to take, when the capture holds several.
        #[arg(long)]
        device: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Start the twin bench standalone (SCPI supply, pty boards, broker) and describe it in a rig file, for
    /// pyvisa, esptool, mpremote, mosquitto_sub or `hil run --rig`; runs until Ctrl-C or SIGTERM. SIGUSR1 moves
    /// every board to a new pty, as replugging its USB cable would.
    Up {
        /// Where to write the rig file (the broker and WiFi passwords go to files beside it, mode 0600).
        #[arg(long, value_name = "FILE")]
        write_rig: PathBuf,
        #[arg(long, default_value_t = 1)]
        boards: u32,
        /// Supply channels (1-3, as a Rigol DP832); board i hangs on channel i mod N + 1.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
        channels: u8,
        /// The twin instrument, and so the driver `hil run --rig` uses: a DP832 over TCP or RS-232 (a pty), a
        /// Korad KA3005P or a Riden RD6006 (ptys).
        #[arg(long, value_enum, default_value_t = crate::benchup::TwinSupply::Scpi)]
        supply: crate::benchup::TwinSupply,
        /// Hold the boards in the ROM loader (for esptool) instead of running their app.
        #[arg(long)]
        bootloader: bool,
        #[arg(long, default_value = "embedded", value_parser = parse_broker)]
        broker: BrokerSpec,
        /// Append a line to FILE for every setting the twin supply's channels receive (time, channel, volts,
        /// current limit, output, over-current protection): what a run left the bench in, and in which order.
        #[arg(long, value_name = "FILE")]
        supply_journal: Option<PathBuf>,
        /// What the boards run their app and REPL code on (as for `hil run`).
        #[arg(long, value_enum, default_value_t = crate::exec::TwinRuntime::Micropython)]
        twin_runtime: crate::exec::TwinRuntime,
    },
    /// Our flasher vs esptool and our deploy vs mpremote, on the same twin board over a pty at one baud.
    Boards {
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Size of the generated firmware image to flash, in KiB.
        #[arg(long, default_value_t = 200)]
        image_kib: usize,
        /// What the board runs its REPL code on (as for `hil run`).
        #[arg(long, value_enum, default_value_t = crate::exec::TwinRuntime::Micropython)]
        twin_runtime: crate::exec::TwinRuntime,
    },
    /// K twin boards at once through the full path: wall time, CPU, memory, readings, timing precision.
    Scale {
        /// Board counts to run, one run each.
        #[arg(long, value_delimiter = ',', default_value = "1,10,50,100")]
        boards: Vec<u32>,
        #[arg(long, default_value_t = 10.0, value_parser = parse_speed)]
        speed: f64,
        /// Device minutes per run.
        #[arg(long, default_value_t = 5.0)]
        minutes: f64,
        #[arg(long, default_value = "embedded", value_parser = parse_broker)]
        broker: BrokerSpec,
        /// How the twin boards are reached: `pty` is the hardware path (ROM-loader flash, raw-REPL deploy and
        /// console over a pty per board), `process` the lighter default of `hil run`.
        #[arg(long, value_enum, default_value_t = TwinTransport::Pty)]
        transport: TwinTransport,
        /// What the boards run the firmware on (as for `hil run`): compare `micropython` with `cpython`.
        #[arg(long, value_enum, default_value_t = crate::exec::TwinRuntime::Micropython)]
        twin_runtime: crate::exec::TwinRuntime,
    },
    /// All three peer comparisons in one run: `boards` (flasher vs esptool, deploy vs mpremote) and `tap`
    /// (publish round trip through the tap vs direct), with their ratios together at the end.
    Peers {
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Size of the generated firmware image to flash, in KiB.
        #[arg(long, default_value_t = 200)]
        image_kib: usize,
        /// Messages per path for the tap comparison.
        #[arg(long, default_value_t = 500)]
        messages: usize,
        #[arg(long, default_value = "embedded", value_parser = parse_broker)]
        broker: BrokerSpec,
        /// What the board runs its REPL code on (as for `hil run`).
        #[arg(long, value_enum, default_value_t = crate::exec::TwinRuntime::Micropython)]
        twin_runtime: crate::exec::TwinRuntime,
    },
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
    /// `auto` (Mosquitto, the field's broker, where it is installed, else the embedded one), `embedded`
    /// (rumqttd in-process, no install; it closes a refused connection without its CONNACK code), `mosquitto`
    /// (the system's, started on a free loopback port with a generated password file), `mqtt://USER@HOST:PORT`
    /// or, over TLS, `mqtts://USER@HOST:PORT` (an existing broker; password from HIL_MQTT_PASSWORD). Boards
    /// always reach the tap in plain MQTT; the tap and the monitor use TLS to an mqtts broker.
    #[arg(long, default_value = "auto", value_parser = parse_broker)]
    pub broker: BrokerSpec,
    /// PEM file of the CA that signed an mqtts broker's certificate, trusted instead of the system's CAs.
    #[arg(long, value_name = "FILE")]
    pub broker_ca: Option<PathBuf>,
    /// Print only the summary, not each reading as it arrives.
    #[arg(long, short)]
    pub quiet: bool,
    /// Only scenarios with this tag (repeat for any of several).
    #[arg(long)]
    pub tag: Vec<String>,
    /// Scenarios run at once, each with a broker of its own (one at a time on an external broker).
    #[arg(long, short, default_value_t = suite::DEFAULT_JOBS, value_parser = parse_jobs)]
    pub jobs: usize,
    /// How twin boards are reached: `process` (each wake a host process, files copied) or `pty` (a pty per
    /// board, flashed through the ROM loader, deployed over the raw REPL, console read from the port).
    #[arg(long, value_enum, default_value_t = crate::exec::TwinTransport::Process)]
    pub twin_transport: crate::exec::TwinTransport,
    /// What twin boards run the firmware on: `micropython` (MicroPython's unix port with an ESP8266's heap,
    /// frozen modules and API; installed once per machine by firmware/host/install.py) or `cpython` (CPython
    /// with shims, deployed as source: a comparison only, blind to what MicroPython lacks).
    #[arg(long, value_enum, default_value_t = crate::exec::TwinRuntime::Micropython)]
    pub twin_runtime: crate::exec::TwinRuntime,
    /// The MicroPython image twin boards stand for, and so which frozen modules import: `generic` (2 MiB+
    /// flash: umqtt.simple, umqtt.robust…), `flash-1m` or `flash-512k` (no umqtt).
    #[arg(long, value_enum, default_value_t = crate::exec::TwinImage::Generic)]
    pub twin_image: crate::exec::TwinImage,
    /// Deploy the app's modules as .py source instead of .mpy from mpy-cross (boot.py and main.py are source
    /// either way). Importing source compiles it on the chip, which needs more heap than the app itself.
    #[arg(long)]
    pub deploy_source: bool,
    /// Run on the bench this rig file describes (a lab, or `hil bench up`'s twin) instead of a twin bench: its
    /// supply, boards (flashed, deployed over the raw REPL), broker and secrets; real time, one scenario at a
    /// time, holding the bench's lock.
    #[arg(long, value_name = "FILE")]
    pub rig: Option<PathBuf>,
}

fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (1.0..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?}: speed must be a number from 1 to 1000")),
    }
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(format!("{s:?}: jobs must be a whole number from 1 to 64")),
    }
}

fn parse_broker(s: &str) -> Result<BrokerSpec, String> {
    s.parse()
}

pub async fn main(cli: Cli) -> u8 {
    match cli.command {
        Command::Run(args) => run(args).await,
        Command::Check { events, scenario } => check(&events, &scenario),
        Command::Validate { paths, rig } => validate(&paths, rig.as_deref()),
        Command::List { paths, tag } => list(&paths, &tag),
        Command::SafetyGuard { rig } => {
            let guarded = crate::safety_guard::watch(&rig, std::io::stdin()).await;
            // The run is gone: what it left in its scratch folder goes too.
            rig::scratch::sweep_stale();
            match guarded {
                Ok(_) => EXIT_PASS,
                Err(e) => {
                    eprintln!("hil safety guard: {e:#}");
                    EXIT_SETUP
                }
            }
        }
        Command::ImportTrace {
            capture,
            out,
            device,
        } => import_trace(&capture, &out, device.as_deref()),
        Command::Bench(BenchCommand::Scale {
            boards,
            speed,
            minutes,
            broker,
            transport,
            twin_runtime,
        }) => match crate::perf::scale(
            &boards,
            speed,
            minutes.clamp(1.0, 120.0),
            &broker,
            transport,
            twin_runtime,
        )
        .await
        {
            Ok(()) => EXIT_PASS,
            Err(e) => {
                eprintln!("error: {e:#}");
                EXIT_SETUP
            }
        },
        Command::Bench(BenchCommand::Boards {
            baud,
            image_kib,
            twin_runtime,
        }) => match boards_bench(baud, image_kib, twin_runtime).await {
            Ok(ratios) => {
                ratios.iter().for_each(|r| println!("{r}"));
                EXIT_PASS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                EXIT_SETUP
            }
        },
        Command::Bench(BenchCommand::Peers {
            baud,
            image_kib,
            messages,
            broker,
            twin_runtime,
        }) => {
            let boards = boards_bench(baud, image_kib, twin_runtime).await;
            println!();
            let tap = crate::perf::tap_latency(&broker, messages.max(1)).await;
            match (boards, tap) {
                (Ok(ratios), Ok((p50, p99))) => {
                    println!("\npeer ratios from this run (time ratios: below 1, ours is faster):");
                    ratios.iter().for_each(|r| println!("  {r}"));
                    println!(
                        "  ratio publish round trip, tap / direct: p50 {p50:.2}, p99 {p99:.2}"
                    );
                    EXIT_PASS
                }
                (Err(e), _) | (_, Err(e)) => {
                    eprintln!("error: {e:#}");
                    EXIT_SETUP
                }
            }
        }
        Command::Bench(BenchCommand::Up {
            write_rig,
            boards,
            channels,
            supply,
            bootloader,
            broker,
            supply_journal,
            twin_runtime,
        }) => {
            let runtime =
                match paths::firmware_runtime(twin_runtime, twin::ImageVariant::Generic).await {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        eprintln!("error: {e:#}");
                        return EXIT_SETUP;
                    }
                };
            let options = crate::benchup::BenchUpOptions {
                rig_file: write_rig,
                boards: boards.clamp(1, 64),
                channels,
                supply,
                bootloader,
                broker,
                supply_journal,
                runtime,
            };
            match crate::benchup::bench_up(&options, stop_signal()).await {
                Ok(()) => EXIT_PASS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    EXIT_SETUP
                }
            }
        }
        Command::Bench(BenchCommand::Tap { messages, broker }) => {
            match crate::perf::tap_latency(&broker, messages.max(1)).await {
                Ok(_) => EXIT_PASS,
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

fn validate(paths: &[PathBuf], rig: Option<&Path>) -> u8 {
    let rig = match rig.map(crate::rigfile::RigFile::load).transpose() {
        Ok(rig) => rig,
        Err(d) => {
            eprint!("{}", d.render());
            return EXIT_SETUP;
        }
    };
    if let Some(rig) = &rig {
        println!(
            "ok  {}  ({} supplies, {} boards)",
            rig.path.display(),
            rig.supplies.len(),
            rig.boards.len()
        );
    }
    let scenarios = match load_all(paths) {
        Ok(scenarios) => scenarios,
        Err(code) => return code,
    };
    let mut code = EXIT_PASS;
    for s in &scenarios {
        match check_limits(s, rig.as_ref()) {
            Ok(()) => println!("ok  {}  ({})", s.path.display(), s.name),
            Err(d) => {
                eprint!("{}", d.render());
                code = EXIT_SETUP;
            }
        }
    }
    code
}

fn list(paths: &[PathBuf], tags: &[String]) -> u8 {
    let scenarios = match load_all(paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    match suite::with_tags(scenarios, tags) {
        Ok(scenarios) => {
            // Wall-time estimates at `hil run`'s default speed.
            print!("{}", suite::listing(&scenarios, 20.0));
            EXIT_PASS
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_SETUP
        }
    }
}

fn import_trace(capture: &Path, out: &Path, device: Option<&str>) -> u8 {
    let text = match std::fs::read_to_string(capture) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {}: {e}", capture.display());
            return EXIT_SETUP;
        }
    };
    let name = capture.file_name().map_or_else(
        || capture.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let imported = match model::trace::import(&name, &text, device) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_SETUP;
        }
    };
    let written = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|_| std::fs::write(out, &imported.csv));
    if let Err(e) = written {
        eprintln!("error: writing {}: {e}", out.display());
        return EXIT_SETUP;
    }
    // A replay should fit a scenario of about ten minutes of device time.
    let speedup = (imported.span / 600.0).ceil().max(1.0);
    println!(
        "wrote {}: {} readings of {} over {} (left out: {} late, {} repeated, {} other lines)
         replay it with: profile = {{ csv = \"{}\", speedup = {speedup} }}  (≈{} of device time)",
        out.display(),
        imported.rows,
        imported.device,
        suite::duration_text(imported.span),
        imported.late,
        imported.repeated,
        imported.other,
        out.display(),
        suite::duration_text(imported.span / speedup)
    );
    EXIT_PASS
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
            "{:<4} {:<18} {:<8} {}",
            v.word(),
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

/// A rig file, its bench lock (held for the run), its broker and WiFi password from their secret references.
type OpenRig = (
    Arc<crate::rigfile::RigFile>,
    Option<Arc<Broker>>,
    Option<rig::secret::Secret>,
);

fn open_rig(path: &Path) -> Result<(OpenRig, crate::rigfile::BenchLock), u8> {
    let rig = crate::rigfile::RigFile::load(path).map_err(|d| {
        eprint!("{}", d.render());
        EXIT_SETUP
    })?;
    let lock = crate::rigfile::BenchLock::acquire(path).map_err(|e| {
        eprintln!("error: {e}");
        EXIT_SETUP
    })?;
    let secret = |r: &crate::rigfile::SecretRef| {
        r.resolve().map_err(|e| {
            eprintln!("error: {}: {e}", path.display());
            EXIT_SETUP
        })
    };
    let broker = match &rig.broker {
        Some(b) => Some(Arc::new(
            Broker::external(
                &b.host,
                b.port,
                &b.username,
                secret(&b.password)?,
                b.tls.as_ref(),
            )
            .map_err(|e| {
                eprintln!("error: {}: {e:#}", path.display());
                EXIT_SETUP
            })?,
        )),
        None => None,
    };
    let wifi = rig.wifi.as_ref().map(|w| secret(&w.password)).transpose()?;
    Ok(((Arc::new(rig), broker, wifi), lock))
}

/// Refuses, before anything is sent, a scenario that asks a supply channel for more than its limits: the limits
/// of the rig channel each scenario channel is placed on when a rig file is given, else the twin's.
fn check_limits(
    scenario: &Scenario,
    rig: Option<&crate::rigfile::RigFile>,
) -> Result<(), model::diagnostic::Diagnostic> {
    let limits: Vec<(ChannelLimits, String)> = match rig {
        Some(rig) => crate::plan::place(rig, scenario)
            .map_err(|e| model::diagnostic::Diagnostic::new(&scenario.path, "", None, e))?
            .iter()
            .map(|p| (p.limits, p.label()))
            .collect(),
        None => (1..=scenario.supply.channels.len())
            .map(|n| (TWIN_LIMITS, format!("twin:{n}")))
            .collect(),
    };
    for (index, (plan, (limits, label))) in scenario.supply.channels.iter().zip(&limits).enumerate()
    {
        let (max, line) = plan.profile.max_volts();
        if max > limits.max_volts {
            let step = plan
                .profile
                .steps
                .iter()
                .position(|s| s.line == line)
                .unwrap_or(0);
            return Err(scenario.error_at_profile_step(
                index,
                step,
                format!(
                    "{max} V is above the supply channel's max_volts = {} V ({label})",
                    limits.max_volts
                ),
            ));
        }
        if plan.current_limit > limits.max_amps {
            return Err(scenario.error_at_current_limit(
                index,
                format!(
                    "current_limit {} A is above the supply channel's max_amps = {} A ({label})",
                    plan.current_limit, limits.max_amps
                ),
            ));
        }
    }
    Ok(())
}

async fn run(args: RunArgs) -> u8 {
    let broker_spec = match args.broker.clone().with_ca(args.broker_ca.clone()) {
        Ok(spec) => spec,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_SETUP;
        }
    };
    let scenarios = match load_all(&args.paths) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let scenarios = match suite::with_tags(scenarios, &args.tag) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_SETUP;
        }
    };
    // The lock is held until the run ends (and, should the run be killed, by its safety guard until it is done).
    let (bench, lock) = match &args.rig {
        Some(path) => match open_rig(path) {
            Ok((bench, lock)) => (Some(bench), Some(lock)),
            Err(code) => return code,
        },
        None => (None, None),
    };
    let rig_file = bench.as_ref().map(|(rig, _, _)| rig.clone());
    let mut refused = 0;
    for s in &scenarios {
        if let Err(d) = check_limits(s, rig_file.as_deref()) {
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
    let runtime = match paths::firmware_runtime(args.twin_runtime, args.twin_image.variant()).await
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return EXIT_SETUP;
        }
    };
    let app = match Apps::build(
        &firmware,
        &scenarios,
        &runtime,
        args.deploy_source,
        args.rig.is_some(),
    ) {
        Ok(apps) => Arc::new(apps),
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
    let (scenarios, skipped) = suite::split_runnable(scenarios, &broker_spec);
    for s in &skipped {
        eprintln!("SKIP {}: {}", s.scenario, s.reason);
    }
    // A real bench is one set of boards: its scenarios run one at a time.
    let jobs = match &bench {
        Some(_) => 1,
        None => suite::jobs_for(&broker_spec, args.jobs, scenarios.len()),
    };
    let mut brokers = Vec::with_capacity(jobs);
    if let Some((_, Some(broker), _)) = &bench {
        brokers.push(broker.clone());
    }
    for _ in brokers.len()..jobs {
        match Broker::start(&broker_spec).await {
            Ok(b) => brokers.push(Arc::new(b)),
            Err(e) => {
                eprintln!("error: broker: {e:#}");
                return EXIT_SETUP;
            }
        }
    }
    let broker_description = brokers.first().map_or_else(
        || "none needed".to_string(),
        |b| match jobs {
            1 => b.description.clone(),
            _ => format!("{} (one per job)", b.description),
        },
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        let signal = stop_signal().await;
        eprintln!("\n{signal}: stopping; turning the supply off and writing what was recorded");
        let _ = stop_tx.send(true);
    });
    let run_id = run_id();
    let wifi_password = match &bench {
        Some((_, _, Some(wifi))) => wifi.clone(),
        _ => std::env::var("HIL_WIFI_PASSWORD")
            .map(rig::secret::Secret::new)
            .unwrap_or_else(|_| rig::secret::Secret::generate()),
    };
    // Real boards sleep in real time.
    let speed = if bench.is_some() { 1.0 } else { args.speed };
    let contexts: Vec<Arc<RunContext>> = brokers
        .into_iter()
        .map(|broker| {
            Arc::new(RunContext {
                broker,
                app: app.clone(),
                speed,
                report_dir: args.report.clone(),
                run_id: run_id.clone(),
                interrupt: stop_rx.clone(),
                wifi_password: wifi_password.clone(),
                progress: !args.quiet,
                twin_transport: args.twin_transport,
                runtime: runtime.clone(),
                rig: rig_file.clone(),
            })
        })
        .collect();
    let where_ = rig_file.as_ref().map_or_else(
        || "the twin bench".to_string(),
        |r| format!("the rig {}", r.path.display()),
    );
    let boards_run = match &rig_file {
        Some(_) => String::new(),
        None => format!(", boards on the {}", runtime.describe()),
    };
    eprintln!(
        "hil: {} scenario(s) on {where_} at {speed}x, {jobs} at a time, broker: {broker_description}, firmware: {}{} \
         ({}){boards_run}",
        scenarios.len(),
        firmware.display(),
        app.named(),
        if args.deploy_source || matches!(runtime, twin::FirmwareRuntime::CPython { .. }) {
            "deployed as source"
        } else {
            "modules deployed as .mpy"
        }
    );
    // On a rig, a second process makes the supplies safe should this one die without doing it (SIGKILL).
    let guard = match (&args.rig, &lock) {
        (Some(path), Some(lock)) => match crate::safety_guard::SafetyGuard::arm(path, lock) {
            Ok(guard) => Some(guard),
            Err(e) => {
                eprintln!("error: {e:#}; not running a rig without it");
                return EXIT_SETUP;
            }
        },
        _ => None,
    };
    let started = std::time::Instant::now();
    let outcomes = suite::run_all(&scenarios, contexts).await;
    if let Some(guard) = guard {
        guard.disarm().await;
    }
    let summary = summary_table(&outcomes, &skipped);
    print!("{summary}");
    eprintln!(
        "wall time: {} for {} scenario(s), {jobs} at a time",
        suite::duration_text(started.elapsed().as_secs_f64()),
        outcomes.len()
    );
    if outcomes.len() > 1 {
        eprintln!("slowest: {}", suite::slowest(&outcomes, 3));
    }
    let mut code = if outcomes.iter().any(|o| o.error.is_some()) {
        EXIT_SETUP
    } else if outcomes.len() < scenarios.len() || !outcomes.iter().all(ScenarioOutcome::passed) {
        EXIT_FAIL
    } else {
        EXIT_PASS
    };
    if let Err(e) = write_junit(&outcomes, &skipped, &args.report.join("junit.xml"))
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

/// `hil bench boards`: prints its table and returns the time ratios against esptool and mpremote.
async fn boards_bench(
    baud: u32,
    image_kib: usize,
    twin_runtime: crate::exec::TwinRuntime,
) -> anyhow::Result<Vec<String>> {
    let options = crate::perf::BoardsBenchOptions {
        runtime: paths::firmware_runtime(twin_runtime, twin::ImageVariant::Generic).await?,
        app_dir: paths::default_firmware(),
        baud,
        image_bytes: image_kib.clamp(4, 4096) * 1024,
    };
    let rows = crate::perf::bench_boards(&options, &mut std::io::stdout()).await?;
    Ok(board_ratios(&rows))
}

/// Time ratios of our flasher and deployer against esptool and mpremote (below 1: ours is faster).
fn board_ratios(rows: &[crate::perf::BenchRow]) -> Vec<String> {
    let time = |prefix: &str| {
        rows.iter()
            .find(|r| r.what.starts_with(prefix))
            .and_then(|r| r.seconds)
    };
    let pairs = [
        (
            "flash, ours / esptool --no-stub",
            "flash: ours",
            "flash: esptool --no-stub",
        ),
        (
            "flash, ours / esptool stub",
            "flash: ours",
            "flash: esptool (stub",
        ),
        (
            "deploy fresh, ours / mpremote",
            "deploy fresh: ours",
            "deploy fresh: mpremote",
        ),
        (
            "deploy unchanged, ours / mpremote",
            "deploy unchanged: ours",
            "deploy unchanged: mpremote",
        ),
    ];
    pairs
        .iter()
        .map(|(label, ours, theirs)| match (time(ours), time(theirs)) {
            (Some(a), Some(b)) if b > 0.0 => format!("ratio {label}: {:.2}", a / b),
            _ => format!("ratio {label}: n/a (a tool is missing or failed)"),
        })
        .collect()
}

/// Waits for Ctrl-C or SIGTERM (a CI job's cancel, systemd's stop) and names which came.
pub async fn stop_signal() -> &'static str {
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
