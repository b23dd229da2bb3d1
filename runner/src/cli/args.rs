//! The command line's words: sub-commands, their arguments and help, and the checks on their values.

use crate::exec::{TwinImage, TwinRuntime, TwinTransport};
use clap::{Parser, Subcommand};
use model::checks::baseline::Margins;
use model::metrics::Metric;
use rig::mqtt::BrokerSpec;
use std::path::PathBuf;

/// `hil run --speed` when not given; `hil list` estimates wall times at it.
pub const DEFAULT_SPEED: f64 = 20.0;

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
                  hil doctor --rig lab.toml        is the bench ready (supply, boards, broker, WiFi)?\n  \
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
        #[command(flatten)]
        baseline: BaselineArgs,
    },
    /// Check a bench's health without running a scenario: supplies, boards, broker, tap, WiFi.
    ///
    /// One line per part, OK or what is wrong and how to fix it; nothing is flashed or deployed, and the
    /// supplies end in the rig's safe state. Exits 0 only when the bench can run, 2 otherwise.
    Doctor {
        /// The rig file describing the bench.
        #[arg(long, value_name = "FILE")]
        rig: PathBuf,
    },
    /// The twin bench standalone (`twin up`): a lab of simulated instruments and boards for other tools.
    #[command(subcommand)]
    Twin(TwinCommand),
    /// Benchmarks that print figures, not pass/fail.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Reports written by `hil run`, taken together: several merged into one, or many nights' history.
    #[command(subcommand)]
    Report(ReportCommand),
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
        /// A channel the run holds, `SUPPLY:N` (repeated): only these are made safe.
        #[arg(long)]
        channel: Vec<crate::plan::RigChannel>,
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
pub enum ReportCommand {
    /// One report from several (a night's benches, `--partition` slices).
    ///
    /// Their scenario folders, and one index.html, junit.xml and summary.txt, shaped as one run's. A scenario in
    /// two inputs is refused. Exit 0 once written, whatever the scenarios' results (the summary says them).
    Merge {
        /// Report folders written by `hil run --report`.
        #[arg(required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// The merged report's folder (new, empty, or an earlier report, which is replaced).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// One static page over many nights' reports: results grid, flaky marks, trends.
    ///
    /// A scenario × night grid, scenarios flaky on a firmware (passed and failed with the same folder hash)
    /// marked, and trends of reading error, awake time per wake, period error and lost or late readings, with
    /// their numbers.
    History {
        /// Report folders written by `hil run --report` (or `hil report merge`), in any order: nights are
        /// ordered by the date their logs record.
        #[arg(required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// Where to write index.html.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// The old name of `hil twin up`, kept for scripts that use it.
    #[command(hide = true)]
    Up(UpArgs),
    /// Our flasher vs esptool (both through the stub, at each of --bauds) and our deploy vs mpremote, on one twin
    /// board over a pty paced in real time.
    Boards {
        /// Flash link speeds to compare at, one flash each for ours and esptool (its --baud; ours switches its stub
        /// to the same); the board's console and the deploys stay at 115200, its ROM's speed.
        #[arg(long, value_delimiter = ',', default_value = "115200,460800")]
        bauds: Vec<u32>,
        /// Size of the firmware image to flash, in KiB (a MicroPython build for the ESP8266 is about 600).
        #[arg(long, default_value_t = 600)]
        image_kib: usize,
        /// What the board runs its REPL code on (as for `hil run`).
        #[arg(long, value_enum, default_value_t = TwinRuntime::Micropython)]
        twin_runtime: TwinRuntime,
    },
    /// K twin boards at once through the full path: wall time, CPU, memory, readings, timing precision.
    Scale {
        /// Board counts to run, one run each.
        #[arg(long, value_delimiter = ',', default_value = "1,10,50,100")]
        boards: Vec<u32>,
        /// Device time runs this many times faster than real time (as for `hil run`).
        #[arg(long, default_value_t = 10.0, value_parser = parse_speed)]
        speed: f64,
        /// Device minutes per run.
        #[arg(long, default_value_t = 5.0)]
        minutes: f64,
        /// The broker the boards publish to (as for `hil run`).
        #[arg(long, default_value = "embedded")]
        broker: BrokerSpec,
        /// How the twin boards are reached: `pty` is the hardware path (ROM-loader flash, raw-REPL deploy and
        /// console over a pty per board), `process` the lighter default of `hil run`.
        #[arg(long, value_enum, default_value_t = TwinTransport::Pty)]
        transport: TwinTransport,
        /// What the boards run the firmware on (as for `hil run`): compare `micropython` with `cpython`.
        #[arg(long, value_enum, default_value_t = TwinRuntime::Micropython)]
        twin_runtime: TwinRuntime,
    },
    /// All three peer comparisons in one run: `boards` (flasher vs esptool, deploy vs mpremote) and `tap`
    /// (publish round trip through the tap vs direct), with their ratios together at the end.
    Peers {
        /// Flash link speeds to compare at, one flash each for ours and esptool (its --baud; ours switches its stub
        /// to the same); the board's console and the deploys stay at 115200, its ROM's speed.
        #[arg(long, value_delimiter = ',', default_value = "115200,460800")]
        bauds: Vec<u32>,
        /// Size of the firmware image to flash, in KiB (a MicroPython build for the ESP8266 is about 600).
        #[arg(long, default_value_t = 600)]
        image_kib: usize,
        /// Messages per path for the tap comparison.
        #[arg(long, default_value_t = 500)]
        messages: usize,
        /// Broker to measure against (as for `hil run`).
        #[arg(long, default_value = "embedded")]
        broker: BrokerSpec,
        /// What the board runs its REPL code on (as for `hil run`).
        #[arg(long, value_enum, default_value_t = TwinRuntime::Micropython)]
        twin_runtime: TwinRuntime,
    },
    /// Publish round-trip latency (p50/p99) through the MQTT tap versus straight to the broker.
    Tap {
        /// Messages per path.
        #[arg(long, default_value_t = 500)]
        messages: usize,
        /// Broker to measure against (as for `hil run`).
        #[arg(long, default_value = "embedded")]
        broker: BrokerSpec,
    },
}

/// `hil twin up` (and its old name `hil bench up`).
#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// Where to write the rig file (the broker and WiFi passwords go to files beside it, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub write_rig: PathBuf,
    /// Twin boards on the bench.
    #[arg(long, default_value_t = 1)]
    pub boards: u32,
    /// Supply channels (1-3, as a Rigol DP832); board i hangs on channel i mod N + 1.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub channels: u8,
    /// The twin instrument, and so the driver `hil run --rig` uses: a DP832 over TCP or RS-232 (a pty), a
    /// Korad KA3005P or a Riden RD6006 (ptys).
    #[arg(long, value_enum, default_value_t = crate::benchup::TwinSupply::Scpi)]
    pub supply: crate::benchup::TwinSupply,
    /// Hold the boards in the ROM loader (for esptool) instead of running their app.
    #[arg(long)]
    pub bootloader: bool,
    /// The broker the boards and `hil run --rig` use (as for `hil run`).
    #[arg(long, default_value = "embedded")]
    pub broker: BrokerSpec,
    /// Append a line to FILE for every setting the twin supply's channels receive (time, channel, volts,
    /// current limit, output, over-current protection): what a run left the bench in, and in which order.
    #[arg(long, value_name = "FILE")]
    pub supply_journal: Option<PathBuf>,
    /// What the boards run their app and REPL code on (as for `hil run`).
    #[arg(long, value_enum, default_value_t = TwinRuntime::Micropython)]
    pub twin_runtime: TwinRuntime,
}

#[derive(Subcommand, Debug)]
pub enum TwinCommand {
    /// Start the twin bench standalone (SCPI supply, pty boards, broker) and describe it in a rig file, for
    /// pyvisa, esptool, mpremote, mosquitto_sub or `hil run --rig`; runs until Ctrl-C or SIGTERM. SIGUSR1 moves
    /// every board to a new pty, as replugging its USB cable would.
    Up(UpArgs),
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Scenario files or folders of them [default: scenarios/]
    pub paths: Vec<PathBuf>,
    /// Device time runs this many times faster than real time (twin bench only). Scenario times stay in device
    /// time; readings and periods are judged in device time. Refused with --rig: real boards run in real time.
    /// [default: 20]
    // A negative number is a bad speed, not an option to escape with `--`.
    #[arg(long, value_parser = parse_speed, allow_negative_numbers = true)]
    pub speed: Option<f64>,
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
    #[arg(long, default_value = "auto")]
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
    /// Scenarios run at once. On the twin bench each has a broker of its own (one at a time on an external
    /// broker) [default: 4]; on a rig, at most this many of those the packer fits on its channels [default: as
    /// many as fit].
    #[arg(long, short, value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Run only part K of N of the selected scenarios (e.g. 1/2 on one bench, 2/2 on another): parts are
    /// deterministic and balanced by device time, and together hold every scenario once.
    #[arg(long, value_name = "K/N")]
    pub partition: Option<crate::schedule::Partition>,
    /// How twin boards are reached: `process` (each wake a host process, files copied) or `pty` (a pty per
    /// board, flashed through the ROM loader, deployed over the raw REPL, console read from the port).
    #[arg(long, value_enum, default_value_t = TwinTransport::Process)]
    pub twin_transport: TwinTransport,
    /// What twin boards run the firmware on: `micropython` (MicroPython's unix port with an ESP8266's heap,
    /// frozen modules and API; installed once per machine by firmware/host/install.py) or `cpython` (CPython
    /// with shims, deployed as source: a comparison only, blind to what MicroPython lacks).
    #[arg(long, value_enum, default_value_t = TwinRuntime::Micropython)]
    pub twin_runtime: TwinRuntime,
    /// The MicroPython image twin boards stand for, and so which frozen modules import: `generic` (2 MiB+
    /// flash: umqtt.simple, umqtt.robust…), `flash-1m` or `flash-512k` (no umqtt).
    #[arg(long, value_enum, default_value_t = TwinImage::Generic)]
    pub twin_image: TwinImage,
    /// Deploy the app's modules as .py source instead of .mpy from mpy-cross (boot.py and main.py are source
    /// either way). Importing source compiles it on the chip, which needs more heap than the app itself.
    #[arg(long)]
    pub deploy_source: bool,
    /// Run on the bench this rig file describes (a lab, or `hil bench up`'s twin) instead of a twin bench: its
    /// supply, boards (flashed, deployed over the raw REPL), broker and secrets; real time, scenarios at once on
    /// disjoint channels (longest first), holding the locks of the channels it uses.
    #[arg(long, value_name = "FILE")]
    pub rig: Option<PathBuf>,
    #[command(flatten)]
    pub baseline: BaselineArgs,
}

/// `--baseline` and its margins, for `hil run` and `hil check`.
#[derive(clap::Args, Debug)]
pub struct BaselineArgs {
    /// Judge against an earlier report of the same scenarios (check `baseline`): awake time per wake, reading
    /// error, period error, wakes per hour, messages per wake, lost and late readings may each move the worse way
    /// by a margin of the baseline's value. A run's index.html shows both side by side.
    #[arg(id = "baseline", long = "baseline", value_name = "REPORT_DIR")]
    pub dir: Option<PathBuf>,
    /// The baseline's margin as a fraction of its value: `0.3` for every metric, or `awake=0.3` for one family
    /// (reading_error, awake, period_error, wakes_per_hour, messages_per_wake, lost, late); repeat for several.
    /// A family named here outranks the scenario's `[expect] baseline_margin`, which outranks a bare fraction.
    /// [default: 0.2]
    #[arg(long, value_name = "[METRIC=]FRACTION", value_parser = parse_margin, requires = "baseline")]
    pub baseline_margin: Vec<MarginArg>,
}

impl BaselineArgs {
    /// The command line's baseline margins.
    pub fn margins(&self) -> Margins {
        let mut margins = Margins::default();
        for m in &self.baseline_margin {
            match &m.family {
                Some(family) => {
                    margins.given.insert(family.clone(), m.fraction);
                }
                None => margins.all = Some(m.fraction),
            }
        }
        margins
    }
}

/// One `--baseline-margin`: a fraction for one metric family, or for all.
#[derive(Debug, Clone)]
pub struct MarginArg {
    pub family: Option<String>,
    pub fraction: f64,
}

/// A `--baseline-margin` that names no metric family or gives no fraction above 0.
#[derive(Debug, thiserror::Error)]
#[error(
    "{0:?}: give a fraction above 0 (`0.3`) or a metric family and one (`awake=0.3`); the families are {families}",
    families = Metric::FAMILIES.join(", ")
)]
struct BadMargin(String);

