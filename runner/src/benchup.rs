//! `hil twin up` (old name `hil twin up`): the twin bench as a standalone lab — SCPI supply, ESP8266 boards on ptys (with their reset
//! lines on a loopback side channel) and a broker — described by a rig file that other tools and `hil run --rig`
//! can use, until Ctrl-C or SIGTERM. Its boards' ports are also listed as links in a folder beside the rig file,
//! named as udev names USB-serial adapters in /dev/serial/by-id (their USB identity), the rig's `[boards] scan`;
//! SIGUSR1 moves every board to a new pty, as replugging the USB cables would, and the links follow while the
//! rig file's port hints go stale.

use anyhow::{Context, Result};
use model::clock::DeviceClock;
use rig::board::remote_lines::LinesServer;
use rig::mqtt::{Broker, BrokerSpec};
use rig::secret::Secret;
use rig::supply::RidenModel;
use serde::Serialize;
use std::collections::BTreeMap;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};
use twin::pty_board::{PtyBoard, PtyBoardSpec};
use twin::{BenchState, Physics, ScpiServer};

/// A twin bench's supply channel limits, as its rig file states them.
const TWIN_LIMITS: LimitsOut = LimitsOut {
    max_volts: 16.0,
    max_amps: 1.0,
};

pub struct BenchUpOptions {
    pub rig_file: PathBuf,
    pub boards: u32,
    /// Supply channels; board i hangs on channel i mod `channels` (0-based).
    pub channels: u8,
    pub supply: TwinSupply,
    pub bootloader: bool,
    pub broker: BrokerSpec,
    pub supply_journal: Option<PathBuf>,
    /// What the boards run their app and REPL code on.
    pub runtime: twin::FirmwareRuntime,
}

/// Points the board's link in the ports folder, named after its adapter's USB identity as udev names it, at its
/// pty. Swapped in whole (a new link renamed over the old), as udev does: a reader never sees the name missing.
fn link_port(ports: &Path, board: &PtyBoard) -> Result<()> {
    let link = ports.join(board.usb_id().to_string());
    // Beside the folder, not in it: the scan must not see a half-made link.
    let fresh = ports.with_extension(format!("{}.new", board.name()));
    let _ = std::fs::remove_file(&fresh);
    std::os::unix::fs::symlink(board.port(), &fresh)
        .and_then(|()| std::fs::rename(&fresh, &link))
        .with_context(|| format!("linking {}", link.display()))
}

/// Moves every board to a new pty and its link with it.
async fn replug_all(ports: &Path, boards: &mut [UpBoard]) {
    for UpBoard { board, .. } in boards.iter_mut() {
        let moved = match board.reenumerate().await {
            Ok(_) => link_port(ports, board),
            Err(e) => Err(e),
        };
        match moved {
            Ok(()) => eprintln!(
                "  {} re-enumerated on {}",
                board.name(),
                board.port().display()
            ),
            Err(e) => eprintln!("  {}: re-enumerating: {e:#}", board.name()),
        }
    }
}

/// Which instrument the bench's twin supply is, and so which driver a run on its rig file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TwinSupply {
    /// A Rigol DP832 speaking SCPI on a loopback TCP port (up to 3 channels).
    Scpi,
    /// The same DP832 on its RS-232 port: SCPI on a pty.
    ScpiSerial,
    /// A Korad KA3005P on a pty (one channel).
    Korad,
    /// A Riden RD6006 on a pty, Modbus RTU (one channel).
    Riden,
}

/// The running twin instrument (kept for as long as the bench) and its rig-file `driver`, `model`, `address`.
struct UpSupply {
    _server: Box<dyn std::any::Any + Send>,
    driver: &'static str,
    model: &'static str,
    address: String,
}

