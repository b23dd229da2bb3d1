//! The bench a scenario runs on. Without a rig file it is the twin bench: one channel of the twin supply, an SCPI
//! server on a loopback port driven through the same SCPI driver as a lab supply, feeding the scenario's boards.

use crate::events::BoardInfo;
use crate::paths;
use crate::scenario::Scenario;
use anyhow::{Context, Result};
use rig::board::Board;
use rig::clock::DeviceClock;
use rig::supply::{ChannelLimits, Dialect, PowerSupply, ScpiSupply};
use rig::twin::pty_board::{PtyBoard, PtyBoardSpec};
use rig::twin::{BenchState, Physics, ScpiServer, TwinBoard, TwinBoardSpec};
use std::sync::Arc;

/// How the runner reaches twin boards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TwinTransport {
    /// Each wake a host process; deploy copies the files into the board's folder.
    #[default]
    Process,
    /// A pty per board, driven like hardware: ROM-loader flash, raw-REPL deploy, console read from the port.
    Pty,
}

pub struct Bench {
    pub supply: Arc<dyn PowerSupply>,
    pub channel: u8,
    pub limits: ChannelLimits,
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
}

impl Bench {
    /// `supply:channel` label used in events.
    pub fn supply_label(&self) -> String {
        format!("{}:{}", self.supply.name(), self.channel)
    }
}

/// The twin's channel limits: those of a Rigol DP832's 30 V / 3 A channels, narrowed to a 12 V battery's bench.
pub const TWIN_LIMITS: ChannelLimits = ChannelLimits {
    max_volts: 16.0,
    max_amps: 1.0,
};

/// The twin bench with process boards (`TwinTransport::Process`).
pub fn twin_bench(scenario: &Scenario, clock: DeviceClock) -> Result<Bench> {
    let mut bench = twin_supply(clock)?;
    let state = bench.twin.clone().context("the twin bench has no state")?;
    let python = paths::python();
    let run_py = paths::host_runtime();
    for i in 0..scenario.boards {
        let (info, seed) = twin_identity(scenario, i);
        let spec = TwinBoardSpec {
            name: info.name.clone(),
            mac: info.mac.clone(),
            channel: 0,
            physics: bench.physics.clone(),
            wifi_available: true,
            seed,
        };
        bench.boards.push(Box::new(TwinBoard::new(
            spec,
            state.clone(),
            clock,
            &python,
            &run_py,
        )?));
        bench.infos.push(info);
    }
    Ok(bench)
}

/// The twin bench with pty boards (`TwinTransport::Pty`); they are provisioned over their ports before they
/// join `boards`.
pub async fn pty_twin_bench(scenario: &Scenario, clock: DeviceClock) -> Result<Bench> {
    let mut bench = twin_supply(clock)?;
    let state = bench.twin.clone().context("the twin bench has no state")?;
    for i in 0..scenario.boards {
        let (info, seed) = twin_identity(scenario, i);
        let mut spec = PtyBoardSpec::new(&info.name, &info.mac, &paths::host_runtime());
        spec.physics = bench.physics.clone();
        spec.seed = seed;
        spec.python = paths::python();
        bench
            .ptys
            .push(PtyBoard::spawn(spec, state.clone(), clock).await?);
        bench.infos.push(info);
    }
    Ok(bench)
}

/// The twin supply on its SCPI server, no boards yet.
fn twin_supply(clock: DeviceClock) -> Result<Bench> {
    let state = Arc::new(BenchState::new(1));
    let server = ScpiServer::start(state.clone(), clock)?;
    let supply: Arc<dyn PowerSupply> = Arc::new(
        ScpiSupply::new(
            "twin",
            &server.address(),
            Dialect::RigolDp800,
            [(1, TWIN_LIMITS)],
        )
        .context("setting up the twin supply's driver")?,
    );
    Ok(Bench {
        supply,
        channel: 1,
        limits: TWIN_LIMITS,
        boards: Vec::new(),
        infos: Vec::new(),
        physics: Physics::default(),
        wifi_ssid: "hil-bench".into(),
        supply_server: Some(server),
        twin: Some(state),
        ptys: Vec::new(),
    })
}

/// Name, MAC and noise seed of the scenario's `i`th twin board.
fn twin_identity(scenario: &Scenario, i: u32) -> (BoardInfo, u64) {
    let info = BoardInfo {
        name: format!("twin-{i}"),
        mac: format!("5c:cf:7f:00:{:02x}:{:02x}", i / 256, i % 256),
        supply: "twin:1".into(),
    };
    (info, seed_for(&scenario.name, i))
}

/// Twin randomness is seeded per scenario and board so a rerun sees the same noise.
fn seed_for(scenario: &str, board: u32) -> u64 {
    scenario.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) ^ u64::from(board)
}
