//! What a reading's MQTT payload looks like, as a scenario's or a rig file's `[payload]` declares it: JSON (the
//! project's firmware; the keys can be renamed) or a bare number (volts, millivolts or ADC counts), as firmware
//! written on umqtt.simple sends. Reading a payload gives a `reading` event's fields, or an error saying why not.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::ops::Range;
use toml::Spanned;

/// How readings are sent. Recorded in `scenario.start`, so checks (and `hil check`) know what payloads can carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "lowercase")]
pub enum PayloadFormat {
    /// A JSON object; `fields` names its keys.
    Json { fields: JsonFields },
    /// The text of one number: no seq, late or low flag.
    Plain { unit: Unit },
}

impl Default for PayloadFormat {
    fn default() -> Self {
        PayloadFormat::Json {
            fields: JsonFields::default(),
        }
    }
}

/// The keys of a JSON payload's values (firmware/README.md's payload by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonFields {
    pub volts: String,
    pub seq: String,
    pub raw: String,
    pub late: String,
    pub low: String,
}

impl Default for JsonFields {
    fn default() -> Self {
        JsonFields {
            volts: "v".into(),
            seq: "seq".into(),
            raw: "raw".into(),
            late: "late".into(),
            low: "low".into(),
        }
    }
}

/// What a plain payload's number counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Volts,
    Millivolts,
    /// ESP8266 ADC counts (0..=1024), converted with the divider and full scale deployed to the board.
    Counts,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Volts => "volts",
            Unit::Millivolts => "millivolts",
            Unit::Counts => "counts",
        }
    }
}

impl PayloadFormat {
    /// For messages: `json`, `json (volts in "voltage", seq in "n")`, `plain volts`.
    pub fn describe(&self) -> String {
        match self {
            PayloadFormat::Plain { unit } => format!("plain {}", unit.name()),
            PayloadFormat::Json { fields } => {
                let default = JsonFields::default();
                let renamed: Vec<String> = fields
                    .pairs()
                    .into_iter()
                    .zip(default.pairs())
                    .filter(|((_, key), (_, usual))| key != usual)
                    .map(|((what, key), _)| format!("{what} in {key:?}"))
                    .collect();
                if renamed.is_empty() {
                    "json".into()
                } else {
                    format!("json ({})", renamed.join(", "))
                }
            }
        }
    }

    /// The key of the seq in a JSON payload; None: the format has no seq.
    pub fn seq_key(&self) -> Option<&str> {
        match self {
            PayloadFormat::Json { fields } => Some(&fields.seq),
            PayloadFormat::Plain { .. } => None,
        }
    }

    /// The key of the low-battery flag in a JSON payload; None: the format has none.
    pub fn low_key(&self) -> Option<&str> {
        match self {
            PayloadFormat::Json { fields } => Some(&fields.low),
            PayloadFormat::Plain { .. } => None,
        }
    }
}

impl JsonFields {
    fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            ("volts", &self.volts),
            ("seq", &self.seq),
            ("raw", &self.raw),
            ("late", &self.late),
            ("low", &self.low),
        ]
    }
}

/// The ADC calibration deployed to the boards (`adc` in their config.json), for payloads in counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adc {
    pub divider: f64,
    pub full_scale_volts: f64,
}

impl Default for Adc {
    /// The battery-monitor boards' divider (1/16.2, firmware/README.md's 0.0617) on the ESP8266's 1 V ADC.
    fn default() -> Adc {
        Adc {
            divider: 1.0 / 16.2,
            full_scale_volts: 1.0,
        }
    }
}

impl Adc {
    /// As the firmware converts: volts = counts × full_scale / (1023 × divider).
    fn volts(self, counts: f64) -> f64 {
        counts * self.full_scale_volts / (1023.0 * self.divider)
    }
}

/// What one payload reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingFields {
    pub v: f64,
    pub seq: Option<u64>,
    pub raw: Option<u64>,
    pub late: bool,
    pub low: Option<bool>,
}

/// The ESP8266's ADC reads 0..=1024 (1024 at and above full scale).
const MAX_COUNTS: f64 = 1024.0;

