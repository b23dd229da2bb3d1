//! `hil bench …`: the benchmarks that print figures rather than verdicts (and `up`, the old name of `hil twin up`).

use super::{setup_error, BenchCommand, Ended, EXIT_PASS};
use crate::exec::TwinRuntime;
use crate::paths;
use crate::perf::{bench_boards, scale, tap_latency, BenchRow, BoardsBenchOptions};

pub(super) async fn bench(command: BenchCommand) -> Ended {
    match command {
        BenchCommand::Up(up) => return super::twin::up(up).await,
        BenchCommand::Boards {
            bauds,
            image_kib,
            twin_runtime,
        } => {
            let ratios = boards_bench(bauds, image_kib, twin_runtime)
                .await
                .map_err(setup_error)?;
            ratios.iter().for_each(|r| println!("{r}"));
        }
        BenchCommand::Scale {
            boards,
            speed,
            minutes,
            broker,
            transport,
            twin_runtime,
        } => {
            let minutes = minutes.clamp(1.0, 120.0);
            scale(&boards, speed, minutes, &broker, transport, twin_runtime)
                .await
                .map_err(setup_error)?;
        }
        BenchCommand::Peers {
            bauds,
            image_kib,
            messages,
            broker,
            twin_runtime,
        } => {
            let boards = boards_bench(bauds, image_kib, twin_runtime).await;
            println!();
            let tap = tap_latency(&broker, messages.max(1)).await;
            let (ratios, (p50, p99)) = (boards.map_err(setup_error)?, tap.map_err(setup_error)?);
            println!("\npeer ratios from this run (time ratios: below 1, ours is faster):");
            ratios.iter().for_each(|r| println!("  {r}"));
            println!("  ratio publish round trip, tap / direct: p50 {p50:.2}, p99 {p99:.2}");
        }
        BenchCommand::Tap { messages, broker } => {
            tap_latency(&broker, messages.max(1))
                .await
                .map_err(setup_error)?;
        }
    }
    Ok(EXIT_PASS)
}

/// The runtime of the standard image (2 MiB+ flash), which the benches' boards stand for.
pub(super) async fn generic_runtime(kind: TwinRuntime) -> anyhow::Result<twin::FirmwareRuntime> {
    paths::firmware_runtime(kind, twin::ImageVariant::Generic).await
}

/// `hil bench boards`: prints its table and returns the time ratios against esptool and mpremote.
async fn boards_bench(
    bauds: Vec<u32>,
    image_kib: usize,
    twin_runtime: TwinRuntime,
) -> anyhow::Result<Vec<String>> {
    let options = BoardsBenchOptions {
        runtime: generic_runtime(twin_runtime).await?,
        app_dir: paths::default_firmware(),
        bauds,
        image_bytes: image_kib.clamp(4, 4096) * 1024,
    };
    let rows = bench_boards(&options, &mut std::io::stdout()).await?;
    Ok(board_ratios(&rows))
}

/// Time ratios of our flasher and deployer against esptool and mpremote (below 1: ours is faster).
fn board_ratios(rows: &[BenchRow]) -> Vec<String> {
    let time = |what: &str| rows.iter().find(|r| r.what == what).and_then(|r| r.seconds);
    let flash_pairs = rows
        .iter()
        .filter_map(|r| r.what.strip_suffix(": ours (stub, compressed)"))
        .map(|flash_baud| {
            (
                format!("{flash_baud} baud, ours / esptool (stub, compressed)"),
                format!("{flash_baud}: ours (stub, compressed)"),
                format!("{flash_baud}: esptool (stub, compressed)"),
            )
        });
    let deploy_pairs = ["fresh", "unchanged"].map(|pass| {
        (
            format!("deploy {pass}, ours / mpremote"),
            format!("deploy {pass}: ours (raw-paste, batched hashes)"),
            format!("deploy {pass}: mpremote fs cp"),
        )
    });
    let pairs: Vec<_> = flash_pairs.chain(deploy_pairs).collect();
    pairs
        .iter()
        .map(|(label, ours, theirs)| match (time(ours), time(theirs)) {
            (Some(a), Some(b)) if b > 0.0 => format!("ratio {label}: {:.2}", a / b),
            _ => format!("ratio {label}: n/a (a tool is missing or failed)"),
        })
        .collect()
}
