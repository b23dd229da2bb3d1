//! Durations as scenario files write them: "60s", "2m", "1h30m", "500ms", "1.5s".

use serde::de::{self, Deserialize, Deserializer};
use std::fmt;

/// A non-negative span of device time, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Dur(pub f64);

impl Dur {
    pub fn secs(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0)
    }
}

const HELP: &str = "a duration like \"60s\", \"2m\", \"1h30m\" or \"500ms\"";

/// Why a text is not a duration; each message quotes the text and says what would be valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DurationError {
    #[error("negative time {0:?}: times count forward from the scenario's start")]
    Negative(String),
    #[error("empty duration: expected {HELP}")]
    Empty,
    #[error("{0:?} has no unit: expected {HELP}")]
    NoUnit(String),
    #[error("{0:?} is not a duration: expected {HELP}")]
    NotANumber(String),
    #[error("unknown unit {unit:?} in {text:?}: use ms, s, m or h ({HELP})")]
    UnknownUnit { unit: String, text: String },
    #[error("{text:?} has {unit:?} again or after a smaller unit: write each unit once, largest first ({HELP})")]
    UnitOrder { unit: String, text: String },
}

pub fn parse_duration(text: &str) -> Result<Dur, DurationError> {
    let s = text.trim();
    if s.starts_with('-') {
        return Err(DurationError::Negative(text.into()));
    }
    if s.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total = 0.0;
    // Each unit once, largest first: "6h6h" or "30s1m" is a typo more likely than a sum.
    let mut last_scale = f64::INFINITY;
    let mut rest = s;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| DurationError::NoUnit(text.into()))?;
        let (number, tail) = rest.split_at(number_len);
        let value: f64 = number
            .parse()
            .map_err(|_| DurationError::NotANumber(text.into()))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => {
                return Err(DurationError::UnknownUnit {
                    unit: other.into(),
                    text: text.into(),
                })
            }
        };
        if scale >= last_scale {
            return Err(DurationError::UnitOrder {
                unit: unit.into(),
                text: text.into(),
            });
        }
        last_scale = scale;
        total += value * scale;
        rest = next;
    }
    Ok(Dur(total))
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(HELP)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a bare number {v} has no unit: write it as a string with a unit, like \"{v}s\""
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "a bare number {v} has no unit: write it as a string with a unit, like \"{v}s\""
                )))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!(parse_duration("60s"), Ok(Dur(60.0)));
        assert_eq!(parse_duration("2m"), Ok(Dur(120.0)));
        assert_eq!(parse_duration("1h30m"), Ok(Dur(5400.0)));
        assert_eq!(parse_duration("500ms"), Ok(Dur(0.5)));
        assert_eq!(parse_duration("1.5s"), Ok(Dur(1.5)));
    }

    #[test]
    fn rejects_bad_durations_with_the_reason() {
        assert_eq!(
            parse_duration("-5s"),
            Err(DurationError::Negative("-5s".into()))
        );
        assert_eq!(
            parse_duration("60"),
            Err(DurationError::NoUnit("60".into()))
        );
        assert_eq!(
            parse_duration("5 parsecs"),
            Err(DurationError::UnknownUnit {
                unit: " parsecs".into(),
                text: "5 parsecs".into()
            })
        );
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("6min"),
            Err(DurationError::UnknownUnit {
                unit: "min".into(),
                text: "6min".into()
            })
        );
        for text in ["6h6h", "30s1m", "1m1m"] {
            assert!(
                matches!(parse_duration(text), Err(DurationError::UnitOrder { .. })),
                "{text}"
            );
        }
        assert_eq!(parse_duration("1h2m3s4ms"), Ok(Dur(3723.004)));
        assert_eq!(
            parse_duration("1.2.3s").unwrap_err().to_string(),
            "\"1.2.3s\" is not a duration: expected a duration like \"60s\", \"2m\", \"1h30m\" or \"500ms\""
        );
    }
}
