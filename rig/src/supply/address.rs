//! Where a supply is reached, as a rig file writes it: `tcp://HOST:PORT` or `serial:///dev/PATH?baud=N`.

use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `host:port`, as `TcpStream::connect` takes it.
    Tcp(String),
    Serial {
        path: PathBuf,
        baud: u32,
    },
}

/// Baud rates a Linux serial port can be set to (termios2 takes any number; these bound typos).
const BAUD_RANGE: std::ops::RangeInclusive<u32> = 50..=4_000_000;

/// Why an address does not parse; the message says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    #[error("address {text:?} is not tcp://HOST:PORT")]
    NotTcp { text: String },
    #[error("address {text:?} needs the port's absolute path: serial:///dev/ttyUSB0?baud={default_baud}")]
    NoSerialPath { text: String, default_baud: u32 },
    #[error("address {text:?}: baud {value:?} is not a rate from {} to {}", BAUD_RANGE.start(), BAUD_RANGE.end())]
    BadBaud { text: String, value: String },
    #[error("address {text:?}: unknown option {option:?} (the only one is baud=N)")]
    UnknownOption { text: String, option: String },
    #[error("address {text:?} is neither tcp://HOST:PORT nor serial:///dev/PORT?baud=N")]
    UnknownScheme { text: String },
}

impl Address {
    /// Parses an address; a `serial://` one without `?baud=` gets `default_baud` (the instrument's factory
    /// setting).
    pub fn parse(text: &str, default_baud: u32) -> Result<Address, AddressError> {
        let text_owned = || text.to_string();
        if let Some(rest) = text.strip_prefix("tcp://") {
            let valid = rest.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
            });
            return if valid {
                Ok(Address::Tcp(rest.to_string()))
            } else {
                Err(AddressError::NotTcp { text: text_owned() })
            };
        }
        if let Some(rest) = text.strip_prefix("serial://") {
            let (path, options) = rest.split_once('?').unwrap_or((rest, ""));
            if !path.starts_with('/') || path.len() < 2 {
                return Err(AddressError::NoSerialPath {
                    text: text_owned(),
                    default_baud,
                });
            }
            let mut baud = default_baud;
            for option in options.split('&').filter(|o| !o.is_empty()) {
                baud = match option.split_once('=') {
                    Some(("baud", value)) => value
                        .parse::<u32>()
                        .ok()
                        .filter(|b| BAUD_RANGE.contains(b))
                        .ok_or_else(|| AddressError::BadBaud {
                            text: text_owned(),
                            value: value.into(),
                        })?,
                    _ => {
                        return Err(AddressError::UnknownOption {
                            text: text_owned(),
                            option: option.into(),
                        })
                    }
                };
            }
            return Ok(Address::Serial {
                path: PathBuf::from(path),
                baud,
            });
        }
        Err(AddressError::UnknownScheme { text: text_owned() })
    }

    pub fn is_serial(&self) -> bool {
        matches!(self, Address::Serial { .. })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(socket) => write!(f, "tcp://{socket}"),
            Address::Serial { path, baud } => write!(f, "serial://{}?baud={baud}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_and_serial_addresses_parse_with_their_defaults() {
        assert_eq!(
            Address::parse("tcp://192.0.2.5:5025", 9600),
            Ok(Address::Tcp("192.0.2.5:5025".into()))
        );
        let serial = Address::parse("serial:///dev/ttyUSB0?baud=115200", 9600).unwrap();
        assert_eq!(
            serial,
            Address::Serial {
                path: "/dev/ttyUSB0".into(),
                baud: 115_200
            }
        );
        assert_eq!(serial.to_string(), "serial:///dev/ttyUSB0?baud=115200");
        assert_eq!(
            Address::parse("serial:///dev/pts/7", 9600),
            Ok(Address::Serial {
                path: "/dev/pts/7".into(),
                baud: 9600
            })
        );
    }

    #[test]
    fn bad_addresses_say_what_a_good_one_looks_like() {
        for (bad, words) in [
            ("127.0.0.1:5025", "neither tcp://"),
            ("tcp://:5025", "tcp://HOST:PORT"),
            ("tcp://host:0", "tcp://HOST:PORT"),
            ("tcp://host:99999", "tcp://HOST:PORT"),
            ("serial://dev/ttyUSB0", "absolute path"),
            ("serial://", "absolute path"),
            ("serial:///dev/ttyUSB0?baud=fast", "baud \"fast\""),
            ("serial:///dev/ttyUSB0?baud=0", "baud \"0\""),
            (
                "serial:///dev/ttyUSB0?parity=even",
                "unknown option \"parity=even\"",
            ),
        ] {
            let message = Address::parse(bad, 9600).unwrap_err().to_string();
            assert!(message.contains(words), "{bad}: {message}");
        }
    }
}
