//! What each supply model calls the same operations (each model's programming manual), and how to read its replies.
//! Pure text in and out, so every dialect is tested without an instrument.

use std::time::Duration;

/// The SCPI dialect of one supply model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Rigol DP800 (DP832 …): `:SOUR1:VOLT 12.6`, `:OUTP CH1,ON`, `:MEAS:VOLT? CH1`.
    RigolDp800,
    /// Siglent SPD3303X/SPD3000X: `CH1:VOLT 12.6`, `OUTP CH1,ON`; drops the connection when commands come fast.
    SiglentSpd3000x,
    /// Keysight E36300 (E36312A …): channel lists, `VOLT 12.6,(@2)`.
    KeysightE36300,
    /// R&S HMC804x: select the channel with `INST:NSEL n`, then plain commands; output needs the master switch too.
    RohdeHmc804x,
    /// A single-output IEEE 488.2 / SCPI supply: `VOLT 12.6`, `OUTP ON`, `MEAS:VOLT?`.
    Generic,
}

/// The models a rig file may give, as a "valid: …" list shows them.
pub const MODELS: &str = "rigol-dp8xx, siglent-spd3xxx, keysight-e363xx, rs-hmc804x, generic";

impl Dialect {
    /// The dialect for a rig file's `model` (`rigol-dp832`, `siglent-spd3303x`, `keysight-e36312a`, `rs-hmc8043`,
    /// `generic`), case-insensitive.
    pub fn for_model(model: &str) -> Option<Dialect> {
        let model = model.to_ascii_lowercase();
        let families = [
            ("rigol-dp8", Dialect::RigolDp800),
            ("siglent-spd3", Dialect::SiglentSpd3000x),
            ("keysight-e363", Dialect::KeysightE36300),
            ("rs-hmc804", Dialect::RohdeHmc804x),
            ("rohde-schwarz-hmc804", Dialect::RohdeHmc804x),
            ("generic", Dialect::Generic),
        ];
        families
            .iter()
            .find(|(prefix, _)| model.starts_with(prefix))
            .map(|(_, dialect)| *dialect)
    }

    /// The highest channel number the family has (the generic dialect addresses its one output only).
    pub fn max_channel(self) -> u8 {
        match self {
            Dialect::RigolDp800 | Dialect::KeysightE36300 | Dialect::RohdeHmc804x => 3,
            Dialect::SiglentSpd3000x => 2,
            Dialect::Generic => 1,
        }
    }

    /// The family's over-current protection; `None` for those without (Siglent SPD3303X, a generic single
    /// output).
    pub fn protection(self) -> Option<Protection> {
        match self {
            Dialect::RigolDp800 => Some(Protection::RigolDp800),
            Dialect::KeysightE36300 => Some(Protection::KeysightE36300),
            Dialect::RohdeHmc804x => Some(Protection::RohdeHmc804x),
            Dialect::SiglentSpd3000x | Dialect::Generic => None,
        }
    }

    /// The least time between two commands sent to the instrument.
    pub fn pacing(self) -> Duration {
        match self {
            Dialect::SiglentSpd3000x => Duration::from_millis(100),
            _ => Duration::ZERO,
        }
    }

    pub fn set_volts(self, channel: u8, volts: f64) -> Vec<String> {
        self.set("VOLT", channel, volts)
    }

    pub fn set_current_limit(self, channel: u8, amps: f64) -> Vec<String> {
        self.set("CURR", channel, amps)
    }

    fn set(self, what: &str, ch: u8, value: f64) -> Vec<String> {
        let value = number(value);
        match self {
            Dialect::RigolDp800 => vec![format!(":SOUR{ch}:{what} {value}")],
            Dialect::SiglentSpd3000x => vec![format!("CH{ch}:{what} {value}")],
            Dialect::KeysightE36300 => vec![format!("{what} {value},(@{ch})")],
            Dialect::RohdeHmc804x => vec![format!("INST:NSEL {ch}"), format!("{what} {value}")],
            Dialect::Generic => vec![format!("{what} {value}")],
        }
    }

