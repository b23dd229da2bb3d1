//! The twin bench: a twin supply with one channel per scenario channel, an SCPI server on a loopback port driven
//! through the same SCPI driver as a lab supply, feeding twin boards that run the firmware files. Boards are host
//! processes deployed by copying files, or ptys provisioned over the wire as a rig's boards are.

use super::{AccessPoint, Bench, BenchChannel, BenchSource, Capabilities, Provisioned};
use crate::exec::provision_wire::{self, Wire, WirePort};
use anyhow::{Context, Result};
use async_trait::async_trait;
use model::clock::DeviceClock;
use model::events::{BoardInfo, Body, EventLog};
use model::payload::Adc;
use model::scenario::Scenario;
use rig::board::locate::PortFinder;
use rig::board::{AppFile, Board};
use rig::supply::{ChannelLimits, Dialect, PowerSupply, ScpiSupply};
use std::sync::Arc;
use tokio::task::JoinHandle;
use twin::pty_board::{PtyBoard, PtyBoardSpec};
use twin::{BenchState, LoadState, Physics, ScpiServer, TwinBoard, TwinBoardSpec};

/// How the runner reaches twin boards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TwinTransport {
    /// Each wake a host process; deploy copies the files into the board's folder.
    #[default]
    Process,
    /// A pty per board, driven like hardware: ROM-loader flash, raw-REPL deploy, console read from the port.
    Pty,
}

/// What twin boards run the firmware on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TwinRuntime {
    /// MicroPython's unix port with an ESP8266's heap, frozen modules and API: what the chip would do.
    #[default]
    Micropython,
    /// CPython with shims: a comparison only; it misses what MicroPython lacks.
    Cpython,
}

/// Which MicroPython image twin boards stand for, and so which frozen modules import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TwinImage {
    /// ESP8266_GENERIC for 2 MiB flash and more: umqtt.simple, umqtt.robust, asyncio… frozen in.
    #[default]
    Generic,
    /// ESP8266_GENERIC-FLASH_1M: no umqtt, no asyncio.
    #[value(name = "flash-1m")]
    Flash1m,
    /// ESP8266_GENERIC-FLASH_512K: almost nothing frozen.
    #[value(name = "flash-512k")]
    Flash512k,
}

impl TwinImage {
    pub fn variant(self) -> twin::ImageVariant {
        match self {
            TwinImage::Generic => twin::ImageVariant::Generic,
            TwinImage::Flash1m => twin::ImageVariant::Flash1M,
            TwinImage::Flash512k => twin::ImageVariant::Flash512K,
        }
    }
}

/// The twin's channel limits: those of a Rigol DP832's 30 V / 3 A channels, narrowed to a 12 V battery's bench.
pub const TWIN_LIMITS: ChannelLimits = ChannelLimits {
    max_volts: 16.0,
    max_amps: 1.0,
};

/// A twin bench of its own for each scenario, its boards reached over `transport` and running `runtime`.
pub struct TwinSource {
    pub transport: TwinTransport,
    pub runtime: twin::FirmwareRuntime,
}

#[async_trait]
impl BenchSource for TwinSource {
    fn capabilities(&self) -> Capabilities {
        Capabilities::TWIN
    }

    async fn open(&self, scenario: &Scenario, clock: DeviceClock) -> Result<Box<dyn Bench>> {
        Ok(Box::new(match self.transport {
            TwinTransport::Process => TwinBench::process(scenario, clock, &self.runtime).await?,
            TwinTransport::Pty => TwinBench::pty(scenario, clock, &self.runtime).await?,
        }))
    }
}

pub struct TwinBench {
    channels: Vec<BenchChannel>,
    infos: Vec<BoardInfo>,
    physics: Physics,
    state: Arc<BenchState>,
    /// Kept for as long as the bench: dropping it shuts the supply's server down.
    server: ScpiServer,
    boards: TwinBoards,
}

