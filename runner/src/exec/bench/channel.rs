//! One supply channel the bench drives, and the one place supply settings are recorded: every setting the run
//! sends goes through `BenchChannel`, which records it (and a failure) when given the scenario's log.

use anyhow::{Context, Result};
use model::events::{Body, EventLog};
use rig::supply::{OcpTrip, PowerSupply, SupplyError};
use std::sync::Arc;

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

/// A setting as `supply.set` records it.
struct Setting {
    volts: Option<f64>,
    amps: Option<f64>,
    output: Option<bool>,
}

impl BenchChannel {
    /// `supply:channel` label used in events.
    pub fn label(&self) -> String {
        format!("{}:{}", self.supply.name(), self.channel)
    }

    /// Readies the channel for its profile, output untouched: current limit, over-current protection, then the
    /// profile's first voltage.
    pub async fn prepare(
        &self,
        current_limit: f64,
        volts: f64,
        log: Option<&EventLog>,
    ) -> Result<()> {
        self.supply
            .set_current_limit(self.channel, current_limit)
            .await?;
        self.arm_over_current(current_limit, log).await?;
        let result = self.supply.set_volts(self.channel, volts).await;
        self.recorded(
            log,
            Setting {
                volts: Some(volts),
                amps: Some(current_limit),
                output: None,
            },
            result,
        )
    }

    pub async fn set_volts(&self, volts: f64, log: Option<&EventLog>) -> Result<()> {
        let result = self.supply.set_volts(self.channel, volts).await;
        self.recorded(
            log,
            Setting {
                volts: Some(volts),
                amps: None,
                output: None,
            },
            result,
        )
    }

    pub async fn set_output(&self, on: bool, log: Option<&EventLog>) -> Result<()> {
        let result = self.supply.set_output(self.channel, on).await;
        self.recorded(
            log,
            Setting {
                volts: None,
                amps: None,
                output: Some(on),
            },
            result,
        )
    }

    /// Puts the channel in the rig's safe state.
    pub async fn make_safe(&self, log: Option<&EventLog>) -> Result<()> {
        let result = match self.safe_volts {
            Some(volts) => self.supply.set_volts(self.channel, volts).await,
            None => self.supply.set_output(self.channel, false).await,
        };
        let setting = Setting {
            volts: self.safe_volts,
            amps: None,
            output: self.safe_volts.is_none().then_some(false),
        };
        self.recorded(log, setting, result)
            .with_context(|| format!("putting {} in its safe state", self.label()))
    }

    /// Arms the channel's protection at its trip level and records how it trips: at that level, at the channel's
    /// `current_limit` (an instrument without a level of its own), or not at all (one without protection).
    pub async fn arm_over_current(&self, current_limit: f64, log: Option<&EventLog>) -> Result<()> {
        let label = self.label();
        let protection = match self.supply.over_current() {
            Some(ocp) => Some(
                ocp.set_trip(self.channel, Some(self.trip_amps))
                    .await
                    .with_context(|| format!("arming {label}'s over-current protection"))?,
            ),
            None => None,
        };
        if let Some(log) = log {
            let (trip, amps) = match protection {
                Some(OcpTrip::AtLevel(amps)) => ("level", Some(amps)),
                Some(OcpTrip::AtCurrentLimit) => ("current-limit", Some(current_limit)),
                Some(OcpTrip::Off) | None => ("none", None),
            };
            log.record(Body::SupplyOcp {
                supply: label,
                trip: trip.into(),
                amps,
            });
        }
        Ok(())
    }

    /// Records a setting that was sent (whether or not the instrument took it) and, when it failed, why.
    fn recorded(
        &self,
        log: Option<&EventLog>,
        setting: Setting,
        result: Result<(), SupplyError>,
    ) -> Result<()> {
        let result = result.map_err(anyhow::Error::from);
        if let Some(log) = log {
            log.record(Body::SupplySet {
                supply: self.label(),
                volts: setting.volts,
                amps: setting.amps,
                output: setting.output,
            });
            if let Err(e) = &result {
                log.record(Body::SupplyError {
                    supply: self.label(),
                    message: format!("{e:#}"),
                });
            }
        }
        result
    }
}

/// Puts every channel in its safe state; the first failure is returned after all were tried.
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