async fn start_supply(
    kind: TwinSupply,
    state: &Arc<BenchState>,
    channels: usize,
    clock: DeviceClock,
) -> Result<UpSupply> {
    if channels > 1 && matches!(kind, TwinSupply::Korad | TwinSupply::Riden) {
        anyhow::bail!("a {kind:?} has one channel: use --channels 1, or --supply scpi for up to 3");
    }
    Ok(match kind {
        TwinSupply::Scpi | TwinSupply::ScpiSerial => {
            let server = if kind == TwinSupply::Scpi {
                ScpiServer::start(state.clone(), clock).await?
            } else {
                ScpiServer::start_on_pty(state.clone(), clock).await?
            };
            UpSupply {
                driver: "scpi",
                model: "rigol-dp832",
                address: server.address(),
                _server: Box::new(server),
            }
        }
        TwinSupply::Korad => {
            let unit = twin::korad_on_pty(state.clone(), 0).await?;
            UpSupply {
                driver: "korad",
                model: "korad-ka3005p",
                address: unit.address(),
                _server: Box::new(unit),
            }
        }
        TwinSupply::Riden => {
            let unit = twin::riden_on_pty(state.clone(), 0, RidenModel::Rd6006).await?;
            UpSupply {
                driver: "riden",
                model: "riden-rd6006",
                address: unit.address(),
                _server: Box::new(unit),
            }
        }
    })
}