    pub fn set_output(self, ch: u8, on: bool) -> Vec<String> {
        let state = if on { "ON" } else { "OFF" };
        match self {
            Dialect::RigolDp800 => vec![format!(":OUTP CH{ch},{state}")],
            Dialect::SiglentSpd3000x => vec![format!("OUTP CH{ch},{state}")],
            Dialect::KeysightE36300 => vec![format!("OUTP {state},(@{ch})")],
            // The master switch gates every channel: switched on with ours, but left alone when ours goes off.
            Dialect::RohdeHmc804x if on => vec![
                format!("INST:NSEL {ch}"),
                "OUTP:CHAN ON".into(),
                "OUTP:MAST ON".into(),
            ],
            Dialect::RohdeHmc804x => vec![format!("INST:NSEL {ch}"), "OUTP:CHAN OFF".into()],
            Dialect::Generic => vec![format!("OUTP {state}")],
        }
    }

    pub fn measure_volts(self, channel: u8) -> Vec<String> {
        self.measure("VOLT", channel)
    }

    pub fn measure_amps(self, channel: u8) -> Vec<String> {
        self.measure("CURR", channel)
    }

    fn measure(self, what: &str, ch: u8) -> Vec<String> {
        match self {
            Dialect::RigolDp800 => vec![format!(":MEAS:{what}? CH{ch}")],
            Dialect::SiglentSpd3000x => vec![format!("MEAS:{what}? CH{ch}")],
            Dialect::KeysightE36300 => vec![format!("MEAS:{what}? (@{ch})")],
            Dialect::RohdeHmc804x => vec![format!("INST:NSEL {ch}"), format!("MEAS:{what}?")],
            Dialect::Generic => vec![format!("MEAS:{what}?")],
        }
    }
}

/// The over-current protection of a family that has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// DP800 programming guide: `:OUTPut:OCP:CLEar`, `:OUTPut:OCP:VALue`, `:OUTPut:OCP[:STATe]`.
    RigolDp800,
    /// E36300: no level of its own; with protection on, going into current limit switches the output off.
    KeysightE36300,
    /// HMC804x electronic fuse: the channel switches off when it reaches its current limit.
    RohdeHmc804x,
}

impl Protection {
    /// Commands arming the channel's protection at `trip_amps`, or disarming it (`None`). Arming first clears a
    /// trip left from before where the family has a command for it, so that a run does not start tripped.
    pub fn set_trip(self, ch: u8, trip_amps: Option<f64>) -> Vec<String> {
        match (self, trip_amps) {
            (Protection::RigolDp800, Some(amps)) => vec![
                format!(":OUTP:OCP:CLEAR CH{ch}"),
                format!(":OUTP:OCP:VAL CH{ch},{}", number(amps)),
                format!(":OUTP:OCP CH{ch},ON"),
            ],
            (Protection::RigolDp800, None) => vec![format!(":OUTP:OCP CH{ch},OFF")],
            (Protection::KeysightE36300, Some(_)) => vec![
                format!("OUTP:PROT:CLE (@{ch})"),
                format!("CURR:PROT:STAT ON,(@{ch})"),
            ],
            (Protection::KeysightE36300, None) => vec![format!("CURR:PROT:STAT OFF,(@{ch})")],
            (Protection::RohdeHmc804x, armed) => vec![
                format!("INST:NSEL {ch}"),
                format!("FUSE {}", if armed.is_some() { "ON" } else { "OFF" }),
            ],
        }
    }

    /// Whether the protection trips at a level of its own; if not, at the channel's current limit.
    pub fn trips_at_level(self) -> bool {
        self == Protection::RigolDp800
    }

    /// The query whose reply ([`parse_flag`]) says whether the channel's protection tripped.
    pub fn tripped(self, ch: u8) -> Vec<String> {
        match self {
            Protection::RigolDp800 => vec![format!(":OUTP:OCP:QUES? CH{ch}")],
            Protection::KeysightE36300 => vec![format!("CURR:PROT:TRIP? (@{ch})")],
            Protection::RohdeHmc804x => vec![format!("INST:NSEL {ch}"), "FUSE:TRIP?".into()],
        }
    }
}

/// The IEEE 488.2 identification query, common to every dialect.
pub const IDENTIFY: &str = "*IDN?";
/// The SCPI error-queue query, common to every dialect.
pub const NEXT_ERROR: &str = "SYST:ERR?";

