//! The `hil` command line. Exit codes: 0 all passed, 1 a check failed, 2 bad input or set-up error.

mod args;
mod bench;
mod doctor;
mod offline;
mod report;
mod rig_bench;
mod run;
mod twin;

pub use args::{
    BaselineArgs, BenchCommand, Cli, Command, ReportCommand, RunArgs, TwinCommand, UpArgs,
    DEFAULT_SPEED,
};

use model::diagnostic::Diagnostic;
use std::fmt;

pub const EXIT_PASS: u8 = 0;
pub const EXIT_FAIL: u8 = 1;
pub const EXIT_SETUP: u8 = 2;

/// A set-up error stopped the command. It has been reported on stderr, and the exit code is EXIT_SETUP.
#[derive(Debug)]
struct SetupFailed;

/// How a command ended: its exit code, or stopped by a set-up error.
type Ended = Result<u8, SetupFailed>;

pub async fn main(cli: Cli) -> u8 {
    let ended = match cli.command {
        Command::Run(args) => run::run(args).await,
        Command::Check {
            events,
            scenario,
            baseline,
        } => offline::check(&events, &scenario, &baseline),
        Command::Validate { paths, rig } => offline::validate(&paths, rig.as_deref()),
        Command::List { paths, tag } => offline::list(&paths, &tag),
        Command::ImportTrace {
            capture,
            out,
            device,
        } => offline::import_trace(&capture, &out, device.as_deref()),
        Command::SafetyGuard { rig, channel } => rig_bench::safety_guard(&rig, &channel).await,
        Command::Bench(command) => bench::bench(command).await,
        Command::Report(command) => report::report(command),
        Command::Twin(TwinCommand::Up(up)) => twin::up(up).await,
        Command::Doctor { rig } => doctor::doctor(&rig).await,
    };
    ended.unwrap_or(EXIT_SETUP)
}

/// Reports a set-up error: `error: ` and the message on stderr, an anyhow error with its causes (`{:#}`).
fn setup_error(error: impl fmt::Display) -> SetupFailed {
    eprintln!("error: {error:#}");
    SetupFailed
}

/// Reports an error in a file the user wrote: its file:line:column, then the lines it points at.
fn file_error(diagnostic: Diagnostic) -> SetupFailed {
    eprint!("{}", diagnostic.render());
    SetupFailed
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