/// A board of the bench, its reset lines' side channel, its MAC and its supply channel (1-based).
struct UpBoard {
    board: PtyBoard,
    lines: LinesServer,
    mac: String,
    channel: usize,
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

/// The rig file `hil twin up` writes, in the rig-file format (`rigfile/model.rs`); serialised by `toml`, so
/// that paths and addresses are quoted and escaped whatever they hold.
#[derive(Serialize)]
struct RigOut {
    supply: BTreeMap<&'static str, SupplyOut>,
    boards: BoardsOut,
    board: Vec<BoardOut>,
    broker: BrokerOut,
    wifi: WifiOut,
}

#[derive(Serialize)]
struct SupplyOut {
    driver: &'static str,
    model: &'static str,
    address: String,
    channels: BTreeMap<String, LimitsOut>,
}

#[derive(Clone, Copy, Serialize)]
struct LimitsOut {
    max_volts: f64,
    max_amps: f64,
}

#[derive(Serialize)]
struct BoardsOut {
    scan: Vec<String>,
}

#[derive(Serialize)]
struct BoardOut {
    name: String,
    chip: String,
    mac: String,
    port: String,
    supply: String,
    lines: String,
    adc: AdcOut,
}

#[derive(Serialize)]
struct AdcOut {
    divider: f64,
    full_scale_volts: f64,
}

#[derive(Serialize)]
struct BrokerOut {
    url: String,
    username: String,
    password_file: String,
}

#[derive(Serialize)]
struct WifiOut {
    ssid: &'static str,
    password_file: String,
}

/// The folder a file is in, `.` for a bare file name.
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Writes `text` to a new file in `path`'s folder and renames it to `path`: a reader polling for the rig file
/// finds nothing or all of it, never half.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let dir = folder_of(path);
    let mut file = tempfile::Builder::new()
        .prefix(".hil-rig-")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", file.path().display()))?;
    file.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub async fn bench_up(
    options: &BenchUpOptions,
    stop: impl std::future::Future<Output = &'static str>,
) -> Result<()> {
    let clock = DeviceClock::start(1.0);
    let channels = usize::from(options.channels.max(1));
    let state = Arc::new(BenchState::new(channels));
    if let Some(journal) = &options.supply_journal {
        state
            .journal_to(journal)
            .with_context(|| format!("opening the supply journal {}", journal.display()))?;
    }
    // Powered at a resting battery's voltage, as a lab bench waits with its boards up: tools can talk to them.
    for channel in 0..channels {
        state.update_channel(channel, |c| {
            c.set_volts = 12.6;
            c.limit_amps = 0.5;
            c.output_on = true;
        });
    }
    let supply = start_supply(options.supply, &state, channels, clock).await?;
    let physics = Physics::default();
    let mut boards = Vec::new();
    for i in 0..options.boards {
        let name = format!("twin-{i}");
        let mac = format!("5c:cf:7f:00:{:02x}:{:02x}", i / 256, i % 256);
        let mut spec = PtyBoardSpec::new(&name, &mac, &options.runtime);
        spec.board.seed = u64::from(i);
        spec.start_in_loader = options.bootloader;
        spec.board.channel = i as usize % channels;
        let channel = spec.board.channel + 1;
        let board = PtyBoard::spawn(spec, state.clone(), clock).await?;
        let lines = LinesServer::start(board.lines()).await?;
        boards.push(UpBoard {
            board,
            lines,
            mac,
            channel,
        });
    }
    let broker = Broker::start(&options.broker).await?;
    let dir = folder_of(&options.rig_file);
    let stem = options
        .rig_file
        .file_stem()
        .map_or("rig".into(), |s| s.to_string_lossy().into_owned());
    let broker_secret = dir.join(format!("{stem}.broker-password"));
    write_secret(&broker_secret, &broker.password)?;
    let wifi_secret = dir.join(format!("{stem}.wifi-password"));
    write_secret(&wifi_secret, &Secret::generate())?;
    // Absolute, so that the rig file's scan pattern holds wherever it is read from.
    let ports = std::path::absolute(dir.join(format!("{stem}.ports")))
        .context("resolving the ports folder's path")?;
    // Links left by an earlier bench of the same name point at ptys that are gone or someone else's.
    let _ = std::fs::remove_dir_all(&ports);
    std::fs::create_dir_all(&ports).with_context(|| format!("creating {}", ports.display()))?;
    for UpBoard { board, .. } in &boards {
        link_port(&ports, board)?;
    }

    let rig = RigOut {
        supply: BTreeMap::from([(
            "twin",
            SupplyOut {
                driver: supply.driver,
                model: supply.model,
                address: supply.address.clone(),
                channels: (1..=channels)
                    .map(|n| (n.to_string(), TWIN_LIMITS))
                    .collect(),
            },
        )]),
        boards: BoardsOut {
            scan: vec![format!("{}/*", ports.display())],
        },
        board: boards
            .iter()
            .map(|up| BoardOut {
                name: up.board.name().to_string(),
                chip: up.board.chip().name().to_string(),
                mac: up.mac.clone(),
                port: up.board.port().display().to_string(),
                supply: format!("twin:{}", up.channel),
                lines: up.lines.address.clone(),
                adc: AdcOut {
                    divider: physics.divider,
                    full_scale_volts: physics.full_scale_volts,
                },
            })
            .collect(),
        broker: BrokerOut {
            url: format!("mqtt://{}:{}", broker.host, broker.port),
            username: broker.username.clone(),
            password_file: broker_secret.display().to_string(),
        },
        wifi: WifiOut {
            ssid: "hil-bench",
            password_file: wifi_secret.display().to_string(),
        },
    };
    let rig = format!(
        "# The twin bench of `hil twin up` (pid {}): valid while it runs.\n\n{}",
        std::process::id(),
        toml::to_string(&rig).context("writing the rig file's TOML")?
    );
    // Listening before the rig file tells anyone the bench is up: SIGUSR1's default action would end it.
    let mut replug = signal(SignalKind::user_defined1()).context("listening for SIGUSR1")?;
    write_atomically(&options.rig_file, &rig)?;

    eprintln!(
        "hil twin up: twin supply ({} {}) at {}",
        supply.driver, supply.model, supply.address
    );
    for UpBoard {
        board,
        lines,
        mac,
        channel,
    } in &boards
    {
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
    tokio::pin!(stop);
    let signal = loop {
        tokio::select! {
            signal = &mut stop => break signal,
            _ = replug.recv() => replug_all(&ports, &mut boards).await,
        }
    };
    eprintln!("{signal}: stopping the twin bench");
    for UpBoard { board, .. } in boards {
        board.stop().await;
    }
    for secret in [&broker_secret, &wifi_secret] {
        let _ = std::fs::remove_file(secret);
    }
    let _ = std::fs::remove_dir_all(&ports);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rig_file_appears_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.toml");
        // Large enough that a write in place is seen half done by a reader polling for the file.
        let whole: Vec<String> = (0..20)
            .map(|i| format!("# version {i}\n{}", "x = 1\n".repeat(400_000)))
            .collect();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (path, whole, done) = (path.clone(), whole.clone(), done.clone());
            std::thread::spawn(move || {
                let mut seen = 0;
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        assert!(
                            whole.contains(&text),
                            "a reader saw {} of a rig file's bytes",
                            text.len()
                        );
                        seen += 1;
                    }
                }
                seen
            })
        };
        for text in &whole {
            write_atomically(&path, text).unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(reader.join().unwrap() > 0, "the reader read the file");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), whole[19]);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["lab.toml"], "no temporary file is left behind");
    }
}
