//! The rig's supplies, checked: each answers `*IDN?` as the model the rig file names, takes its channels'
//! limits and over-current protection, and a channel switched on at a safe voltage reads that voltage back. The
//! channels stay on for the board checks (boards answer only when powered); `hil doctor` makes them safe after.

use super::finding::{Checkup, Finding};
use crate::exec::{BenchChannel, RigDrivers};
use crate::rigfile::{RigFile, SupplyEntry};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Volts a channel is checked at: a resting lead-acid battery, what the boards run from (within the channel's
/// `max_volts`; a rig's `safe_volts` instead where it gives one).
const CHECK_VOLTS: f64 = 12.0;
/// The current limit it is checked with (within the channel's `max_amps`): a few boards' worth.
const CHECK_AMPS: f64 = 0.5;
/// How far a read-back may be from the setting: 2 % and 0.1 V, a bench supply's accuracy and a board's load.
const READBACK_SHARE: f64 = 0.02;
const READBACK_VOLTS: f64 = 0.1;
/// Time for the output to settle before it is read back.
const SETTLE: Duration = Duration::from_millis(500);
/// Bound on each instrument call, over the drivers' own bounds.
const CALL_LIMIT: Duration = Duration::from_secs(15);

/// Channels switched on by the checks, to be made safe when `hil doctor` ends however it ends.
pub type Powered = Arc<Mutex<Vec<BenchChannel>>>;

/// Whether an instrument's identity names the rig file's `model`: its series (the letters and first digit of
/// the model after its maker, `DP8` for `rigol-dp832`, `KA3` for `korad-ka3005p`) appears in it. `generic`
/// names any instrument.
pub fn identity_names_model(model: &str, identity: &str) -> bool {
    let model = model.to_ascii_uppercase();
    if model == "GENERIC" {
        return true;
    }
    let after_maker = model.split_once('-').map_or(model.as_str(), |(_, m)| m);
    let letters = after_maker
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(after_maker.len());
    let series = &after_maker[..(letters + 1).min(after_maker.len())];
    !series.is_empty() && identity.to_ascii_uppercase().contains(series)
}

/// Checks every supply of the rig; the channels of those that pass are left on in `powered`. Returns the names
/// of the supplies that passed.
pub async fn check_supplies(
    rig: &RigFile,
    powered: &Powered,
    checkup: &mut Checkup,
) -> Vec<String> {
    let mut passed = Vec::new();
    for entry in rig.supplies.values() {
        if check_supply(entry, powered, checkup).await {
            passed.push(entry.name.clone());
        }
    }
    passed
}

async fn bounded<T, E: std::fmt::Display>(
    call: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(CALL_LIMIT, call).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err(format!("no answer within {CALL_LIMIT:?}")),
    }
}

async fn check_supply(entry: &SupplyEntry, powered: &Powered, checkup: &mut Checkup) -> bool {
    let part = format!("supply {}", entry.name);
    let section = format!("[supply.{}]", entry.name);
    let mut drivers = RigDrivers::default();
    let mut channels = Vec::new();
    for &channel in entry.channels.keys() {
        match drivers.channel(entry, channel) {
            Ok(c) => channels.push(c),
            Err(e) => {
                checkup.say(Finding::wrong(
                    &part,
                    e,
                    format!("check {section} in the rig file"),
                ));
                return false;
            }
        }
    }
    let Some(first) = channels.first() else {
        checkup.say(Finding::wrong(
            &part,
            "no channels",
            format!("give {section} its channels"),
        ));
        return false;
    };
    let identity = match bounded(first.supply.identify()).await {
        Ok(identity) => identity,
        Err(e) => {
            checkup.say(Finding::wrong(
                &part,
                format_args!("no identity from {}: {e}", entry.address),
                format!(
                    "is it switched on and connected at {}? check {section} address and its cable",
                    entry.address
                ),
            ));
            return false;
        }
    };
    let model = entry.kind.model();
    if !identity_names_model(model, &identity) {
        // Another instrument speaks other commands: nothing more is sent to it.
        checkup.say(Finding::wrong(
            &part,
            format_args!(
                "*IDN? says {identity:?}, not a {model} as the rig file says (nothing else was sent to it)"
            ),
            format!(
                "set {section} model to the instrument's (driver {}), or connect the {model} at {}",
                entry.kind.driver(),
                entry.address
            ),
        ));
        return false;
    }
    checkup.say(Finding::ok(
        &part,
        format!("*IDN? says {identity:?}, a {model}"),
    ));
    let mut all_ok = true;
    for channel in channels {
        all_ok &= check_channel(entry, channel, powered, checkup).await;
    }
    all_ok
}

