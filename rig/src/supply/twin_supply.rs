//! The twin bench's supply, driven in-process: output follows commands, measured current follows the boards.

use super::PowerSupply;
use crate::twin::BenchState;
use anyhow::{bail, Result};
use async_trait::async_trait;
use std::sync::Arc;

pub struct TwinSupply {
    name: String,
    bench: Arc<BenchState>,
}

impl TwinSupply {
    pub fn new(name: &str, bench: Arc<BenchState>) -> Self {
        TwinSupply {
            name: name.to_string(),
            bench,
        }
    }

    fn check_channel(&self, channel: u8) -> Result<usize> {
        let index = usize::from(channel).wrapping_sub(1);
        if index >= self.bench.channel_count() {
            bail!(
                "{}: no channel {channel} (the twin supply has channels 1..={})",
                self.name,
                self.bench.channel_count()
            );
        }
        Ok(index)
    }
}

#[async_trait]
impl PowerSupply for TwinSupply {
    fn name(&self) -> &str {
        &self.name
    }

    async fn identify(&self) -> Result<String> {
        Ok(format!(
            "HIL-TWIN,TWIN-SUPPLY,{},0.1.0",
            self.bench.channel_count()
        ))
    }

    async fn set_volts(&self, channel: u8, volts: f64) -> Result<()> {
        let ch = self.check_channel(channel)?;
        self.bench.update_channel(ch, |c| c.set_volts = volts);
        Ok(())
    }

    async fn set_current_limit(&self, channel: u8, amps: f64) -> Result<()> {
        let ch = self.check_channel(channel)?;
        self.bench.update_channel(ch, |c| c.limit_amps = amps);
        Ok(())
    }

    async fn set_output(&self, channel: u8, on: bool) -> Result<()> {
        let ch = self.check_channel(channel)?;
        self.bench.update_channel(ch, |c| c.output_on = on);
        Ok(())
    }

    async fn measure_volts(&self, channel: u8) -> Result<f64> {
        let ch = self.check_channel(channel)?;
        Ok(self.bench.measured_volts(ch))
    }

    async fn measure_amps(&self, channel: u8) -> Result<f64> {
        let ch = self.check_channel(channel)?;
        Ok(self.bench.measured_amps(ch))
    }
}
