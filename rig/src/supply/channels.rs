//! A channel's limits and the one check of a setting against them: used by every driver before anything is sent,
//! and by rig-file validation, so that both refuse the same things.

use super::SupplyError;
use std::collections::BTreeMap;
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

/// The channels one instrument may drive and their limits; every refusal names the instrument.
pub(crate) struct Channels {
    instrument: String,
    limits: BTreeMap<u8, ChannelLimits>,
}

impl Channels {
    /// The channels set up for `instrument`, a `family` with channels `1..=max_channel`.
    pub fn new(
        instrument: &str,
        family: &str,
        max_channel: u8,
        channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
    ) -> Result<Channels, SupplyError> {
        let refused = |error| SupplyError::Channel {
            instrument: instrument.to_string(),
            error,
        };
        let limits: BTreeMap<u8, ChannelLimits> = channels.into_iter().collect();
        if limits.is_empty() {
            return Err(refused(ChannelError::NoneSetUp));
        }
        for (&channel, limit) in &limits {
            limit
                .check_setup(channel, family, max_channel)
                .map_err(refused)?;
        }
        Ok(Channels {
            instrument: instrument.to_string(),
            limits,
        })
    }

    /// The channel's limits, or an error if it is not set up.
    pub fn limits(&self, channel: u8) -> Result<ChannelLimits, SupplyError> {
        self.limits.get(&channel).copied().ok_or_else(|| {
            self.refused(ChannelError::NotSetUp {
                channel,
                set_up: self.limits.keys().copied().collect(),
            })
        })
    }

    /// Refuses a setting outside the channel's limit, or a channel not set up.
    pub fn check(&self, channel: u8, setting: Setting, value: f64) -> Result<(), SupplyError> {
        self.limits(channel)?
            .check(channel, setting, value)
            .map_err(|error| self.refused(error))
    }

    /// Refuses a trip level outside the channel's current limit, or (`None`: disarming) a channel not set up.
    pub fn check_trip(&self, channel: u8, trip_amps: Option<f64>) -> Result<(), SupplyError> {
        match trip_amps {
            Some(amps) => self.check(channel, Setting::TripAmps, amps),
            None => self.limits(channel).map(drop),
        }
    }

    /// Checks a setting for a unit that takes settings in `step`s, before and after snapping it to that grid (a
    /// value just under the limit may round past it); returns the value to send.
    pub fn on_grid(
        &self,
        channel: u8,
        setting: Setting,
        value: f64,
        step: f64,
    ) -> Result<f64, SupplyError> {
        self.check(channel, setting, value)?;
        let sent = on_grid(value, step);
        self.check(channel, setting, sent)?;
        Ok(sent)
    }

    fn refused(&self, error: ChannelError) -> SupplyError {
        SupplyError::Channel {
            instrument: self.instrument.clone(),
            error,
        }
    }
}

/// A value on a unit's settings grid.
pub(crate) fn on_grid(value: f64, step: f64) -> f64 {
    (value / step).round() * step
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ChannelLimits = ChannelLimits {
        max_volts: 16.0,
        max_amps: 1.0,
    };

    #[test]
    fn settings_outside_their_limit_are_refused_in_words_naming_them() {
        assert_eq!(LIMITS.check(1, Setting::Volts, 16.0), Ok(()));
        assert_eq!(LIMITS.check(1, Setting::TripAmps, 0.0), Ok(()));
        for (setting, value, words) in [
            (
                Setting::Volts,
                16.5,
                "voltage 16.5 V on channel 2 is outside its limit 0..=16 V",
            ),
            (Setting::CurrentLimit, -0.1, "current limit -0.1 A"),
            (Setting::TripAmps, f64::NAN, "over-current trip level NaN A"),
        ] {
            let e = LIMITS.check(2, setting, value).unwrap_err().to_string();
            assert!(e.contains(words) && e.ends_with("nothing was sent"), "{e}");
        }
    }

    #[test]
    fn a_setup_names_the_family_s_channels_and_wants_positive_limits() {
        assert_eq!(LIMITS.check_setup(2, "KA3005P", 2), Ok(()));
        let e = LIMITS.check_setup(2, "KA3005P", 1).unwrap_err().to_string();
        assert_eq!(e, "channel 2 does not exist on a KA3005P (channels 1..=1)");
        let zero = ChannelLimits {
            max_volts: 0.0,
            max_amps: 1.0,
        };
        assert!(matches!(
            zero.check_setup(1, "KA3005P", 1),
            Err(ChannelError::NotPositive { channel: 1, .. })
        ));
    }

    #[test]
    fn a_value_that_rounds_past_the_limit_is_refused() {
        let channels = Channels::new("psu", "KA3005P", 1, [(1, LIMITS)]).unwrap();
        let sent = channels.on_grid(1, Setting::Volts, 3.3049, 0.01).unwrap();
        assert!((sent - 3.3).abs() < 1e-9, "{sent}");
        let narrow = ChannelLimits {
            max_volts: 15.996,
            ..LIMITS
        };
        let channels = Channels::new("psu", "KA3005P", 1, [(1, narrow)]).unwrap();
        let e = channels
            .on_grid(1, Setting::Volts, 15.996, 0.01)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("psu: voltage 16 V on channel 1"), "{e}");
        let e = channels.limits(3).unwrap_err().to_string();
        assert_eq!(e, "psu: channel 3 is not set up (set up: 1)");
    }
}
