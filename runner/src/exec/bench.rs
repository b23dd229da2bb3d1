//! The bench a scenario runs on. Without a rig file it is the twin bench: one channel of the twin supply, an SCPI
//! server on a loopback port driven through the same SCPI driver as a lab supply, feeding the scenario's boards.

use crate::events::BoardInfo;
use crate::paths;
use crate::scenario::Scenario;
use anyhow::{Context, Result};
use rig::board::Board;
use rig::clock::DeviceClock;
use rig::supply::{ChannelLimits, Dialect, PowerSupply, ScpiSupply};
use rig::twin::{BenchState, Physics, ScpiServer, TwinBoard, TwinBoardSpec};
use std::sync::Arc;

pub struct Bench {
    pub supply: Arc<dyn PowerSupply>,
    pub channel: u8,
    pub limits: ChannelLimits,
    pub boards: Vec<Box<dyn Board>>,
    pub infos: Vec<BoardInfo>,
    pub physics: Physics,
    pub wifi_ssid: String,
    /// The twin supply's SCPI server, kept for as long as the bench: dropping it shuts the server down.
    pub supply_server: Option<ScpiServer>,
    /// The twin bench's shared state, for faults only a twin can stage (its WiFi access point).
    pub twin: Option<Arc<BenchState>>,
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

pub fn twin_bench(scenario: &Scenario, clock: DeviceClock) -> Result<Bench> {
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
    let physics = Physics::default();
    let python = paths::python();
    let run_py = paths::host_runtime();
    let mut boards: Vec<Box<dyn Board>> = Vec::new();
    let mut infos = Vec::new();
    for i in 0..scenario.boards {
        let name = format!("twin-{i}");
        let mac = format!("5c:cf:7f:00:{:02x}:{:02x}", i / 256, i % 256);
        let spec = TwinBoardSpec {
            name: name.clone(),
            mac: mac.clone(),
            channel: 0,
            physics: physics.clone(),
            wifi_available: true,
            seed: seed_for(&scenario.name, i),
        };
        boards.push(Box::new(TwinBoard::new(
            spec,
            state.clone(),
            clock,
            &python,
            &run_py,
        )?));
        infos.push(BoardInfo {
            name,
            mac,
            supply: "twin:1".into(),
        });
    }
    Ok(Bench {
        supply,
        channel: 1,
        limits: TWIN_LIMITS,
        boards,
        infos,
        physics,
        wifi_ssid: "hil-bench".into(),
        supply_server: Some(server),
        twin: Some(state),
    })
}

/// Twin randomness is seeded per scenario and board so a rerun sees the same noise.
fn seed_for(scenario: &str, board: u32) -> u64 {
    scenario.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }) ^ u64::from(board)
}
