//! `hil bench up`: the twin bench as a standalone lab — SCPI supply, ESP8266 boards on ptys (with their reset
//! lines on a loopback side channel) and a broker — described by a rig file that other tools and `hil run --rig`
//! can use, until Ctrl-C or SIGTERM.

use crate::paths;
use anyhow::{Context, Result};
use rig::board::remote_lines::LinesServer;
use rig::clock::DeviceClock;
use rig::mqtt::{Broker, BrokerSpec};
use rig::secret::Secret;
use rig::twin::pty_board::{PtyBoard, PtyBoardSpec};
use rig::twin::{BenchState, Physics, ScpiServer};
use std::fmt::Write as _;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A twin bench's supply channel limits, as its rig file states them.
const MAX_VOLTS: f64 = 16.0;
const MAX_AMPS: f64 = 1.0;

pub struct BenchUpOptions {
    pub rig_file: PathBuf,
    pub boards: u32,
    /// Supply channels; board i hangs on channel i mod `channels` (0-based).
    pub channels: u8,
    pub bootloader: bool,
    pub broker: BrokerSpec,
}

/// Writes a secret next to the rig file, readable by its owner only.
fn write_secret(path: &Path, secret: &Secret) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(secret.expose().as_bytes())?;
    Ok(())
}

pub async fn bench_up(
    options: &BenchUpOptions,
    stop: impl std::future::Future<Output = &'static str>,
) -> Result<()> {
    let clock = DeviceClock::start(1.0);
    let channels = usize::from(options.channels.max(1));
    let state = Arc::new(BenchState::new(channels));
    // Powered at a resting battery's voltage, as a lab bench waits with its boards up: tools can talk to them.
    for channel in 0..channels {
        state.update_channel(channel, |c| {
            c.set_volts = 12.6;
            c.limit_amps = 0.5;
            c.output_on = true;
        });
    }
    let supply = ScpiServer::start(state.clone(), clock)?;
    let physics = Physics::default();
    let mut boards = Vec::new();
    for i in 0..options.boards {
        let name = format!("twin-{i}");
        let mac = format!("5c:cf:7f:00:{:02x}:{:02x}", i / 256, i % 256);
        let mut spec = PtyBoardSpec::new(&name, &mac, &paths::host_runtime());
        spec.python = paths::python();
        spec.seed = u64::from(i);
        spec.start_in_loader = options.bootloader;
        spec.channel = i as usize % channels;
        let channel = spec.channel + 1;
        let board = PtyBoard::spawn(spec, state.clone(), clock).await?;
        let lines = LinesServer::start(board.lines()).await?;
        boards.push((board, lines, mac, channel));
    }
    let broker = Broker::start(&options.broker).await?;
    let dir = options
        .rig_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stem = options
        .rig_file
        .file_stem()
        .map_or("rig".into(), |s| s.to_string_lossy().into_owned());
    let broker_secret = dir.join(format!("{stem}.broker-password"));
    write_secret(&broker_secret, &broker.password)?;
    let wifi_secret = dir.join(format!("{stem}.wifi-password"));
    write_secret(&wifi_secret, &Secret::generate())?;

    let limits: Vec<String> = (1..=channels)
        .map(|n| format!("{n} = {{ max_volts = {MAX_VOLTS:.1}, max_amps = {MAX_AMPS:.1} }}"))
        .collect();
    let mut rig = format!(
        "# The twin bench of `hil bench up` (pid {}): valid while it runs.\n\n\
         [supply.twin]\ndriver = \"scpi\"\nmodel = \"rigol-dp832\"\naddress = \"{}\"\n\
         channels = {{ {} }}\n",
        std::process::id(),
        supply.address(),
        limits.join(", ")
    );
    for (board, lines, mac, channel) in &boards {
        let _ = write!(
            rig,
            "\n[[board]]\nname = \"{}\"\nchip = \"esp8266\"\nmac = \"{mac}\"\nport = \"{}\"\nsupply = \"twin:{channel}\"\n\
             lines = \"{}\"\nadc = {{ divider = {:?}, full_scale_volts = {:?} }}\n",
            board.name(),
            board.port().display(),
            lines.address,
            physics.divider,
            physics.full_scale_volts
        );
    }
    let _ = write!(
        rig,
        "\n[broker]\nurl = \"mqtt://{}:{}\"\nusername = \"{}\"\npassword_file = \"{}\"\n\n\
         [wifi]\nssid = \"hil-bench\"\npassword_file = \"{}\"\n",
        broker.host,
        broker.port,
        broker.username,
        broker_secret.display(),
        wifi_secret.display()
    );
    std::fs::write(&options.rig_file, &rig)
        .with_context(|| format!("writing {}", options.rig_file.display()))?;

    eprintln!("hil bench up: twin supply at {}", supply.address());
    for (board, lines, mac, channel) in &boards {
        let mode = if options.bootloader {
            "held in the ROM loader"
        } else {
            "running"
        };
        eprintln!(
            "  {} {mac} on {} (channel {channel}, {mode}; reset lines at {})",
            board.name(),
            board.port().display(),
            lines.address
        );
    }
    eprintln!("  broker: {}", broker.description);
    eprintln!(
        "rig file: {} — Ctrl-C or SIGTERM stops the bench",
        options.rig_file.display()
    );
    let signal = stop.await;
    eprintln!("{signal}: stopping the twin bench");
    for (board, _, _, _) in boards {
        board.stop().await;
    }
    for secret in [&broker_secret, &wifi_secret] {
        let _ = std::fs::remove_file(secret);
    }
    Ok(())
}
