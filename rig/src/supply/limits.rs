//! A channel's limits and the one check of a setting against them: used by every driver before anything is sent,
//! and by rig-file validation, so that both refuse the same things.

use std::fmt;
use thiserror::Error;

/// What a channel may be asked for; enforced before any command is sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChannelLimits {
    pub max_volts: f64,
    pub max_amps: f64,
}

/// A setting a channel's limits bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Volts,
    CurrentLimit,
    /// The level at which over-current protection switches the output off.
    TripAmps,
}

impl Setting {
    pub fn unit(self) -> &'static str {
        match self {
            Setting::Volts => "V",
            Setting::CurrentLimit | Setting::TripAmps => "A",
        }
    }

    /// The most the channel takes of this setting.
    pub fn max(self, limits: &ChannelLimits) -> f64 {
        match self {
            Setting::Volts => limits.max_volts,
            Setting::CurrentLimit | Setting::TripAmps => limits.max_amps,
        }
    }
}

impl fmt::Display for Setting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Setting::Volts => "voltage",
            Setting::CurrentLimit => "current limit",
            Setting::TripAmps => "over-current trip level",
        })
    }
}

/// Why a channel, or a setting for it, is refused before anything is sent.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ChannelError {
    #[error("no channel is set up")]
    NoneSetUp,
    #[error("channel {channel} does not exist on a {family} (channels 1..={max_channel})")]
    NoSuchChannel {
        channel: u8,
        family: String,
        max_channel: u8,
    },
    #[error("channel {channel}'s limits must be positive numbers: {limits:?}")]
    NotPositive { channel: u8, limits: ChannelLimits },
    #[error("channel {channel} is not set up (set up: {})", listed(.set_up))]
    NotSetUp { channel: u8, set_up: Vec<u8> },
    #[error(
        "{setting} {value} {unit} on channel {channel} is outside its limit 0..={max} {unit}; nothing was sent",
        unit = setting.unit()
    )]
    OutsideLimit {
        channel: u8,
        setting: Setting,
        value: f64,
        max: f64,
    },
}

fn listed(channels: &[u8]) -> String {
    let numbers: Vec<String> = channels.iter().map(u8::to_string).collect();
    numbers.join(", ")
}

impl ChannelLimits {
    /// Refuses channel `channel` of a `family` with channels `1..=max_channel` if it does not exist, or these
    /// limits if they are not positive numbers.
    pub fn check_setup(
        &self,
        channel: u8,
        family: &str,
        max_channel: u8,
    ) -> Result<(), ChannelError> {
        if channel == 0 || channel > max_channel {
            return Err(ChannelError::NoSuchChannel {
                channel,
                family: family.to_string(),
                max_channel,
            });
        }
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.max_volts) || !positive(self.max_amps) {
            return Err(ChannelError::NotPositive {
                channel,
                limits: *self,
            });
        }
        Ok(())
    }

    /// Refuses a `setting` of `value` outside `0..=` its limit (NaN and infinities included).
    pub fn check(&self, channel: u8, setting: Setting, value: f64) -> Result<(), ChannelError> {
        let max = setting.max(self);
        if value.is_finite() && (0.0..=max).contains(&value) {
            return Ok(());
        }
        Err(ChannelError::OutsideLimit {
            channel,
            setting,
            value,
            max,
        })
    }
}
