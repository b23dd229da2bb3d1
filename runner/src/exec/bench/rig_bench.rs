//! A lab bench from a rig file: each scenario channel on a rig channel of its own, among those the run's plan gave
//! the scenario (see `plan` and `schedule`), its boards reached over their serial ports (and reset-line side channels where a port has no modem lines, as `hil bench up`
//! gives), provisioned over the wire.

use super::{Bench, BenchChannel, BenchSource, Capabilities, Provisioned};
use crate::exec::provision_wire::{self, Wire, WirePort};
use crate::plan::{self, RigChannel};
use crate::rigfile::{RigFile, SupplyEntry};
use crate::schedule::RigPlan;
use anyhow::{Context, Result};
use async_trait::async_trait;
use model::clock::DeviceClock;
use model::events::BoardInfo;
use model::payload::{Adc, PayloadFormat};
use model::scenario::Scenario;
use rig::board::locate::PortFinder;
use rig::board::remote_lines::RemoteLines;
use rig::board::reset_lines::ResetLines;
use rig::board::AppFile;
use rig::supply::PowerSupply;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Benches on the rig a rig file describes, each scenario on the rig channels the run's plan gave it.
pub struct RigSource {
    pub rig: Arc<RigFile>,
    /// Each scenario's rig channels, by scenario name.
    pub channels: BTreeMap<String, Vec<RigChannel>>,
    /// Progress bars while boards are found, flashed and deployed (on a terminal; not with `--quiet`).
    pub progress: bool,
    /// The run's ports, shared by the scenarios it holds at once: one scenario's scan for a board that left its
    /// port never probes (and so resets) a board another scenario was found on.
    finder: Arc<PortFinder>,
}

impl RigSource {
    /// The benches of `plan`'s scenarios on `rig`.
    pub fn new(rig: Arc<RigFile>, plan: &RigPlan, progress: bool) -> RigSource {
        let channels = plan
            .scenarios
            .iter()
            .map(|p| (p.name.clone(), p.channels.clone()))
            .collect();
        RigSource {
            finder: Arc::new(PortFinder::new(rig.scan.clone())),
            rig,
            channels,
            progress,
        }
    }
}

#[async_trait]
impl BenchSource for RigSource {
    fn capabilities(&self) -> Capabilities {
        Capabilities::RIG
    }

    async fn open(&self, scenario: &Scenario, _clock: DeviceClock) -> Result<Box<dyn Bench>> {
        let channels = self.channels.get(&scenario.name).with_context(|| {
            format!(
                "{} has no rig channels in this run's plan (a bug, please report it)",
                scenario.name
            )
        })?;
        let mut bench = RigBench::new(&self.rig, scenario, channels)?;
        bench.progress = self.progress;
        bench.finder = self.finder.clone();
        Ok(Box::new(bench))
    }
}

pub struct RigBench {
    channels: Vec<BenchChannel>,
    ports: Vec<WirePort>,
    infos: Vec<BoardInfo>,
    adc: Adc,
    wifi_ssid: String,
    payload: Option<PayloadFormat>,
    image: Option<PathBuf>,
    /// Where its boards are found: the run's finder when a `RigSource` opened it.
    finder: Arc<PortFinder>,
    progress: bool,
}

impl RigBench {
    /// Places the scenario on `held`, the rig channels it holds, and opens their drivers (which connect on
    /// first use).
    pub fn new(rig: &RigFile, scenario: &Scenario, held: &[RigChannel]) -> Result<RigBench> {
        let mut offered: Vec<_> = plan::rig_channels(rig)
            .into_iter()
            .filter(|(channel, _)| held.contains(channel))
            .collect();
        offered.sort_by_key(|(channel, _)| held.iter().position(|h| h == channel));
        let placed = plan::place_among(rig, scenario, offered)?;
        let mut drivers = RigDrivers::default();
        let mut channels = Vec::new();
        let mut ports = Vec::new();
        let mut infos = Vec::new();
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
                    flash: b.flash.clone(),
                });
                infos.push(BoardInfo {
                    name: b.name.clone(),
                    mac: b.mac.clone(),
                    supply: planned.label(),
                });
            }
        }
        // One firmware build serves the bench: the calibration is the first board's `adc`, else the boards'
        // standard divider.
        let adc = placed
            .first()
            .and_then(|p| p.boards.first()?.adc)
            .map_or_else(Adc::default, |(divider, full_scale_volts)| Adc {
                divider,
                full_scale_volts,
            });
        Ok(RigBench {
            channels,
            ports,
            infos,
            adc,
            wifi_ssid: rig
                .wifi
                .as_ref()
                .map_or_else(|| "hil-bench".into(), |w| w.ssid.clone()),
            payload: rig.payload.clone(),
            image: rig.image.clone(),
            finder: Arc::new(PortFinder::new(rig.scan.clone())),
            progress: false,
        })
    }
}

/// The scenario has ended: its boards' ports are free for the next scenario on them to find again.
impl Drop for RigBench {
    fn drop(&mut self) {
        for info in &self.infos {
            self.finder.release_board(&info.name);
        }
    }
}

#[async_trait]
impl Bench for RigBench {
    fn channels(&self) -> &[BenchChannel] {
        &self.channels
    }

    fn boards(&self) -> &[BoardInfo] {
        &self.infos
    }

    fn adc(&self) -> Adc {
        self.adc
    }

    fn wifi_ssid(&self) -> &str {
        &self.wifi_ssid
    }

    fn payload(&self) -> Option<PayloadFormat> {
        self.payload.clone()
    }

    async fn provision(
        &mut self,
        scenario: &Scenario,
        files: &[Vec<AppFile>],
    ) -> Result<Provisioned> {
        let wire = Wire {
            channels: &self.channels,
            ports: &self.ports,
            infos: &self.infos,
            image: self.image.as_deref(),
            finder: self.finder.clone(),
            keep_flash_records: true,
            progress: self.progress,
        };
        provision_wire::provision(wire, scenario, files).await
    }
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
                let driver = entry.kind.open(
                    &entry.name,
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
