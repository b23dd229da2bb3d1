//! The bench a scenario runs on, behind one trait: the timeline (`exec/mod.rs`) drives its channels and boards
//! and never asks which kind of bench it has. `RigBench` is a lab bench from a rig file; `TwinBench` is the twin
//! bench, whose supply is an SCPI server driven through the same driver as a lab supply.

mod channel;
mod rig_bench;
mod twin_bench;

pub use channel::{make_safe, BenchChannel};
pub use rig_bench::{RigBench, RigDrivers, RigSource};
pub use twin_bench::{TwinBench, TwinImage, TwinRuntime, TwinSource, TwinTransport, TWIN_LIMITS};

use super::provision_step::Step;
use anyhow::Result;
use async_trait::async_trait;
use model::clock::DeviceClock;
use model::events::{BoardInfo, EventLog};
use model::payload::{Adc, PayloadFormat};
use model::scenario::{FaultKind, Scenario};
use rig::board::{AppFile, Board};
use std::sync::Arc;
use tokio::task::JoinHandle;

/// What a kind of bench can stage, known before one is opened: validation refuses a scenario that needs more,
/// before anything is sent to a bench.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// It can switch the boards' WiFi access point (`wifi-off`).
    pub wifi_off: bool,
}

impl Capabilities {
    /// A lab bench: the lab's WiFi is not the rig's to switch.
    pub const RIG: Capabilities = Capabilities { wifi_off: false };
    /// The twin bench: its access point is simulated.
    pub const TWIN: Capabilities = Capabilities { wifi_off: true };

    /// Why `scenario` cannot run on such a bench, if it cannot.
    pub fn refusal(self, scenario: &Scenario) -> Option<String> {
        let wifi_off = scenario
            .faults
            .iter()
            .find(|f| f.kind == FaultKind::WifiOff);
        match wifi_off {
            Some(fault) if !self.wifi_off => Some(format!(
                "{}: the fault `wifi-off` (at {} s) needs a bench that can switch its WiFi access point, which a \
                 rig cannot; run this scenario on the twin bench (without --rig), or leave it out of this run",
                scenario.name, fault.start
            )),
            _ => None,
        }
    }
}

/// Where a run's benches come from: one per scenario, opened when the scenario starts.
#[async_trait]
pub trait BenchSource: Send + Sync {
    fn capabilities(&self) -> Capabilities;

    /// The bench for `scenario`; nothing is sent to an instrument or board yet. The bench's own clock (its
    /// boards' sleeps) runs at `speed`.
    async fn open(&self, scenario: &Scenario, clock: DeviceClock) -> Result<Box<dyn Bench>>;
}

/// The boards provisioning made ready, and what it did, to record once the timeline starts.
pub struct Provisioned {
    pub boards: Vec<Box<dyn Board>>,
    pub steps: Vec<Step>,
}

/// The access point the boards join: a `wifi-off` fault switches it, on a bench that has one.
pub trait AccessPoint: Send + Sync {
    fn set_up(&self, up: bool);
}

#[async_trait]
pub trait Bench: Send {
    /// The supply channels the scenario's channels are on, in the scenario's order.
    fn channels(&self) -> &[BenchChannel];

    /// The boards, in the order `provision` takes their files.
    fn boards(&self) -> &[BoardInfo];

    /// The ADC calibration the boards are deployed with.
    fn adc(&self) -> Adc;

    fn wifi_ssid(&self) -> &str;

    /// The payload the bench's firmware publishes when the scenario does not say (a rig file's `[payload]`).
    fn payload(&self) -> Option<PayloadFormat> {
        None
    }

    /// The access point, where the bench can switch it (`Capabilities::wifi_off`).
    fn access_point(&self) -> Option<Arc<dyn AccessPoint>> {
        None
    }

    /// Deploys `files` (one list per board, in `boards()` order) and hands over the boards that are ready.
    /// The caller makes the supply safe if this fails.
    async fn provision(
        &mut self,
        scenario: &Scenario,
        files: &[Vec<AppFile>],
    ) -> Result<Provisioned>;

    /// Starts recording what only this bench can observe (a twin's ground truth), if anything.
    fn record_ground_truth(&self, _log: &EventLog) -> Option<JoinHandle<()>> {
        None
    }
}