fn parse_margin(s: &str) -> Result<MarginArg, BadMargin> {
    let (family, fraction) = match s.split_once('=') {
        Some((family, fraction)) => (Some(family.trim()), fraction),
        None => (None, s),
    };
    let known = family.is_none_or(|f| Metric::FAMILIES.contains(&f));
    match fraction.trim().parse::<f64>() {
        Ok(fraction) if known && fraction.is_finite() && fraction > 0.0 => Ok(MarginArg {
            family: family.map(str::to_string),
            fraction,
        }),
        _ => Err(BadMargin(s.into())),
    }
}

/// A `--speed` outside 1..=1000.
#[derive(Debug, thiserror::Error)]
#[error("{0:?}: speed must be a number from 1 to 1000")]
struct BadSpeed(String);

fn parse_speed(s: &str) -> Result<f64, BadSpeed> {
    match s.parse::<f64>() {
        Ok(v) if (1.0..=1000.0).contains(&v) => Ok(v),
        _ => Err(BadSpeed(s.into())),
    }
}

/// A `--jobs` outside 1..=64.
#[derive(Debug, thiserror::Error)]
#[error("{0:?}: jobs must be a whole number from 1 to 64")]
struct BadJobs(String);

fn parse_jobs(s: &str) -> Result<usize, BadJobs> {
    match s.parse::<usize>() {
        Ok(n) if (1..=64).contains(&n) => Ok(n),
        _ => Err(BadJobs(s.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// `--help` lists the twin bench apart from the benchmarks; `bench up`, its old name, still starts it.
    #[test]
    fn twin_up_is_listed_apart_from_the_benchmarks_and_bench_up_still_parses() {
        let cli = Cli::command();
        let shown = |name: &str| -> Vec<String> {
            cli.find_subcommand(name)
                .unwrap()
                .get_subcommands()
                .filter(|c| !c.is_hide_set())
                .map(|c| c.get_name().to_string())
                .collect()
        };
        assert_eq!(shown("twin"), ["up"]);
        assert!(
            !shown("bench").contains(&"up".to_string()),
            "{:?}",
            shown("bench")
        );
        for words in [["hil", "twin", "up"], ["hil", "bench", "up"]] {
            let parsed = Cli::try_parse_from(words.iter().chain(&["--write-rig", "lab.toml"]));
            let up = match parsed.map(|c| c.command) {
                Ok(Command::Twin(TwinCommand::Up(up)))
                | Ok(Command::Bench(BenchCommand::Up(up))) => up,
                other => panic!("{words:?}: {other:?}"),
            };
            assert_eq!(up.write_rig, PathBuf::from("lab.toml"));
        }
    }

    /// Every option of every command that `--help` shows says what it is for.
    #[test]
    fn every_shown_option_has_help() {
        fn undocumented(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", command.get_name());
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !arg.is_hide_set() && !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands().filter(|c| !c.is_hide_set()) {
                undocumented(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        undocumented(&Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
    }
}
