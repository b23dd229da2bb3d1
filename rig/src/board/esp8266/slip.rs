//! SLIP framing as the ESP8266 ROM loader uses it: `C0 … C0`, with `C0` → `DB DC` and `DB` → `DB DD` inside.

use thiserror::Error;

pub const END: u8 = 0xC0;
pub const ESC: u8 = 0xDB;
pub const ESC_END: u8 = 0xDC;
pub const ESC_ESC: u8 = 0xDD;

/// Longest frame either side sends: a 0x4000-byte compressed block, escaped, plus headers, with room to spare.
pub const MAX_FRAME: usize = 0x9000;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SlipError {
    #[error("bad SLIP escape 0xDB 0x{0:02X}")]
    BadEscape(u8),
    #[error("SLIP frame longer than {MAX_FRAME} bytes")]
    TooLong,
}

/// Wraps one payload in a frame.
pub fn encode(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload.len() / 16 + 2);
    out.push(END);
    for &b in payload {
        match b {
            END => out.extend_from_slice(&[ESC, ESC_END]),
            ESC => out.extend_from_slice(&[ESC, ESC_ESC]),
            _ => out.push(b),
        }
    }
    out.push(END);
    out
}

/// Streaming decoder. Bytes outside frames (boot messages, console text) are skipped, as the ROM and esptool do;
/// an empty `C0 C0` is the end of one frame and the start of the next, not an empty frame.
#[derive(Debug, Default)]
pub struct Decoder {
    frame: Vec<u8>,
    in_frame: bool,
    escaped: bool,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one byte; returns a frame when this byte completes one.
    pub fn push(&mut self, byte: u8) -> Option<Result<Vec<u8>, SlipError>> {
        if !self.in_frame {
            if byte == END {
                self.in_frame = true;
            }
            return None;
        }
        if self.escaped {
            self.escaped = false;
            let decoded = match byte {
                ESC_END => END,
                ESC_ESC => ESC,
                other => return Some(Err(self.abandon(SlipError::BadEscape(other)))),
            };
            return self.store(decoded);
        }
        match byte {
            END if self.frame.is_empty() => None,
            END => {
                self.in_frame = false;
                Some(Ok(std::mem::take(&mut self.frame)))
            }
            ESC => {
                self.escaped = true;
                None
            }
            other => self.store(other),
        }
    }

    /// Feeds a buffer; returns every frame (or framing error) it completes, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, SlipError>> {
        bytes.iter().filter_map(|&b| self.push(b)).collect()
    }

    /// Forgets a partial frame (after a reset of the other side).
    pub fn reset(&mut self) {
        self.frame.clear();
        self.in_frame = false;
        self.escaped = false;
    }

    fn store(&mut self, byte: u8) -> Option<Result<Vec<u8>, SlipError>> {
        if self.frame.len() >= MAX_FRAME {
            return Some(Err(self.abandon(SlipError::TooLong)));
        }
        self.frame.push(byte);
        None
    }

    fn abandon(&mut self, error: SlipError) -> SlipError {
        self.reset();
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_end_and_esc_bytes() {
        assert_eq!(
            encode(&[1, END, 2, ESC, 3]),
            vec![END, 1, ESC, ESC_END, 2, ESC, ESC_ESC, 3, END]
        );
    }

    #[test]
    fn round_trips_every_byte_value_split_anywhere() {
        let payload: Vec<u8> = (0..=255).chain((0..=255).rev()).collect();
        let wire = encode(&payload);
        for split in [0, 1, 7, wire.len() / 2, wire.len() - 1] {
            let mut d = Decoder::new();
            let mut frames = d.feed(&wire[..split]);
            frames.extend(d.feed(&wire[split..]));
            assert_eq!(frames, vec![Ok(payload.clone())], "split at {split}");
        }
    }

    #[test]
    fn skips_noise_and_empty_frames_between_frames() {
        let mut wire = b"ets Jan  8 2013\r\n".to_vec();
        wire.extend(encode(b"one"));
        wire.extend([END, END]);
        wire.extend(encode(b"two"));
        let frames: Vec<_> = Decoder::new().feed(&wire);
        assert_eq!(frames, vec![Ok(b"one".to_vec()), Ok(b"two".to_vec())]);
    }

    #[test]
    fn bad_escape_and_overlong_frames_are_errors_then_decoding_resumes() {
        let mut d = Decoder::new();
        assert_eq!(
            d.feed(&[END, 1, ESC, 0x42, 2, END]),
            vec![Err(SlipError::BadEscape(0x42))]
        );
        assert_eq!(d.feed(&encode(b"ok")), vec![Ok(b"ok".to_vec())]);
        let mut long = vec![END];
        long.extend(std::iter::repeat_n(0x55, MAX_FRAME + 1));
        assert_eq!(d.feed(&long), vec![Err(SlipError::TooLong)]);
        assert_eq!(d.feed(&encode(b"again")), vec![Ok(b"again".to_vec())]);
    }
}
