//! The bench a scenario runs on. Without a rig file it is the twin bench: a twin supply with one channel per
//! scenario channel, an SCPI server on a loopback port driven through the same SCPI driver as a lab supply,
//! feeding the scenario's boards.

use crate::rigfile::{RigFile, SupplyEntry};
use anyhow::{Context, Result};
use model::clock::DeviceClock;
use model::events::{BoardInfo, Body, EventLog};
use model::scenario::Scenario;
use rig::board::remote_lines::RemoteLines;
use rig::board::reset_lines::ResetLines;
use rig::board::{Board, Chip};
use rig::supply::{ChannelLimits, Dialect, PowerSupply, ScpiSupply};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use twin::pty_board::{PtyBoard, PtyBoardSpec};
use twin::{BenchState, Physics, ScpiServer, TwinBoard, TwinBoardSpec};

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

/// A supply channel the bench drives, in the scenario's channel order.
#[derive(Clone)]
pub struct BenchChannel {
    pub supply: Arc<dyn PowerSupply>,
    pub channel: u8,
    /// The rig's safe state for this channel: this voltage with the output on; None: output off.
    pub safe_volts: Option<f64>,
    /// Where its over-current protection is armed before the output goes on (the rig channel's `ocp_amps`, else
    /// its `max_amps`).
    pub trip_amps: f64,
}

impl BenchChannel {
    /// `supply:channel` label used in events.
    pub fn label(&self) -> String {
        format!("{}:{}", self.supply.name(), self.channel)
    }

    /// Readies the channel for its profile, output untouched: current limit, over-current protection (recorded
    /// when a log is given), then the profile's first voltage.
    pub async fn prepare(
        &self,
        current_limit: f64,
        volts: f64,
        log: Option<&EventLog>,
    ) -> Result<()> {
        self.supply
            .set_current_limit(self.channel, current_limit)
            .await?;
        super::ocp::arm(self, current_limit, log).await?;
        self.supply.set_volts(self.channel, volts).await
    }

    /// Puts the channel in the rig's safe state and records it when a log is given.
    pub async fn make_safe(&self, log: Option<&EventLog>) -> Result<()> {
        let label = self.label();
        let result = match self.safe_volts {
            Some(volts) => self.supply.set_volts(self.channel, volts).await,
            None => self.supply.set_output(self.channel, false).await,
        };
        if let Some(log) = log {
            log.record(Body::SupplySet {
                supply: label.clone(),
                volts: self.safe_volts,
                amps: None,
                output: self.safe_volts.is_none().then_some(false),
            });
        }
        result.with_context(|| format!("putting {label} in its safe state"))
    }
}

pub struct Bench {
    pub channels: Vec<BenchChannel>,
    /// The boards the timeline drives. Boards behind `ptys` join once provisioned over their ports.
    pub boards: Vec<Box<dyn Board>>,
    pub infos: Vec<BoardInfo>,
    pub physics: Physics,
    pub wifi_ssid: String,
    /// The twin supply's SCPI server, kept for as long as the bench: dropping it shuts the server down.
    pub supply_server: Option<ScpiServer>,
    /// The twin bench's shared state, for faults only a twin can stage (its WiFi access point).
    pub twin: Option<Arc<BenchState>>,
    /// Twin boards on ptys (in `infos` order), kept for as long as the bench: dropping one stops it.
    pub ptys: Vec<PtyBoard>,
    /// Serial ports of boards provisioned over the wire (pty twins or a rig's boards), in `infos` order.
    pub ports: Vec<WirePort>,
    /// The MicroPython image to flash (the rig's `[micropython] image`); None: a generated one, for twins.
    pub image: Option<PathBuf>,
    /// Where a board that is not on its port is looked for (the rig's `[boards] scan`).
    pub scan: Vec<String>,
}

/// A board's chip and serial port, where the port has no modem lines its reset lines' side channel, and the serial
/// number of its USB-serial adapter when the rig file names it.
pub struct WirePort {
    pub chip: Arc<dyn Chip>,
    pub port: PathBuf,
    pub lines: Option<Arc<dyn ResetLines>>,
    pub usb_serial: Option<String>,
}

/// Puts every channel in its safe state; the first failure is returned after all were tried. (Over the
/// channels, not the bench: a bench holds boards, which are not `Sync`.)
pub async fn make_safe(channels: &[BenchChannel], log: Option<&EventLog>) -> Result<()> {
    let mut first = Ok(());
    for channel in channels {
        if let Err(e) = channel.make_safe(log).await {
            tracing::warn!("{e:#}");
            if first.is_ok() {
                first = Err(e);
            }
        }
    }
    first
}

/// The twin's channel limits: those of a Rigol DP832's 30 V / 3 A channels, narrowed to a 12 V battery's bench.
pub const TWIN_LIMITS: ChannelLimits = ChannelLimits {
    max_volts: 16.0,
    max_amps: 1.0,
};

/// The twin bench with process boards (`TwinTransport::Process`).
pub async fn twin_bench(
    scenario: &Scenario,
    clock: DeviceClock,
    runtime: &twin::FirmwareRuntime,
) -> Result<Bench> {
    let mut bench = twin_supply(scenario, clock).await?;
    let state = bench.twin.clone().context("the twin bench has no state")?;
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
        bench.boards.push(Box::new(TwinBoard::new(
            spec,
            state.clone(),
            clock,
            runtime,
        )?));
        bench.infos.push(info);
    }
    Ok(bench)
}

