//! The rig file's `[supply.NAME]` tables: a driver and model the supply registry knows, an address it can reach,
//! channels the instrument has within positive limits, and trip levels and a safe voltage within those limits.

use super::raw::{ChannelRaw, SupplyRaw};
use super::{SupplyEntry, Validator};
use model::diagnostic::Diagnostic;
use rig::supply::{
    Address, ChannelError, ChannelLimits, DriverError, Registry, Setting, SupplyKind,
};
use std::collections::BTreeMap;
use toml::Spanned;

/// A supply's channels as the rig file gives them: their limits, and the trip levels set below `max_amps`.
struct Channels {
    limits: BTreeMap<u8, ChannelLimits>,
    ocp_amps: BTreeMap<u8, f64>,
}

impl Validator<'_> {
    /// Every `[supply.NAME]`, by name.
    pub(super) fn supplies(
        &self,
        raw: &BTreeMap<String, Spanned<SupplyRaw>>,
    ) -> Result<BTreeMap<String, SupplyEntry>, Diagnostic> {
        let registry = Registry::standard();
        raw.iter()
            .map(|(name, entry)| Ok((name.clone(), self.supply(&registry, name, entry)?)))
            .collect()
    }

    fn supply(
        &self,
        registry: &Registry,
        name: &str,
        entry: &Spanned<SupplyRaw>,
    ) -> Result<SupplyEntry, Diagnostic> {
        let s = entry.get_ref();
        let kind = self.supply_kind(registry, s)?;
        self.supply_address(s, &kind)?;
        let channels = self.supply_channels(s, &kind)?;
        if channels.limits.is_empty() {
            return Err(self
                .error(entry.span(), format!("supply {name} lists no channels"))
                .with_help("channels = { 1 = { max_volts = 15.0, max_amps = 1.0 } }"));
        }
        self.safe_volts(s, &channels.limits)?;
        Ok(SupplyEntry {
            name: name.to_string(),
            kind,
            address: s.address.get_ref().clone(),
            channels: channels.limits,
            ocp_amps: channels.ocp_amps,
            safe_volts: s.safe_volts.as_ref().map(|v| *v.get_ref()),
        })
    }

    /// The driver and model, as the registry resolves them; an error points at the key that is wrong.
    fn supply_kind(&self, registry: &Registry, s: &SupplyRaw) -> Result<SupplyKind, Diagnostic> {
        registry
            .resolve(s.driver.get_ref(), s.model.get_ref())
            .map_err(|e| match e {
                DriverError::UnknownDriver { .. } => self.error(s.driver.span(), e.to_string()),
                DriverError::UnknownModel { .. } => self.error(s.model.span(), e.to_string()),
            })
    }

    fn supply_address(&self, s: &SupplyRaw, kind: &SupplyKind) -> Result<(), Diagnostic> {
        Address::parse(s.address.get_ref(), kind.serial_baud())
            .map(drop)
            .map_err(|e| {
                self.error(s.address.span(), e.to_string()).with_help(
                    "address = \"tcp://192.0.2.50:5025\" or \"serial:///dev/ttyUSB0?baud=9600\"",
                )
            })
    }

    fn supply_channels(&self, s: &SupplyRaw, kind: &SupplyKind) -> Result<Channels, Diagnostic> {
        let mut channels = Channels {
            limits: BTreeMap::new(),
            ocp_amps: BTreeMap::new(),
        };
        for (key, raw) in s.channels.get_ref() {
            let limits = ChannelLimits {
                max_volts: raw.max_volts,
                max_amps: raw.max_amps,
            };
            let channel = self.channel(s, kind, key, &limits)?;
            if let Some(amps) = self.ocp_amps(channel, raw, &limits)? {
                channels.ocp_amps.insert(channel, amps);
            }
            channels.limits.insert(channel, limits);
        }
        Ok(channels)
    }

    /// The channel a `channels` key names, if the instrument has it and its limits are positive.
    fn channel(
        &self,
        s: &SupplyRaw,
        kind: &SupplyKind,
        key: &str,
        limits: &ChannelLimits,
    ) -> Result<u8, Diagnostic> {
        let no_such_channel = || {
            self.error(
                s.channels.span(),
                format!(
                    "channel {key:?}: a {} has channels 1..={}",
                    kind.family(),
                    kind.max_channel()
                ),
            )
        };
        let channel = key.parse::<u8>().map_err(|_| no_such_channel())?;
        match limits.check_setup(channel, kind.family(), kind.max_channel()) {
            Ok(()) => Ok(channel),
            Err(ChannelError::NoSuchChannel { .. }) => Err(no_such_channel()),
            Err(_) => Err(self.error(
                s.channels.span(),
                format!("channel {channel}: max_volts and max_amps must be more than 0"),
            )),
        }
    }

    /// The channel's `ocp_amps`, which must be more than 0 and within its `max_amps`.
    fn ocp_amps(
        &self,
        channel: u8,
        raw: &ChannelRaw,
        limits: &ChannelLimits,
    ) -> Result<Option<f64>, Diagnostic> {
        let Some(trip) = &raw.ocp_amps else {
            return Ok(None);
        };
        let amps = *trip.get_ref();
        if amps > 0.0 && limits.check(channel, Setting::TripAmps, amps).is_ok() {
            return Ok(Some(amps));
        }
        Err(self
            .error(
                trip.span(),
                format!(
                    "channel {channel}: ocp_amps {amps} must be more than 0 and at most its max_amps {}",
                    limits.max_amps
                ),
            )
            .with_help(
                "the over-current protection trips within the channel's limit: ocp_amps = 0.8",
            ))
    }

    /// `safe_volts`, which every channel must take.
    fn safe_volts(
        &self,
        s: &SupplyRaw,
        channels: &BTreeMap<u8, ChannelLimits>,
    ) -> Result<(), Diagnostic> {
        let Some(safe) = &s.safe_volts else {
            return Ok(());
        };
        let volts = *safe.get_ref();
        if channels
            .iter()
            .all(|(&channel, limits)| limits.check(channel, Setting::Volts, volts).is_ok())
        {
            return Ok(());
        }
        Err(self.error(
            safe.span(),
            "safe_volts must be within every channel's max_volts",
        ))
    }
}