/// The twin's boards, by how they are reached.
enum TwinBoards {
    /// Host-process boards, deployed by copying files; handed over by `provision`.
    Process(Vec<Box<dyn Board>>),
    /// Pty boards (kept for as long as the bench: dropping one stops it), provisioned over their ports.
    Pty {
        _ptys: Vec<PtyBoard>,
        ports: Vec<WirePort>,
    },
}

impl TwinBench {
    /// The twin bench with process boards.
    pub async fn process(
        scenario: &Scenario,
        clock: DeviceClock,
        runtime: &twin::FirmwareRuntime,
    ) -> Result<TwinBench> {
        let mut bench = TwinBench::supply(scenario, clock, TwinBoards::Process(Vec::new())).await?;
        let mut boards: Vec<Box<dyn Board>> = Vec::new();
        for i in 0..scenario.boards {
            let (info, seed) = twin_identity(scenario, i);
            let spec = TwinBoardSpec {
                name: info.name.clone(),
                mac: info.mac.clone(),
                channel: scenario.supply.channel_of(i),
                physics: bench.physics.clone(),
                wifi_available: true,
                seed,
            };
            boards.push(Box::new(TwinBoard::new(
                spec,
                bench.state.clone(),
                clock,
                runtime,
            )?));
            bench.infos.push(info);
        }
        bench.boards = TwinBoards::Process(boards);
        Ok(bench)
    }

    /// The twin bench with pty boards running their app and REPL code on `runtime`.
    pub async fn pty(
        scenario: &Scenario,
        clock: DeviceClock,
        runtime: &twin::FirmwareRuntime,
    ) -> Result<TwinBench> {
        let mut bench = TwinBench::supply(scenario, clock, TwinBoards::Process(Vec::new())).await?;
        let (mut ptys, mut ports) = (Vec::new(), Vec::new());
        for i in 0..scenario.boards {
            let (info, seed) = twin_identity(scenario, i);
            let mut spec = PtyBoardSpec::new(&info.name, &info.mac, runtime);
            spec.board.channel = scenario.supply.channel_of(i);
            spec.board.physics = bench.physics.clone();
            spec.board.seed = seed;
            let pty = PtyBoard::spawn(spec, bench.state.clone(), clock).await?;
            ports.push(WirePort {
                chip: pty.chip(),
                port: pty.port().to_path_buf(),
                lines: Some(pty.lines()),
                usb_serial: None,
                flash: rig::board::FlashSettings::default(),
            });
            ptys.push(pty);
            bench.infos.push(info);
        }
        bench.boards = TwinBoards::Pty { _ptys: ptys, ports };
        Ok(bench)
    }

    /// The twin supply on its SCPI server, a channel per scenario channel, no boards yet.
    async fn supply(
        scenario: &Scenario,
        clock: DeviceClock,
        boards: TwinBoards,
    ) -> Result<TwinBench> {
        let count = scenario.supply.channels.len();
        let state = Arc::new(BenchState::new(count));
        let server = ScpiServer::start(state.clone(), clock).await?;
        let numbers =
            1..=u8::try_from(count).context("the twin supply has at most 255 channels")?;
        let supply: Arc<dyn PowerSupply> = Arc::new(
            ScpiSupply::new(
                "twin",
                &server.address(),
                Dialect::RigolDp800,
                numbers.clone().map(|n| (n, TWIN_LIMITS)),
            )
            .context("setting up the twin supply's driver")?,
        );
        Ok(TwinBench {
            channels: numbers
                .map(|channel| BenchChannel {
                    supply: supply.clone(),
                    channel,
                    safe_volts: None,
                    trip_amps: TWIN_LIMITS.max_amps,
                })
                .collect(),
            infos: Vec::new(),
            physics: Physics::default(),
            state,
            server,
            boards,
        })
    }

    /// Where the twin supply's SCPI server listens, for any other client.
    pub fn supply_server(&self) -> &ScpiServer {
        &self.server
    }
}

#[async_trait]
impl Bench for TwinBench {
    fn channels(&self) -> &[BenchChannel] {
        &self.channels
    }