/// The twin bench with pty boards (`TwinTransport::Pty`) running their app and REPL code on `runtime`; they are
/// provisioned over their ports before they join `boards`.
pub async fn pty_twin_bench(
    scenario: &Scenario,
    clock: DeviceClock,
    runtime: &twin::FirmwareRuntime,
) -> Result<Bench> {
    let mut bench = twin_supply(scenario, clock).await?;
    let state = bench.twin.clone().context("the twin bench has no state")?;
    for i in 0..scenario.boards {
        let (info, seed) = twin_identity(scenario, i);
        let mut spec = PtyBoardSpec::new(&info.name, &info.mac, runtime);
        spec.board.channel = scenario.supply.channel_of(i);
        spec.board.physics = bench.physics.clone();
        spec.board.seed = seed;
        let pty = PtyBoard::spawn(spec, state.clone(), clock).await?;
        bench.ports.push(WirePort {
            chip: pty.chip(),
            port: pty.port().to_path_buf(),
            lines: Some(pty.lines()),
            usb_serial: None,
        });
        bench.ptys.push(pty);
        bench.infos.push(info);
    }
    Ok(bench)
}

/// A rig's supply drivers, opened on first use, one per instrument: channels of one instrument share its driver,
/// and so its connection.
#[derive(Default)]
pub struct RigDrivers<'a> {
    open: BTreeMap<&'a str, Arc<dyn PowerSupply>>,
}

impl<'a> RigDrivers<'a> {
    /// Channel `channel` of the rig's supply `entry`, with the rig's safe state and trip level for it.
    pub fn channel(&mut self, entry: &'a SupplyEntry, channel: u8) -> Result<BenchChannel> {
        let trip_amps = entry
            .trip_amps(channel)
            .with_context(|| format!("[supply.{}] has no channel {channel}", entry.name))?;
        let supply = match self.open.get(entry.name.as_str()) {
            Some(driver) => driver.clone(),
            None => {
                let driver = rig::supply::open(
                    &entry.name,
                    entry.driver,
                    &entry.address,
                    entry.channels.iter().map(|(c, l)| (*c, *l)),
                )?;
                self.open.insert(&entry.name, driver.clone());
                driver
            }
        };
        Ok(BenchChannel {
            supply,
            channel,
            safe_volts: entry.safe_volts,
            trip_amps,
        })
    }
}

/// The bench a rig file describes: each scenario channel on a rig channel of its own (see `plan`), its boards
/// reached over their serial ports (and reset-line side channels where a port has no modem lines, as
/// `hil bench up` gives). Channels of one instrument share one driver, and so one connection.
pub fn rig_bench(rig: &RigFile, scenario: &Scenario) -> Result<Bench> {
    let placed = crate::plan::place(rig, scenario).map_err(anyhow::Error::msg)?;
    let mut drivers = RigDrivers::default();
    let mut channels = Vec::new();
    let mut ports = Vec::new();
    let mut infos = Vec::new();
    // The boards' calibration is deployed from the first board's `adc`, as one firmware build serves the bench.
    let mut physics = Physics::default();
    if let Some((divider, full_scale_volts)) = placed.first().and_then(|p| p.boards.first()?.adc) {
        physics.divider = divider;
        physics.full_scale_volts = full_scale_volts;
    }
    for planned in &placed {
        channels.push(drivers.channel(planned.supply, planned.channel)?);
        for b in &planned.boards {
            let lines = match &b.lines {
                Some(address) => {
                    Some(Arc::new(RemoteLines::new(&b.name, address)?) as Arc<dyn ResetLines>)
                }
                None => None,
            };
            ports.push(WirePort {
                chip: b.chip.clone(),
                port: PathBuf::from(&b.port),
                lines,
                usb_serial: b.usb_serial.clone(),
            });
            infos.push(BoardInfo {
                name: b.name.clone(),
                mac: b.mac.clone(),
                supply: planned.label(),
            });
        }
    }
    Ok(Bench {
        channels,
        boards: Vec::new(),
        infos,
        physics,
        wifi_ssid: rig
            .wifi
            .as_ref()
            .map_or_else(|| "hil-bench".into(), |w| w.ssid.clone()),
        supply_server: None,
        twin: None,
        ptys: Vec::new(),
        ports,
        image: rig.image.clone(),
        scan: rig.scan.clone(),
    })
}

/// The twin supply on its SCPI server, a channel per scenario channel, no boards yet.
async fn twin_supply(scenario: &Scenario, clock: DeviceClock) -> Result<Bench> {
    let count = scenario.supply.channels.len();
    let state = Arc::new(BenchState::new(count));
    let server = ScpiServer::start(state.clone(), clock).await?;
    let numbers = 1..=u8::try_from(count).context("the twin supply has at most 255 channels")?;
    let supply: Arc<dyn PowerSupply> = Arc::new(
        ScpiSupply::new(
            "twin",
            &server.address(),
            Dialect::RigolDp800,
            numbers.clone().map(|n| (n, TWIN_LIMITS)),
        )
        .context("setting up the twin supply's driver")?,
    );
    Ok(Bench {
        channels: numbers
            .map(|channel| BenchChannel {
                supply: supply.clone(),
                channel,
                safe_volts: None,
                trip_amps: TWIN_LIMITS.max_amps,
            })
            .collect(),
        boards: Vec::new(),
        infos: Vec::new(),
        physics: Physics::default(),
        wifi_ssid: "hil-bench".into(),
        supply_server: Some(server),
        twin: Some(state),
        ptys: Vec::new(),
        ports: Vec::new(),
        image: None,
        scan: Vec::new(),
    })
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