/// Whether a command line asks for a reply: its header (up to the first space) ends with `?`.
pub fn is_query(line: &str) -> bool {
    line.split_whitespace()
        .next()
        .is_some_and(|header| header.ends_with('?'))
}

/// A setting as an instrument takes it: at most four decimals (0.1 mV, 0.1 mA), no trailing zeros.
pub fn number(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// A measurement reply (`12.600`, `+1.26000000E+01`); anything else, including NaN and infinities, is `None`.
pub fn parse_number(reply: &str) -> Option<f64> {
    let text = reply.trim();
    // Rust's float parser accepts "inf" and "nan" spelled out; no instrument sends them as readings.
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '.')) {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A yes-or-no reply: `YES`/`NO` (DP800), `1`/`0` (E36300, HMC804x, newer Rigol firmware), `ON`/`OFF`.
pub fn parse_flag(reply: &str) -> Option<bool> {
    match reply.trim().to_ascii_uppercase().as_str() {
        "1" | "+1" | "YES" | "ON" => Some(true),
        "0" | "+0" | "NO" | "OFF" => Some(false),
        _ => None,
    }
}

/// A `SYST:ERR?` reply (`-113,"Undefined header"`, `+0,"No error"`, Siglent's `0  No Error`) as code and message.
pub fn parse_error(reply: &str) -> Option<(i32, String)> {
    let text = reply.trim();
    let end = text
        .find(|c: char| c == ',' || c.is_whitespace())
        .unwrap_or(text.len());
    let code = text[..end].parse::<i32>().ok()?;
    let message = text[end..]
        .trim_start_matches(',')
        .trim()
        .trim_matches('"')
        .to_string();
    Some((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rigol_commands_match_the_programming_guide() {
        let d = Dialect::RigolDp800;
        assert_eq!(d.set_volts(1, 12.6), [":SOUR1:VOLT 12.6"]);
        assert_eq!(d.set_current_limit(1, 0.5), [":SOUR1:CURR 0.5"]);
        assert_eq!(d.set_output(1, true), [":OUTP CH1,ON"]);
        assert_eq!(d.set_output(2, false), [":OUTP CH2,OFF"]);
        assert_eq!(d.measure_volts(1), [":MEAS:VOLT? CH1"]);
        assert_eq!(d.measure_amps(3), [":MEAS:CURR? CH3"]);
    }

    #[test]
    fn other_dialects_address_channels_their_own_way() {
        let s = Dialect::SiglentSpd3000x;
        assert_eq!(s.set_volts(1, 12.6), ["CH1:VOLT 12.6"]);
        assert_eq!(s.set_output(1, true), ["OUTP CH1,ON"]);
        assert_eq!(s.measure_amps(2), ["MEAS:CURR? CH2"]);
        assert!(s.pacing() > Duration::ZERO);

        let k = Dialect::KeysightE36300;
        assert_eq!(k.set_volts(2, 12.6), ["VOLT 12.6,(@2)"]);
        assert_eq!(k.set_current_limit(2, 0.5), ["CURR 0.5,(@2)"]);
        assert_eq!(k.set_output(2, true), ["OUTP ON,(@2)"]);
        assert_eq!(k.measure_volts(2), ["MEAS:VOLT? (@2)"]);

        let r = Dialect::RohdeHmc804x;
        assert_eq!(r.set_volts(1, 12.6), ["INST:NSEL 1", "VOLT 12.6"]);
        assert_eq!(
            r.set_output(1, true),
            ["INST:NSEL 1", "OUTP:CHAN ON", "OUTP:MAST ON"]
        );
        assert_eq!(r.set_output(1, false), ["INST:NSEL 1", "OUTP:CHAN OFF"]);
        assert_eq!(r.measure_volts(3), ["INST:NSEL 3", "MEAS:VOLT?"]);

        let g = Dialect::Generic;
        assert_eq!(g.set_volts(1, 13.8), ["VOLT 13.8"]);
        assert_eq!(g.set_output(1, false), ["OUTP OFF"]);
        assert_eq!(g.measure_amps(1), ["MEAS:CURR?"]);
        assert_eq!(g.max_channel(), 1);
    }

    #[test]
    fn over_current_protection_per_family() {
        let r = Dialect::RigolDp800.protection().unwrap();
        assert_eq!(
            r.set_trip(2, Some(0.75)),
            [
                ":OUTP:OCP:CLEAR CH2",
                ":OUTP:OCP:VAL CH2,0.75",
                ":OUTP:OCP CH2,ON"
            ]
        );
        assert_eq!(r.set_trip(1, None), [":OUTP:OCP CH1,OFF"]);
        assert_eq!(r.tripped(3), [":OUTP:OCP:QUES? CH3"]);
        assert!(r.trips_at_level());

        let k = Dialect::KeysightE36300.protection().unwrap();
        assert_eq!(
            k.set_trip(2, Some(0.5)),
            ["OUTP:PROT:CLE (@2)", "CURR:PROT:STAT ON,(@2)"]
        );
        assert_eq!(k.tripped(2), ["CURR:PROT:TRIP? (@2)"]);
        assert!(!k.trips_at_level());

        let h = Dialect::RohdeHmc804x.protection().unwrap();
        assert_eq!(h.set_trip(3, Some(1.0)), ["INST:NSEL 3", "FUSE ON"]);
        assert_eq!(h.set_trip(3, None), ["INST:NSEL 3", "FUSE OFF"]);
        assert_eq!(h.tripped(1), ["INST:NSEL 1", "FUSE:TRIP?"]);

        for none in [Dialect::SiglentSpd3000x, Dialect::Generic] {
            assert_eq!(none.protection(), None);
        }
    }

    #[test]
    fn flags_parse_in_every_family_s_words() {
        for yes in ["YES", "1", "+1", "on\r"] {
            assert_eq!(parse_flag(yes), Some(true), "{yes:?}");
        }
        for no in ["NO", "0", " +0 ", "OFF"] {
            assert_eq!(parse_flag(no), Some(false), "{no:?}");
        }
        for garbage in ["", "2", "maybe", "YES,NO"] {
            assert_eq!(parse_flag(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn models_map_to_dialects() {
        assert_eq!(Dialect::for_model("rigol-dp832"), Some(Dialect::RigolDp800));
        assert_eq!(
            Dialect::for_model("Siglent-SPD3303X"),
            Some(Dialect::SiglentSpd3000x)
        );
        assert_eq!(
            Dialect::for_model("keysight-e36312a"),
            Some(Dialect::KeysightE36300)
        );
        assert_eq!(
            Dialect::for_model("rs-hmc8043"),
            Some(Dialect::RohdeHmc804x)
        );
        assert_eq!(Dialect::for_model("generic"), Some(Dialect::Generic));
        assert_eq!(Dialect::for_model("korad-ka3005p"), None);
    }

    #[test]
    fn numbers_are_short_and_exact_to_a_tenth_of_a_milli() {
        assert_eq!(number(12.6), "12.6");
        assert_eq!(number(12.0), "12");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(11.9004), "11.9004");
        assert_eq!(number(0.00001), "0");
        assert_eq!(number(13.600000000000001), "13.6");
    }

    #[test]
    fn replies_parse_or_are_refused() {
        assert_eq!(parse_number("12.600\r"), Some(12.6));
        assert_eq!(parse_number("+1.26000000E+01"), Some(12.6));
        assert_eq!(parse_number(" 0.0250 "), Some(0.025));
        for garbage in ["", "abc", "12.6V", "nan", "inf", "-inf", "1,2", "\u{fffd}"] {
            assert_eq!(parse_number(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn error_replies_parse_in_every_dialect_s_shape() {
        assert_eq!(parse_error("0,\"No error\""), Some((0, "No error".into())));
        assert_eq!(
            parse_error("-113,\"Undefined header\"\r"),
            Some((-113, "Undefined header".into()))
        );
        assert_eq!(parse_error("+0,\"No error\""), Some((0, "No error".into())));
        assert_eq!(parse_error("0  No Error"), Some((0, "No Error".into())));
        assert_eq!(parse_error("0"), Some((0, String::new())));
        assert_eq!(parse_error("No error"), None);
        assert_eq!(parse_error(""), None);
    }

    #[test]
    fn queries_are_told_by_their_header() {
        assert!(is_query(":MEAS:VOLT? CH1"));
        assert!(is_query("*IDN?"));
        assert!(!is_query("INST:NSEL 1"));
        assert!(!is_query(":SOUR1:VOLT 12.6"));
    }
}