    fn boards(&self) -> &[BoardInfo] {
        &self.infos
    }

    fn adc(&self) -> Adc {
        Adc {
            divider: self.physics.divider,
            full_scale_volts: self.physics.full_scale_volts,
        }
    }

    fn wifi_ssid(&self) -> &str {
        "hil-bench"
    }

    fn access_point(&self) -> Option<Arc<dyn AccessPoint>> {
        Some(Arc::new(TwinAccessPoint(self.state.clone())))
    }

    async fn provision(
        &mut self,
        scenario: &Scenario,
        files: &[Vec<AppFile>],
    ) -> Result<Provisioned> {
        match &mut self.boards {
            TwinBoards::Process(boards) => {
                let mut boards = std::mem::take(boards);
                for (board, files) in boards.iter_mut().zip(files) {
                    board.deploy(files).await?;
                }
                Ok(Provisioned {
                    boards,
                    steps: Vec::new(),
                })
            }
            TwinBoards::Pty { ports, .. } => {
                let wire = Wire {
                    channels: &self.channels,
                    ports,
                    infos: &self.infos,
                    image: None,
                    // A twin's boards are always on their ports: nothing to scan.
                    finder: Arc::new(PortFinder::new(Vec::new())),
                    keep_flash_records: false,
                    progress: false,
                };
                provision_wire::provision(wire, scenario, files).await
            }
        }
    }

    /// The twin's loads (awake, asleep, off) and each wake's heap, as the twin knows them.
    fn record_ground_truth(&self, log: &EventLog) -> Option<JoinHandle<()>> {
        let names: Vec<String> = self.infos.iter().map(|b| b.name.clone()).collect();
        let board = move |index: usize| {
            names
                .get(index)
                .cloned()
                .unwrap_or_else(|| format!("board-{index}"))
        };
        let (mut loads, mut heaps, mut lags, mut stretches) = (
            self.state.watch_loads(),
            self.state.watch_heaps(),
            self.state.watch_lags(),
            self.state.watch_stretches(),
        );
        let log = log.clone();
        Some(tokio::spawn(async move {
            loop {
                let body = tokio::select! {
                    Some((index, state)) = loads.recv() => Body::TwinLoad {
                        board: board(index),
                        state: match state {
                            LoadState::Awake => "awake",
                            LoadState::Asleep => "asleep",
                            LoadState::Off => "off",
                        }
                        .into(),
                    },
                    Some((index, heap)) = heaps.recv() => Body::BoardHeap {
                        board: board(index),
                        free_at_boot: heap.free_at_boot,
                        min_free: heap.min_free,
                    },
                    Some((index, seconds)) = lags.recv() => Body::TwinLag {
                        board: board(index),
                        seconds: (seconds * 1000.0).round() / 1000.0,
                    },
                    Some((index, seconds)) = stretches.recv() => Body::TwinStretch {
                        board: board(index),
                        seconds: (seconds * 1000.0).round() / 1000.0,
                    },
                    else => return,
                };
                log.record(body);
            }
        }))
    }
}

/// The twin bench's WiFi access point.
struct TwinAccessPoint(Arc<BenchState>);

impl AccessPoint for TwinAccessPoint {
    fn set_up(&self, up: bool) {
        self.0.set_wifi(up);
    }
}

/// Name, MAC and noise seed of the scenario's `i`th twin board.
fn twin_identity(scenario: &Scenario, i: u32) -> (BoardInfo, u64) {
    let info = BoardInfo {
        name: format!("twin-{i}"),
        mac: format!("5c:cf:7f:00:{:02x}:{:02x}", i / 256, i % 256),
        supply: format!("twin:{}", scenario.supply.channel_of(i) + 1),
    };
    (info, seed_for(&scenario.name, i))
}

/// Twin randomness is seeded per scenario and board so a rerun sees the same noise.
fn seed_for(scenario: &str, board: u32) -> u64 {
    scenario.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) ^ u64::from(board)
}
