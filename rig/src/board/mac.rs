//! A chip's MAC: what boards are known by (rig files, flash records, port notices), whatever port they are on.
//! The one place a MAC is parsed and written.

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{0:?} is not a MAC like 5c:cf:7f:12:34:56")]
pub struct MacError(pub String);

/// `5c:cf:7f:12:34:56`, either case, `:` or `-` between the bytes.
impl FromStr for Mac {
    type Err = MacError;

    fn from_str(text: &str) -> Result<Mac, MacError> {
        let bad = || MacError(text.to_string());
        let parts: Vec<&str> = text.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut mac = [0u8; 6];
        for (byte, part) in mac.iter_mut().zip(parts) {
            if part.len() != 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        Ok(Mac(mac))
    }
}

/// Lower case, `:` between the bytes: the form events and rig files carry.
impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_either_case_and_separator_and_writes_lower_case_colons() {
        let mac: Mac = "5C:CF:7F:12:34:56".parse().unwrap();
        assert_eq!(mac, Mac([0x5C, 0xCF, 0x7F, 0x12, 0x34, 0x56]));
        assert_eq!(mac.to_string(), "5c:cf:7f:12:34:56");
        assert_eq!("5c-cf-7f-12-34-56".parse::<Mac>(), Ok(mac));
    }

    #[test]
    fn anything_else_is_an_error_that_quotes_it() {
        for bad in [
            "5c:cf:7f:12:34",
            "5c:cf:7f:12:34:zz",
            "5c:cf:7f:12:34:5",
            "5c:cf:7f:12:34:+5",
            "5c:cf:7f:12:34:56:78",
            "not-a-mac",
            "",
        ] {
            assert_eq!(bad.parse::<Mac>(), Err(MacError(bad.into())), "{bad}");
        }
        assert_eq!(
            MacError("x".into()).to_string(),
            "\"x\" is not a MAC like 5c:cf:7f:12:34:56"
        );
    }
}
