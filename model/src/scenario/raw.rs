//! The scenario file format (README.md, "Scenario files") as written by a user. Unknown keys are errors.

use super::duration::Dur;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::fmt;
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
    /// What the run needs beyond the default bench, e.g. `["mosquitto"]` for real CONNACK refusal codes.
    #[serde(default)]
    pub requires: Vec<Spanned<String>>,
    #[serde(default)]
    pub firmware: FirmwareOverrides,
    /// How the firmware's payloads look (default: the rig file's, else the project firmware's JSON).
    pub payload: Option<Spanned<crate::payload::PayloadSection>>,
    pub supply: Spanned<SupplySection>,
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
    /// The app folder to deploy instead of `--firmware`'s, relative to the scenario file.
    pub app: Option<Spanned<String>>,
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

/// `[supply]`: one channel feeding every board, or the defaults of the `[[supply.channel]]` entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupplySection {
    pub current_limit: Option<Spanned<f64>>,
    pub profile: Option<Spanned<ProfileField>>,
    pub ripple: Option<Spanned<RippleSpec>>,
    #[serde(default)]
    pub channel: Vec<Spanned<ChannelSection>>,
}

/// `[[supply.channel]]`: a channel of its own for the next `boards` boards (in order); what it leaves out comes
/// from `[supply]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSection {
    pub boards: Spanned<u32>,
    pub current_limit: Option<Spanned<f64>>,
    pub profile: Option<Spanned<ProfileField>>,
    pub ripple: Option<Spanned<RippleSpec>>,
}

/// `profile` is either a list of steps or a field trace to replay.
#[derive(Debug)]
pub enum ProfileField {
    Steps(Vec<Spanned<ProfileStep>>),
    Csv(CsvProfile),
}

/// `profile = { csv = "traces/x.csv", speedup = 60 }`: columns time_s,volts; the path is relative to the
/// scenario file; trace time runs `speedup` times faster in device time.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvProfile {
    pub csv: Spanned<String>,
    pub speedup: Option<Spanned<f64>>,
}

impl<'de> Deserialize<'de> for ProfileField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = ProfileField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a list of steps like [{ at = \"0s\", volts = 12.6 }] or a trace like \
                     { csv = \"traces/site.csv\", speedup = 60 }",
                )
            }
            // Each form goes back through toml's own deserializer, so the steps keep their spans.
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<ProfileField, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq))
                    .map(ProfileField::Steps)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ProfileField, A::Error> {
                CsvProfile::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ProfileField::Csv)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `ripple = { volts = 0.1, every = "1s" }`: the output steps alternately `volts` above and below the
/// profile every `every`, as a charger's ripple or a noisy supply would.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RippleSpec {
    pub volts: f64,
    pub every: Dur,
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
    pub low_battery: Option<LowBatteryExpect>,
    pub reset: Option<ResetExpect>,
    pub sleep_drift: Option<SleepDriftExpect>,
    pub heap: Option<HeapExpect>,
    pub console: Option<Spanned<ConsoleExpect>>,
    /// False: the boards are to publish nothing (every CONNECT refused, a config the firmware rejects).
    pub publishes: Option<bool>,
    /// True: readings are to be published with the retain flag.
    pub retain: Option<bool>,
    /// `baseline_margin = { awake = 0.3 }`: how far (a fraction of the baseline's value) each metric family may
    /// move for worse against `hil run --baseline`'s report.
    pub baseline_margin: Option<std::collections::BTreeMap<Spanned<String>, Spanned<f64>>>,
}

/// `console = { contains = "MQTTException: 2", not_contains = ["MemoryError"] }`: texts some console line must
/// show, and texts none may show; each a string or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleExpect {
    pub contains: Option<Spanned<Texts>>,
    pub not_contains: Option<Spanned<Texts>>,
}

/// One text, or a list of them.
#[derive(Debug, Clone)]
pub struct Texts(pub Vec<String>);

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Texts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a text like \"MQTTException: 2\" or a list of them")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Texts, E> {
                Ok(Texts(vec![text.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Texts, A::Error> {
                Vec::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Texts)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// `heap = { min_free = "4KB" }`: every wake leaves at least this much of the chip's heap free.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeapExpect {
    pub min_free: Spanned<String>,
}

/// `low_battery = { below_volts = 11.8 }`: readings below carry `low: true`, the others `low: false`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LowBatteryExpect {
    pub below_volts: Spanned<f64>,
}

/// `reset = { after_power_loss = "power-on" }`: the first wake after the supply fell below `below_volts`
/// (default: the buck converter's 4.5 V minimum) or was switched off reports this reset and seq 0.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetExpect {
    pub after_power_loss: Spanned<String>,
    pub below_volts: Option<Spanned<f64>>,
}

/// `sleep_drift = { max = "3%" }`: each deep sleep lasts its requested time within this fraction.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SleepDriftExpect {
    pub max: Spanned<String>,
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