/// Sets a channel's limits and protection, switches it on at a safe voltage and reads it back; it stays on.
async fn check_channel(
    entry: &SupplyEntry,
    channel: BenchChannel,
    powered: &Powered,
    checkup: &mut Checkup,
) -> bool {
    let part = format!("supply {}", channel.label());
    let limits = entry.channels[&channel.channel];
    let volts = entry
        .safe_volts
        .unwrap_or(CHECK_VOLTS)
        .min(limits.max_volts);
    let amps = CHECK_AMPS.min(limits.max_amps);
    let section = format!("[supply.{}] channels.{}", entry.name, channel.channel);
    if let Err(e) = bounded(channel.set_output(false, None)).await {
        checkup.say(Finding::wrong(
            &part,
            format_args!("switching it off: {e}"),
            format!("check {section}"),
        ));
        return false;
    }
    if let Err(e) = bounded(channel.prepare(amps, volts, None)).await {
        checkup.say(Finding::wrong(
            &part,
            format_args!("setting {volts} V, {amps} A and its over-current protection: {e}"),
            format!("check {section} against the instrument's range, and its ocp_amps"),
        ));
        return false;
    }
    powered
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(channel.clone());
    if let Err(e) = bounded(channel.set_output(true, None)).await {
        checkup.say(Finding::wrong(
            &part,
            format_args!("switching it on: {e}"),
            format!("check {section}"),
        ));
        return false;
    }
    tokio::time::sleep(SETTLE).await;
    let read = match bounded(channel.supply.measure_volts(channel.channel)).await {
        Ok(read) => read,
        Err(e) => {
            checkup.say(Finding::wrong(
                &part,
                format_args!("reading it back: {e}"),
                format!("check {section}"),
            ));
            return false;
        }
    };
    let protection = match channel.supply.over_current() {
        Some(_) => format!("over-current protection armed at {} A", channel.trip_amps),
        None => {
            "no over-current protection on this instrument: its current limit bounds the boards"
                .into()
        }
    };
    if (read - volts).abs() > volts * READBACK_SHARE + READBACK_VOLTS {
        checkup.say(Finding::wrong(
            &part,
            format_args!("set to {volts} V ({amps} A limit) it reads back {read:.3} V"),
            format!(
                "is channel {} the one wired to its boards, with no short or overload on it? check {section}",
                channel.channel
            ),
        ));
        return false;
    }
    checkup.say(Finding::ok(
        &part,
        format!("limits set ({amps} A, within {} V / {} A), {protection}; on at {volts} V reads back {read:.3} V", limits.max_volts, limits.max_amps),
    ));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_names_a_model_by_its_series() {
        assert!(identity_names_model(
            "rigol-dp832",
            "RIGOL TECHNOLOGIES,DP832,DP8C1,00.01"
        ));
        assert!(identity_names_model(
            "rigol-dp832",
            "HIL-TWIN,DP800-TWIN,0,0.1.0"
        ));
        assert!(identity_names_model(
            "korad-ka3005p",
            "KORAD KA3005P V5.8 SN:1"
        ));
        assert!(identity_names_model(
            "siglent-spd3303x",
            "Siglent Technologies,SPD3303X-E,SPD3X"
        ));
        assert!(identity_names_model("generic", "ACME,PSU-9"));
        assert!(!identity_names_model(
            "siglent-spd3303x",
            "HIL-TWIN,DP800-TWIN,0,0.1.0"
        ));
        assert!(!identity_names_model("rigol-dp832", "KORAD KA3005P V5.8"));
        assert!(!identity_names_model(
            "keysight-e36312a",
            "RIGOL TECHNOLOGIES,DP832"
        ));
    }
}
