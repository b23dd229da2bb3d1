//! The channels one instrument drives, each checked against its limits before anything is sent.

use super::limits::{ChannelError, ChannelLimits, Setting};
use super::SupplyError;
use std::collections::BTreeMap;

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