/// Reads a payload in `format`; the error says what in it does not fit, quoting it.
pub fn read(format: &PayloadFormat, adc: Adc, payload: &[u8]) -> Result<ReadingFields, String> {
    let text = std::str::from_utf8(payload)
        .map_err(|e| format!("not UTF-8 text ({e}); {}", expected(format)))?;
    match format {
        PayloadFormat::Plain { unit } => {
            let number = text.trim();
            let x = match number.parse::<f64>() {
                Ok(x) if x.is_finite() => x,
                _ => {
                    return Err(format!(
                        "{} is not a number; {}",
                        quote(text),
                        expected(format)
                    ))
                }
            };
            let (v, raw) = match unit {
                Unit::Volts => (x, None),
                Unit::Millivolts => (x / 1000.0, None),
                Unit::Counts if !(0.0..=MAX_COUNTS).contains(&x) => {
                    return Err(format!(
                        "{} is outside the ADC's 0..=1024 counts; {}",
                        quote(text),
                        expected(format)
                    ))
                }
                Unit::Counts => (
                    (adc.volts(x) * 1000.0).round() / 1000.0,
                    Some(x.round() as u64),
                ),
            };
            Ok(ReadingFields {
                v,
                seq: None,
                raw,
                late: false,
                low: None,
            })
        }
        PayloadFormat::Json { fields } => {
            let value: Value = serde_json::from_str(text)
                .map_err(|e| format!("{} is not JSON ({e}); {}", quote(text), expected(format)))?;
            let Some(object) = value.as_object() else {
                return Err(format!(
                    "{} is not a JSON object; {}",
                    quote(text),
                    expected(format)
                ));
            };
            let typed = |key: &str,
                         want: &str,
                         get: fn(&Value) -> bool|
             -> Result<Option<&Value>, String> {
                match object.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(v) if get(v) => Ok(Some(v)),
                    Some(v) => Err(format!(
                        "key {key:?} is {v}, not {want}; in {}",
                        quote(text)
                    )),
                }
            };
            let v = typed(&fields.volts, "a number", Value::is_number)?
                .and_then(Value::as_f64)
                .ok_or_else(|| {
                    format!(
                        "no key {:?} (the volts) in {}; {}",
                        fields.volts,
                        quote(text),
                        expected(format)
                    )
                })?;
            let whole = |key: &str| -> Result<Option<u64>, String> {
                Ok(typed(key, "a whole number ≥ 0", Value::is_u64)?.and_then(Value::as_u64))
            };
            let flag = |key: &str| -> Result<Option<bool>, String> {
                Ok(typed(key, "true or false", Value::is_boolean)?.and_then(Value::as_bool))
            };
            Ok(ReadingFields {
                v,
                seq: whole(&fields.seq)?,
                raw: whole(&fields.raw)?,
                late: flag(&fields.late)?.unwrap_or(false),
                low: flag(&fields.low)?,
            })
        }
    }
}

/// What a payload in `format` looks like, for errors.
fn expected(format: &PayloadFormat) -> String {
    let example = match format {
        PayloadFormat::Plain { unit: Unit::Volts } => "12.63".to_string(),
        PayloadFormat::Plain {
            unit: Unit::Millivolts,
        } => "12630".to_string(),
        PayloadFormat::Plain { unit: Unit::Counts } => "797".to_string(),
        PayloadFormat::Json { fields } => {
            format!("{{{:?}: 12.63, {:?}: 41}}", fields.volts, fields.seq)
        }
    };
    format!(
        "the payload format is {}, like {example}",
        format.describe()
    )
}

/// The payload as text in an error, cut short if long.
fn quote(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{:?}…", &text[..end]),
        None => format!("{text:?}"),
    }
}

/// `[payload]` as a scenario or rig file writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayloadSection {
    pub format: Option<Spanned<FormatName>>,
    pub unit: Option<Spanned<Unit>>,
    pub fields: Option<Spanned<FieldsSection>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormatName {
    Json,
    Plain,
}

/// `fields = { volts = "voltage", seq = "n" }`: the JSON keys that differ from the defaults.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsSection {
    pub volts: Option<Spanned<String>>,
    pub seq: Option<Spanned<String>>,
    pub raw: Option<Spanned<String>>,
    pub late: Option<Spanned<String>>,
    pub low: Option<Spanned<String>>,
}

/// Why a `[payload]` section is not valid: where, and what.
#[derive(Debug, PartialEq)]
struct SectionError {
    span: Range<usize>,
    message: String,
}

