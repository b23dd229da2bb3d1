//! ESP8266 firmware image (the flash at 0x0): header `E9`, segment count, flash mode, `size<<4 | freq`, entry;
//! then segments `(addr, len, data)`; zero padding until the length is 15 mod 16; a checksum byte (0xEF XOR every
//! segment byte). MicroPython's ESP8266 build carries a second (irom) image after this one; only the first is
//! checked, as the ROM does.

use thiserror::Error;

pub const MAGIC: u8 = 0xE9;
const HEADER: usize = 8;
const SEGMENT_HEADER: usize = 8;
/// More segments than this is not an ESP8266 image (the ROM's loader handles a handful).
const MAX_SEGMENTS: u8 = 16;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("image is {0} bytes, shorter than its 8-byte header")]
    Short(usize),
    #[error("first byte is 0x{0:02X}, not the ESP8266 image magic 0xE9")]
    Magic(u8),
    #[error("{0} segments: not an ESP8266 image")]
    SegmentCount(u8),
    #[error("segment {index} (at 0x{addr:08X}, {len} bytes) runs past the end of the image")]
    Truncated { index: usize, addr: u32, len: u32 },
    #[error("no room for the checksum byte after the segments")]
    NoChecksum,
    #[error("checksum byte is 0x{stored:02X}, the segments sum to 0x{computed:02X}")]
    Checksum { stored: u8, computed: u8 },
    #[error("flash mode {0} is not 0 QIO, 1 QOUT, 2 DIO or 3 DOUT")]
    FlashMode(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub addr: u32,
    pub len: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    pub flash_mode: u8,
    /// High nibble: flash size code; low nibble: flash frequency code.
    pub size_freq: u8,
    pub entry: u32,
    pub segments: Vec<Segment>,
    /// Bytes up to and including the checksum byte.
    pub header_image_len: usize,
}

/// Checks an image the way the ROM loads it: magic, sane segment list, checksum.
pub fn parse(image: &[u8]) -> Result<ImageInfo, ImageError> {
    if image.len() < HEADER {
        return Err(ImageError::Short(image.len()));
    }
    if image[0] != MAGIC {
        return Err(ImageError::Magic(image[0]));
    }
    let count = image[1];
    if count == 0 || count > MAX_SEGMENTS {
        return Err(ImageError::SegmentCount(count));
    }
    if image[2] > 3 {
        return Err(ImageError::FlashMode(image[2]));
    }
    let entry = u32::from_le_bytes(image[4..8].try_into().unwrap());
    let mut at = HEADER;
    let mut sum = super::rom_loader::CHECKSUM_SEED;
    let mut segments = Vec::with_capacity(usize::from(count));
    for index in 0..usize::from(count) {
        let head = image
            .get(at..at + SEGMENT_HEADER)
            .ok_or(ImageError::Truncated {
                index,
                addr: 0,
                len: 0,
            })?;
        let addr = u32::from_le_bytes(head[0..4].try_into().unwrap());
        let len = u32::from_le_bytes(head[4..8].try_into().unwrap());
        let start = at + SEGMENT_HEADER;
        let data = start
            .checked_add(len as usize)
            .and_then(|end| image.get(start..end))
            .ok_or(ImageError::Truncated { index, addr, len })?;
        sum = data.iter().fold(sum, |acc, b| acc ^ b);
        segments.push(Segment { addr, len });
        at = start + data.len();
    }
    // Padding brings the length to 15 mod 16; the checksum byte makes it a multiple of 16.
    let checksum_at = at | 15;
    let stored = *image.get(checksum_at).ok_or(ImageError::NoChecksum)?;
    if stored != sum {
        return Err(ImageError::Checksum {
            stored,
            computed: sum,
        });
    }
    Ok(ImageInfo {
        flash_mode: image[2],
        size_freq: image[3],
        entry,
        segments,
        header_image_len: checksum_at + 1,
    })
}

/// Builds a valid image from segments (for tests, benchmarks and the twin's factory flash).
pub fn build(flash_mode: u8, size_freq: u8, entry: u32, segments: &[(u32, &[u8])]) -> Vec<u8> {
    let mut out = vec![MAGIC, segments.len() as u8, flash_mode, size_freq];
    out.extend(entry.to_le_bytes());
    let mut sum = super::rom_loader::CHECKSUM_SEED;
    for (addr, data) in segments {
        out.extend(addr.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(*data);
        sum = data.iter().fold(sum, |acc, b| acc ^ b);
    }
    out.resize(out.len() | 15, 0);
    out.push(sum);
    out
}

/// A plausible image of `total` bytes (at least about 64): an IRAM segment and a data segment of
/// firmware-like bytes (repetitive, so it compresses about as well as real firmware), deterministic in `seed`.
pub fn synthetic(total: usize, seed: u64) -> Vec<u8> {
    let body = total
        .saturating_sub(HEADER + 2 * SEGMENT_HEADER + 16)
        .max(32);
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(body);
    let words = [0x12u8, 0xC1, 0xF0, 0x09, 0x31, 0x06, 0x00, 0x22, 0xA0, 0x00];
    while bytes.len() < body {
        // xorshift: deterministic without a dependency; every 4th byte random, the rest instruction-like.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let r = state.to_le_bytes();
        bytes.extend([
            r[0],
            words[r[1] as usize % words.len()],
            words[r[2] as usize % words.len()],
            0,
        ]);
    }
    bytes.truncate(body);
    let (iram, data) = bytes.split_at(body / 2);
    build(
        2,
        0x40,
        0x4010_0004,
        &[(0x4010_0000, iram), (0x3FFE_8000, data)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_images_parse_and_end_on_a_16_byte_boundary() {
        let img = build(
            0,
            0x20,
            0x4010_1000,
            &[(0x4010_0000, &[1, 2, 3]), (0x3FFE_8000, &[4; 21])],
        );
        assert_eq!(img.len() % 16, 0);
        let info = parse(&img).unwrap();
        assert_eq!(info.entry, 0x4010_1000);
        assert_eq!(info.segments.len(), 2);
        assert_eq!(
            info.segments[1],
            Segment {
                addr: 0x3FFE_8000,
                len: 21
            }
        );
        assert_eq!(info.header_image_len, img.len());
        let big = synthetic(300_000, 7);
        assert!(
            big.len() >= 299_900 && big.len() <= 300_016,
            "{}",
            big.len()
        );
        parse(&big).unwrap();
    }

    #[test]
    fn bad_images_are_named_errors() {
        let good = build(2, 0x40, 0x4010_0004, &[(0x4010_0000, &[9; 40])]);
        let mut bad = good.clone();
        bad[0] = 0xFF;
        assert_eq!(parse(&bad), Err(ImageError::Magic(0xFF)));
        let mut bad = good.clone();
        bad[20] ^= 1;
        assert!(matches!(parse(&bad), Err(ImageError::Checksum { .. })));
        let mut bad = good.clone();
        bad[12] = 0xFF; // segment length far past the end
        assert!(matches!(
            parse(&bad),
            Err(ImageError::Truncated { index: 0, .. })
        ));
        assert_eq!(parse(&good[..4]), Err(ImageError::Short(4)));
        assert!(matches!(
            parse(&good[..good.len() - 1]),
            Err(ImageError::NoChecksum)
        ));
        let mut bad = good;
        bad[1] = 0;
        assert_eq!(parse(&bad), Err(ImageError::SegmentCount(0)));
        assert_eq!(parse(&[0xFF; 64]), Err(ImageError::Magic(0xFF)));
    }
}
