use clap::Parser;
use runner::cli::{Cli, EXIT_SETUP};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    // Scratch folders of runs that died (kill -9) go at the next hil, whatever it is asked to do.
    rig::scratch::sweep_stale();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => ExitCode::from(runtime.block_on(runner::cli::main(cli))),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_SETUP)
        }
    }
}

/// Log lines go to stderr, filtered by HIL_LOG (default: warnings, and nothing from the embedded broker).
fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HIL_LOG")
                .unwrap_or_else(|_| "warn,rumqttd=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}
