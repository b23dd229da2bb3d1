//! `hil twin up`: the twin bench standalone, described by a rig file, until Ctrl-C or SIGTERM.

use super::bench::generic_runtime;
use super::{setup_error, stop_signal, Ended, UpArgs, EXIT_PASS};
use crate::benchup::{bench_up, BenchUpOptions};

pub(super) async fn up(args: UpArgs) -> Ended {
    let options = BenchUpOptions {
        rig_file: args.write_rig,
        boards: args.boards.clamp(1, 64),
        channels: args.channels,
        supply: args.supply,
        bootloader: args.bootloader,
        broker: args.broker,
        supply_journal: args.supply_journal,
        runtime: generic_runtime(args.twin_runtime)
            .await
            .map_err(setup_error)?,
    };
    bench_up(&options, stop_signal())
        .await
        .map_err(setup_error)?;
    Ok(EXIT_PASS)
}
