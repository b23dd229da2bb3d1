//! The channels a driver may drive and their limits, checked before anything is sent; shared by every driver so
//! they refuse the same things in the same words.

use super::ChannelLimits;
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;

pub(crate) struct Channels {
    /// The instrument's name, first in every error.
    name: String,
    limits: BTreeMap<u8, ChannelLimits>,
}

impl Channels {
    /// The channels set up for instrument `name`, a `family` with channels `1..=max_channel`.
    pub fn new(
        name: &str,
        family: &str,
        max_channel: u8,
        channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
    ) -> Result<Channels> {
        let limits: BTreeMap<u8, ChannelLimits> = channels.into_iter().collect();
        if limits.is_empty() {
            bail!("{name}: no channel is set up");
        }
        for (&channel, limit) in &limits {
            if channel == 0 || channel > max_channel {
                bail!(
                    "{name}: channel {channel} does not exist on a {family} (channels 1..={max_channel})"
                );
            }
            let valid = |x: f64| x.is_finite() && x > 0.0;
            if !valid(limit.max_volts) || !valid(limit.max_amps) {
                bail!("{name}: channel {channel}'s limits must be positive numbers: {limit:?}");
            }
        }
        Ok(Channels {
            name: name.to_string(),
            limits,
        })
    }

    /// The channel's limits, or an error if it is not set up.
    pub fn limits(&self, channel: u8) -> Result<ChannelLimits> {
        self.limits.get(&channel).copied().ok_or_else(|| {
            let known: Vec<String> = self.limits.keys().map(u8::to_string).collect();
            anyhow!(
                "{}: channel {channel} is not set up (set up: {})",
                self.name,
                known.join(", ")
            )
        })
    }

    /// Refuses a voltage outside the channel's limit.
    pub fn check_volts(&self, channel: u8, volts: f64) -> Result<()> {
        let max = self.limits(channel)?.max_volts;
        self.check(channel, "voltage", volts, max, "V")
    }

    /// Refuses a current limit outside the channel's limit.
    pub fn check_amps(&self, channel: u8, amps: f64) -> Result<()> {
        let max = self.limits(channel)?.max_amps;
        self.check(channel, "current limit", amps, max, "A")
    }

    /// Refuses an over-current trip level outside the channel's current limit.
    pub fn check_trip_amps(&self, channel: u8, amps: f64) -> Result<()> {
        let max = self.limits(channel)?.max_amps;
        self.check(channel, "over-current trip level", amps, max, "A")
    }

    /// Refuses a trip level outside the channel's current limit, or (`None`: disarming) a channel not set up.
    pub fn check_trip(&self, channel: u8, trip_amps: Option<f64>) -> Result<()> {
        match trip_amps {
            Some(amps) => self.check_trip_amps(channel, amps),
            None => self.limits(channel).map(|_| ()),
        }
    }

    /// Checks a voltage for a unit that takes settings in `step`s, before and after snapping it to that grid (a
    /// value just under the limit may round past it); returns the value to send.
    pub fn volts_on_grid(&self, channel: u8, volts: f64, step: f64) -> Result<f64> {
        snapped(volts, step, |v| self.check_volts(channel, v))
    }

    /// As [`Channels::volts_on_grid`], for a current limit.
    pub fn amps_on_grid(&self, channel: u8, amps: f64, step: f64) -> Result<f64> {
        snapped(amps, step, |a| self.check_amps(channel, a))
    }

    /// As [`Channels::volts_on_grid`], for an over-current trip level.
    pub fn trip_amps_on_grid(&self, channel: u8, amps: f64, step: f64) -> Result<f64> {
        snapped(amps, step, |a| self.check_trip_amps(channel, a))
    }

    fn check(&self, channel: u8, what: &str, value: f64, max: f64, unit: &str) -> Result<()> {
        if !(value.is_finite() && (0.0..=max).contains(&value)) {
            bail!(
                "{}: {what} {value} {unit} on channel {channel} is outside its limit 0..={max} {unit}; nothing was sent",
                self.name
            );
        }
        Ok(())
    }
}

/// `value` on a grid of `step`, checked before and after snapping.
fn snapped(value: f64, step: f64, check: impl Fn(f64) -> Result<()>) -> Result<f64> {
    check(value)?;
    let sent = on_grid(value, step);
    check(sent)?;
    Ok(sent)
}

/// A value on a unit's settings grid.
pub(crate) fn on_grid(value: f64, step: f64) -> f64 {
    (value / step).round() * step
}

/// An instrument's reply as it appears in an error message: quoted, escaped and cut short.
pub(crate) fn shown(reply: &str) -> String {
    const MAX_SHOWN: usize = 80;
    match reply.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{:?}…", &reply[..cut]),
        None => format!("{reply:?}"),
    }
}
