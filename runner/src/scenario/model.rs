//! The scenario file format (DESIGN §3) as written by a user. Unknown keys are errors.

use super::duration::Dur;
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub boards: Option<Spanned<u32>>,
    pub duration: Spanned<Dur>,
    #[serde(default)]
    pub firmware: FirmwareOverrides,
    pub supply: SupplySection,
    #[serde(default)]
    pub expect: Expect,
    #[serde(default)]
    pub fault: Vec<Spanned<FaultEntry>>,
}

/// `[[fault]]`: something goes wrong from `at` for `for`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultEntry {
    pub at: Dur,
    #[serde(rename = "for")]
    pub lasts: Dur,
    pub kind: Spanned<String>,
    /// CONNACK code for `refuse-connect`.
    pub rc: Option<u8>,
    /// Added latency per packet for `delay`.
    pub ms: Option<u64>,
}

/// Per-scenario app config, merged over the rig's defaults.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareOverrides {
    pub sleep: Option<Spanned<Dur>>,
    pub keepalive: Option<Spanned<Dur>>,
    pub low_battery_volts: Option<f64>,
    pub samples: Option<Spanned<u32>>,
    pub qos: Option<Spanned<u8>>,
    /// Deploys deliberately bad broker credentials, to reproduce "not authorized" in the field.
    pub credentials: Option<Credentials>,
    /// Sends keepalive 0 as umqtt.simple did: only for reproducing that field bug.
    pub legacy_keepalive_zero: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credentials {
    Valid,
    WrongPassword,
    None,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplySection {
    pub current_limit: Option<Spanned<f64>>,
    pub profile: Spanned<Vec<Spanned<ProfileStep>>>,
}

/// One step of the voltage profile: either `volts` at `at`, or a ramp from the value at `at` to `ramp_to`
/// over `over`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileStep {
    pub at: Dur,
    pub volts: Option<f64>,
    pub ramp_to: Option<f64>,
    pub over: Option<Dur>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub readings: Option<ReadingsExpect>,
    pub period: Option<PeriodExpect>,
    pub connack: Option<Spanned<u8>>,
    pub keepalive_nonzero: Option<bool>,
    pub clean_disconnect: Option<bool>,
    pub silence_during_faults: Option<bool>,
    pub no_lost_readings: Option<bool>,
    pub awake: Option<AwakeExpect>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwakeExpect {
    pub max: Dur,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadingsExpect {
    pub within_volts: Spanned<f64>,
    #[serde(default)]
    pub min_count: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeriodExpect {
    pub nominal: Dur,
    pub tolerance: Spanned<String>,
}