/// What would be valid, under every error.
const HELP: &str =
    "format = \"json\" (keys renamed with fields = { volts = \"voltage\", seq = \"n\" }), \
                    or format = \"plain\" with unit = \"volts\", \"millivolts\" or \"counts\"";

/// The format a file's `[payload]` declares, if it has one; errors point into the file (`path`, `source`).
pub fn declared(
    path: &std::path::Path,
    source: &str,
    section: Option<&Spanned<PayloadSection>>,
) -> Result<Option<PayloadFormat>, crate::diagnostic::Diagnostic> {
    section
        .map(|s| {
            validate(s.get_ref(), s.span()).map_err(|e| {
                crate::diagnostic::Diagnostic::new(path, source, Some(e.span), e.message)
                    .with_help(HELP)
            })
        })
        .transpose()
}

/// Validates `[payload]` (its span: `whole`).
fn validate(section: &PayloadSection, whole: Range<usize>) -> Result<PayloadFormat, SectionError> {
    let error = |span: Range<usize>, message: String| SectionError { span, message };
    let format = section
        .format
        .as_ref()
        .map_or(FormatName::Json, |f| *f.get_ref());
    match format {
        FormatName::Plain => {
            if let Some(fields) = &section.fields {
                return Err(error(
                    fields.span(),
                    "fields name the keys of a JSON payload; a plain payload is one number".into(),
                ));
            }
            let unit = section.unit.as_ref().ok_or_else(|| {
                error(
                    whole,
                    "a plain payload needs its unit: unit = \"volts\", \"millivolts\" or \"counts\"".into(),
                )
            })?;
            Ok(PayloadFormat::Plain {
                unit: *unit.get_ref(),
            })
        }
        FormatName::Json => {
            if let Some(unit) = &section.unit {
                return Err(error(
                    unit.span(),
                    "unit is for format = \"plain\"; a JSON payload's volts are volts".into(),
                ));
            }
            let mut fields = JsonFields::default();
            if let Some(given) = &section.fields {
                let g = given.get_ref();
                for (slot, key) in [
                    (&mut fields.volts, &g.volts),
                    (&mut fields.seq, &g.seq),
                    (&mut fields.raw, &g.raw),
                    (&mut fields.late, &g.late),
                    (&mut fields.low, &g.low),
                ] {
                    if let Some(key) = key {
                        if key.get_ref().is_empty() {
                            return Err(error(key.span(), "a key name cannot be empty".into()));
                        }
                        *slot = key.get_ref().clone();
                    }
                }
                let pairs = fields.pairs();
                for (i, (what, key)) in pairs.iter().enumerate() {
                    if let Some((first, _)) = pairs[..i].iter().find(|(_, k)| k == key) {
                        return Err(error(
                            given.span(),
                            format!("{what} and {first} both read key {key:?}: each value needs a key of its own"),
                        ));
                    }
                }
            }
            Ok(PayloadFormat::Json { fields })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADC: Adc = Adc {
        divider: 1.0 / 16.2,
        full_scale_volts: 1.0,
    };

    fn plain(unit: Unit) -> PayloadFormat {
        PayloadFormat::Plain { unit }
    }

    #[test]
    fn plain_numbers_in_each_unit() {
        let r = read(&plain(Unit::Volts), ADC, b"12.63\r\n").unwrap();
        assert_eq!(
            r,
            ReadingFields {
                v: 12.63,
                seq: None,
                raw: None,
                late: false,
                low: None
            }
        );
        assert_eq!(
            read(&plain(Unit::Millivolts), ADC, b"12630").unwrap().v,
            12.63
        );
        let r = read(&plain(Unit::Counts), ADC, b"797").unwrap();
        // 797 × 1.0 / (1023 / 16.2) = 12.6211…
        assert_eq!((r.v, r.raw), (12.621, Some(797)));
    }

    #[test]
    fn a_bad_plain_payload_is_quoted_with_the_format_it_should_have() {
        for bad in ["12,6", "12.6V", "", "nan", "inf", "{\"v\": 12.6}"] {
            let e = read(&plain(Unit::Volts), ADC, bad.as_bytes()).unwrap_err();
            assert!(
                e.contains(&format!("{bad:?} is not a number")),
                "{bad}: {e}"
            );
            assert!(
                e.contains("the payload format is plain volts, like 12.63"),
                "{e}"
            );
        }
        let e = read(&plain(Unit::Counts), ADC, b"2048").unwrap_err();
        assert!(
            e.contains("\"2048\" is outside the ADC's 0..=1024 counts"),
            "{e}"
        );
        let e = read(&plain(Unit::Volts), ADC, b"\xff\xfe").unwrap_err();
        assert!(e.starts_with("not UTF-8 text"), "{e}");
        let long = "x".repeat(200);
        let e = read(&plain(Unit::Volts), ADC, long.as_bytes()).unwrap_err();
        assert!(e.contains("x\"…"), "a long payload is cut short: {e}");
    }

    #[test]
    fn json_with_the_default_and_renamed_keys() {
        let r = read(
            &PayloadFormat::default(),
            ADC,
            br#"{"v": 12.63, "raw": 812, "seq": 41, "low": false, "late": true}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            ReadingFields {
                v: 12.63,
                seq: Some(41),
                raw: Some(812),
                late: true,
                low: Some(false)
            }
        );
        let renamed = PayloadFormat::Json {
            fields: JsonFields {
                volts: "voltage".into(),
                seq: "n".into(),
                ..JsonFields::default()
            },
        };
        let r = read(&renamed, ADC, br#"{"voltage": 12.5, "n": 3}"#).unwrap();
        assert_eq!((r.v, r.seq, r.raw, r.low), (12.5, Some(3), None, None));
        assert_eq!(
            renamed.describe(),
            "json (volts in \"voltage\", seq in \"n\")"
        );
        assert_eq!(PayloadFormat::default().describe(), "json");
    }

    #[test]
    fn a_bad_json_payload_names_the_key_or_the_syntax_error() {
        let json = PayloadFormat::default();
        let e = read(&json, ADC, br#"{"seq": 4}"#).unwrap_err();
        assert!(e.contains("no key \"v\" (the volts)"), "{e}");
        let e = read(&json, ADC, br#"{"v": 12.6, "seq": "4"}"#).unwrap_err();
        assert!(
            e.contains("key \"seq\" is \"4\", not a whole number"),
            "{e}"
        );
        let e = read(&json, ADC, br#"{"v": 12.6, "low": 1}"#).unwrap_err();
        assert!(e.contains("key \"low\" is 1, not true or false"), "{e}");
        let e = read(&json, ADC, b"{\"v\": 12.6").unwrap_err();
        assert!(
            e.contains("is not JSON (EOF while parsing an object at line 1 column 10)"),
            "{e}"
        );
        let e = read(&json, ADC, b"12.6").unwrap_err();
        assert!(
            e.contains("\"12.6\" is not a JSON object; the payload format is json"),
            "{e}"
        );
    }

    fn section(toml_text: &str) -> Result<PayloadFormat, SectionError> {
        #[derive(Deserialize)]
        struct File {
            payload: Spanned<PayloadSection>,
        }
        let file: File = toml::from_str(toml_text).unwrap();
        validate(file.payload.get_ref(), file.payload.span())
    }

    #[test]
    fn sections_validate_with_the_place_of_what_is_wrong() {
        assert_eq!(
            section("[payload]\nformat = \"plain\"\nunit = \"millivolts\"\n").unwrap(),
            plain(Unit::Millivolts)
        );
        assert_eq!(section("[payload]\n").unwrap(), PayloadFormat::default());
        let src = "[payload]\nformat = \"plain\"\n";
        let e = section(src).unwrap_err();
        assert!(e.message.contains("needs its unit"), "{e:?}");
        let src = "[payload]\nunit = \"volts\"\n";
        let e = section(src).unwrap_err();
        assert_eq!(&src[e.span.clone()], "\"volts\"");
        let src = "[payload]\nformat = \"plain\"\nunit = \"volts\"\nfields = { volts = \"x\" }\n";
        let e = section(src).unwrap_err();
        assert_eq!(&src[e.span.clone()], "{ volts = \"x\" }");
        let src = "[payload]\nfields = { volts = \"\" }\n";
        let e = section(src).unwrap_err();
        assert_eq!(
            (&src[e.span.clone()], e.message.as_str()),
            ("\"\"", "a key name cannot be empty")
        );
        let src = "[payload]\nfields = { volts = \"seq\" }\n";
        let e = section(src).unwrap_err();
        assert!(
            e.message.contains("seq and volts both read key \"seq\""),
            "{e:?}"
        );
    }
}
