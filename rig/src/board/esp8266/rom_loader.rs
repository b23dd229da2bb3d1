//! The ESP8266 ROM serial loader protocol (and the flasher stub's extensions), as plain data: the flasher
//! encodes commands and decodes responses with it, the twin board decodes commands and encodes responses.
//! Framing is SLIP (`slip.rs`); everything here is one unframed packet.

use crate::board::Mac;
use thiserror::Error;

/// Direction bytes: host → chip requests, chip → host responses.
pub const REQUEST: u8 = 0x00;
pub const RESPONSE: u8 = 0x01;

/// READ_REG of this address tells the chip family; the ESP8266 answers [`ESP8266_MAGIC`].
pub const CHIP_MAGIC_REG: u32 = 0x4000_1000;
pub const ESP8266_MAGIC: u32 = 0xFFF0_C101;
/// The four efuse words that hold the MAC (0x3FF00050, …54, …58, …5C).
pub const EFUSE_WORDS: [u32; 4] = [0x3FF0_0050, 0x3FF0_0054, 0x3FF0_0058, 0x3FF0_005C];
/// UART_CLKDIV: esptool estimates the crystal from it and the baud rate.
pub const UART_CLKDIV_REG: u32 = 0x6000_0014;

/// The ROM writes flash in blocks of this size.
pub const FLASH_BLOCK: usize = 0x400;
/// RAM uploads (the stub) go in blocks of this size.
pub const RAM_BLOCK: usize = 0x1800;
/// The stub's (compressed or not) write block.
pub const STUB_FLASH_BLOCK: usize = 0x4000;
pub const SECTOR: usize = 0x1000;
/// The ROM's erase routine works in 16-sector (64 KiB) blocks.
const SECTORS_PER_BLOCK: usize = 16;

/// The ESP8266 ROM and its stub send two status bytes (ESP32-family ROMs send four).
pub const STATUS_BYTES: usize = 2;
/// Seed of the XOR checksum over *_DATA payloads.
pub const CHECKSUM_SEED: u8 = 0xEF;

/// ROM error codes (second status byte).
pub const ERR_INVALID_MESSAGE: u8 = 0x05;
pub const ERR_FAILED: u8 = 0x06;
pub const ERR_BAD_CHECKSUM: u8 = 0x07;
pub const ERR_FLASH_WRITE: u8 = 0x08;
pub const ERR_FLASH_READ: u8 = 0x09;
pub const ERR_BAD_LENGTH: u8 = 0x0A;
pub const ERR_INFLATE: u8 = 0x0B;

/// What a started stub sends, framed, before anything else.
pub const STUB_GREETING: &[u8] = b"OHAI";

/// SYNC payload: `07 07 12 20` and 32 × `55`, which also lets the ROM measure the baud rate.
pub fn sync_payload() -> Vec<u8> {
    let mut p = vec![0x07, 0x07, 0x12, 0x20];
    p.extend([0x55; 32]);
    p
}

/// Human words for a ROM or stub error code, for error messages.
pub fn error_name(code: u8) -> &'static str {
    match code {
        ERR_INVALID_MESSAGE => "invalid message",
        ERR_FAILED => "failed to act on the message",
        ERR_BAD_CHECKSUM => "bad checksum",
        ERR_FLASH_WRITE => "flash write failed",
        ERR_FLASH_READ => "flash read failed",
        ERR_BAD_LENGTH => "bad length",
        ERR_INFLATE => "deflate error",
        _ => "unknown error",
    }
}

pub mod op {
    pub const FLASH_BEGIN: u8 = 0x02;
    pub const FLASH_DATA: u8 = 0x03;
    pub const FLASH_END: u8 = 0x04;
    pub const MEM_BEGIN: u8 = 0x05;
    pub const MEM_END: u8 = 0x06;
    pub const MEM_DATA: u8 = 0x07;
    pub const SYNC: u8 = 0x08;
    pub const WRITE_REG: u8 = 0x09;
    pub const READ_REG: u8 = 0x0A;
    pub const SPI_SET_PARAMS: u8 = 0x0B;
    pub const SPI_ATTACH: u8 = 0x0D;
    pub const CHANGE_BAUDRATE: u8 = 0x0F;
    pub const FLASH_DEFL_BEGIN: u8 = 0x10;
    pub const FLASH_DEFL_DATA: u8 = 0x11;
    pub const FLASH_DEFL_END: u8 = 0x12;
    pub const SPI_FLASH_MD5: u8 = 0x13;
    pub const ERASE_FLASH: u8 = 0xD0;
    pub const ERASE_REGION: u8 = 0xD1;
    pub const READ_FLASH: u8 = 0xD2;
    pub const RUN_USER_CODE: u8 = 0xD3;
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("packet of {0} bytes is shorter than its 8-byte header")]
    Short(usize),
    #[error("direction byte 0x{0:02X} (expected 0x{1:02X})")]
    Direction(u8, u8),
    #[error("header says {said} data bytes, packet holds {held}")]
    Length { said: usize, held: usize },
    #[error("op 0x{op:02X} needs {want} data bytes, got {got}")]
    Params { op: u8, want: usize, got: usize },
    #[error("SYNC payload is not 07 07 12 20 + 32 × 55")]
    BadSync,
    #[error("data block checksum 0x{got:02X}, computed 0x{want:02X}")]
    Checksum { got: u32, want: u32 },
    #[error("data block header says {said} bytes, block holds {held}")]
    BlockLength { said: usize, held: usize },
}

impl CodecError {
    /// The ROM error code a chip answers this with.
    pub fn rom_error(&self) -> u8 {
        match self {
            CodecError::Checksum { .. } => ERR_BAD_CHECKSUM,
            CodecError::BlockLength { .. } => ERR_BAD_LENGTH,
            _ => ERR_INVALID_MESSAGE,
        }
    }
}

/// XOR checksum of a data block, seeded with 0xEF.
pub fn checksum(data: &[u8]) -> u32 {
    u32::from(data.iter().fold(CHECKSUM_SEED, |acc, b| acc ^ b))
}

/// One request packet, undecoded beyond its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub op: u8,
    pub checksum: u32,
    pub data: Vec<u8>,
}

impl Request {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.data.len());
        out.push(REQUEST);
        out.push(self.op);
        out.extend((self.data.len() as u16).to_le_bytes());
        out.extend(self.checksum.to_le_bytes());
        out.extend(&self.data);
        out
    }

    pub fn decode(packet: &[u8]) -> Result<Request, CodecError> {
        let (op, len, checksum, data) = split_header(packet, REQUEST)?;
        if data.len() != len {
            return Err(CodecError::Length {
                said: len,
                held: data.len(),
            });
        }
        Ok(Request {
            op,
            checksum,
            data: data.to_vec(),
        })
    }
}

fn split_header(packet: &[u8], direction: u8) -> Result<(u8, usize, u32, &[u8]), CodecError> {
    if packet.len() < 8 {
        return Err(CodecError::Short(packet.len()));
    }
    if packet[0] != direction {
        return Err(CodecError::Direction(packet[0], direction));
    }
    let len = usize::from(u16::from_le_bytes([packet[2], packet[3]]));
    let word = u32::from_le_bytes([packet[4], packet[5], packet[6], packet[7]]);
    Ok((packet[1], len, word, &packet[8..]))
}

/// One response: the header's value word, the data, and the two status bytes (status 0 = success).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub op: u8,
    pub value: u32,
    pub data: Vec<u8>,
    pub status: u8,
    pub error: u8,
}

impl Response {
    pub fn ok(op: u8, value: u32, data: Vec<u8>) -> Self {
        Response {
            op,
            value,
            data,
            status: 0,
            error: 0,
        }
    }

    pub fn failed(op: u8, error: u8) -> Self {
        Response {
            op,
            value: 0,
            data: Vec::new(),
            status: 1,
            error,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status == 0
    }

    /// The header's size field counts data and status bytes together.
    pub fn encode(&self) -> Vec<u8> {
        let size = self.data.len() + STATUS_BYTES;
        let mut out = Vec::with_capacity(8 + size);
        out.push(RESPONSE);
        out.push(self.op);
        out.extend((size as u16).to_le_bytes());
        out.extend(self.value.to_le_bytes());
        out.extend(&self.data);
        out.extend([self.status, self.error]);
        out
    }

    pub fn decode(packet: &[u8]) -> Result<Response, CodecError> {
        let (op, size, value, body) = split_header(packet, RESPONSE)?;
        // Some ROM answers carry bytes past the declared size; the status is at the end of what was declared.
        if body.len() < size || size < STATUS_BYTES {
            return Err(CodecError::Length {
                said: size,
                held: body.len(),
            });
        }
        let data = body[..size - STATUS_BYTES].to_vec();
        Ok(Response {
            op,
            value,
            data,
            status: body[size - STATUS_BYTES],
            error: body[size - STATUS_BYTES + 1],
        })
    }
}

/// A 16-byte `(size, seq, 0, 0)` header plus payload: FLASH_DATA, MEM_DATA and FLASH_DEFL_DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBlock {
    pub seq: u32,
    pub data: Vec<u8>,
}

/// `(size, blocks, block size, offset)`: FLASH_BEGIN, MEM_BEGIN and FLASH_DEFL_BEGIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Begin {
    /// Bytes to erase (flash), to load (RAM), or uncompressed bytes (deflate).
    pub size: u32,
    pub blocks: u32,
    pub block_size: u32,
    pub offset: u32,
}

/// Every command the flasher sends or the twin understands, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    FlashBegin(Begin),
    FlashData(DataBlock),
    /// `run_user_code`: the ROM leaves the loader and runs the app (false: it reboots).
    FlashEnd {
        run_user_code: bool,
    },
    MemBegin(Begin),
    MemData(DataBlock),
    /// `entry == None`: just stay in the loader.
    MemEnd {
        entry: Option<u32>,
    },
    Sync,
    WriteReg {
        addr: u32,
        value: u32,
        mask: u32,
        delay_us: u32,
    },
    ReadReg {
        addr: u32,
    },
    SpiSetParams {
        total_size: u32,
    },
    SpiAttach,
    /// The stub takes the rate the link runs at now as well (the ROM's form sends 0 there).
    ChangeBaudrate {
        new: u32,
        old: u32,
    },
    FlashDeflBegin(Begin),
    FlashDeflData(DataBlock),
    FlashDeflEnd {
        run_user_code: bool,
    },
    SpiFlashMd5 {
        addr: u32,
        size: u32,
    },
    EraseFlash,
    EraseRegion {
        offset: u32,
        size: u32,
    },
    ReadFlash {
        offset: u32,
        length: u32,
        block_size: u32,
        max_inflight: u32,
    },
    RunUserCode,
    /// An op this codec does not know; a ROM answers it with "invalid message".
    Unknown(u8),
}

impl Command {
    pub fn op(&self) -> u8 {
        use Command::*;
        match self {
            FlashBegin(_) => op::FLASH_BEGIN,
            FlashData(_) => op::FLASH_DATA,
            FlashEnd { .. } => op::FLASH_END,
            MemBegin(_) => op::MEM_BEGIN,
            MemData(_) => op::MEM_DATA,
            MemEnd { .. } => op::MEM_END,
            Sync => op::SYNC,
            WriteReg { .. } => op::WRITE_REG,
            ReadReg { .. } => op::READ_REG,
            SpiSetParams { .. } => op::SPI_SET_PARAMS,
            SpiAttach => op::SPI_ATTACH,
            ChangeBaudrate { .. } => op::CHANGE_BAUDRATE,
            FlashDeflBegin(_) => op::FLASH_DEFL_BEGIN,
            FlashDeflData(_) => op::FLASH_DEFL_DATA,
            FlashDeflEnd { .. } => op::FLASH_DEFL_END,
            SpiFlashMd5 { .. } => op::SPI_FLASH_MD5,
            EraseFlash => op::ERASE_FLASH,
            EraseRegion { .. } => op::ERASE_REGION,
            ReadFlash { .. } => op::READ_FLASH,
            RunUserCode => op::RUN_USER_CODE,
            Unknown(op) => *op,
        }
    }

    /// The request packet for this command (checksums filled in for data blocks).
    pub fn to_request(&self) -> Request {
        use Command::*;
        let words = |w: &[u32]| w.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
        let begin = |b: &Begin| words(&[b.size, b.blocks, b.block_size, b.offset]);
        let (data, sum) = match self {
            FlashBegin(b) | MemBegin(b) => (begin(b), 0),
            // Stubs take a fifth word, "encrypted write" (esptool sends it to every stub); only stubs inflate on
            // the ESP8266, its ROM has no FLASH_DEFL_*.
            FlashDeflBegin(b) => {
                let mut d = begin(b);
                d.extend(0u32.to_le_bytes());
                (d, 0)
            }
            FlashData(block) | MemData(block) | FlashDeflData(block) => {
                let mut d = words(&[block.data.len() as u32, block.seq, 0, 0]);
                d.extend(&block.data);
                (d, checksum(&block.data))
            }
            FlashEnd { run_user_code } | FlashDeflEnd { run_user_code } => {
                (words(&[u32::from(*run_user_code)]), 0)
            }
            MemEnd { entry } => (words(&[u32::from(entry.is_none()), entry.unwrap_or(0)]), 0),
            Sync => (sync_payload(), 0),
            WriteReg {
                addr,
                value,
                mask,
                delay_us,
            } => (words(&[*addr, *value, *mask, *delay_us]), 0),
            ReadReg { addr } => (words(&[*addr]), 0),
            // id, total size, 64 KiB block, 4 KiB sector, 256-byte page, status mask: the flash chips boards carry.
            SpiSetParams { total_size } => {
                (words(&[0, *total_size, 0x10000, 0x1000, 0x100, 0xFFFF]), 0)
            }
            SpiAttach => (words(&[0, 0]), 0),
            ChangeBaudrate { new, old } => (words(&[*new, *old]), 0),
            SpiFlashMd5 { addr, size } => (words(&[*addr, *size, 0, 0]), 0),
            EraseRegion { offset, size } => (words(&[*offset, *size]), 0),
            ReadFlash {
                offset,
                length,
                block_size,
                max_inflight,
            } => (words(&[*offset, *length, *block_size, *max_inflight]), 0),
            EraseFlash | RunUserCode | Unknown(_) => (Vec::new(), 0),
        };
        Request {
            op: self.op(),
            checksum: sum,
            data,
        }
    }

    /// Decodes a request; parameter errors carry the ROM error code to answer with.
    pub fn from_request(req: &Request) -> Result<Command, CodecError> {
        use Command::*;
        let op = req.op;
        let need = |n: usize| -> Result<(), CodecError> {
            if req.data.len() < n {
                Err(CodecError::Params {
                    op,
                    want: n,
                    got: req.data.len(),
                })
            } else {
                Ok(())
            }
        };
        let w = |i: usize| u32::from_le_bytes(req.data[i * 4..i * 4 + 4].try_into().unwrap());
        let begin = || -> Result<Begin, CodecError> {
            need(16)?;
            Ok(Begin {
                size: w(0),
                blocks: w(1),
                block_size: w(2),
                offset: w(3),
            })
        };
        let block = || -> Result<DataBlock, CodecError> {
            need(16)?;
            let said = w(0) as usize;
            let data = req.data[16..].to_vec();
            if said != data.len() {
                return Err(CodecError::BlockLength {
                    said,
                    held: data.len(),
                });
            }
            let want = checksum(&data);
            if want != req.checksum {
                return Err(CodecError::Checksum {
                    got: req.checksum,
                    want,
                });
            }
            Ok(DataBlock { seq: w(1), data })
        };
        Ok(match op {
            op::FLASH_BEGIN => FlashBegin(begin()?),
            op::MEM_BEGIN => MemBegin(begin()?),
            op::FLASH_DEFL_BEGIN => FlashDeflBegin(begin()?),
            op::FLASH_DATA => FlashData(block()?),
            op::MEM_DATA => MemData(block()?),
            op::FLASH_DEFL_DATA => FlashDeflData(block()?),
            op::FLASH_END | op::FLASH_DEFL_END => {
                // An empty FLASH_END is read as "reboot", the ROM's default.
                let run_user_code = req.data.len() >= 4 && w(0) != 0;
                if op == op::FLASH_END {
                    FlashEnd { run_user_code }
                } else {
                    FlashDeflEnd { run_user_code }
                }
            }
            op::MEM_END => {
                need(8)?;
                MemEnd {
                    entry: (w(0) == 0).then_some(w(1)),
                }
            }
            op::SYNC => {
                if req.data != sync_payload() {
                    return Err(CodecError::BadSync);
                }
                Sync
            }
            op::WRITE_REG => {
                need(16)?;
                WriteReg {
                    addr: w(0),
                    value: w(1),
                    mask: w(2),
                    delay_us: w(3),
                }
            }
            op::READ_REG => {
                need(4)?;
                ReadReg { addr: w(0) }
            }
            op::SPI_SET_PARAMS => {
                need(8)?;
                SpiSetParams { total_size: w(1) }
            }
            op::SPI_ATTACH => SpiAttach,
            op::CHANGE_BAUDRATE => {
                need(8)?;
                ChangeBaudrate {
                    new: w(0),
                    old: w(1),
                }
            }
            op::SPI_FLASH_MD5 => {
                need(8)?;
                SpiFlashMd5 {
                    addr: w(0),
                    size: w(1),
                }
            }
            op::ERASE_FLASH => EraseFlash,
            op::ERASE_REGION => {
                need(8)?;
                EraseRegion {
                    offset: w(0),
                    size: w(1),
                }
            }
            op::READ_FLASH => {
                need(16)?;
                ReadFlash {
                    offset: w(0),
                    length: w(1),
                    block_size: w(2),
                    max_inflight: w(3),
                }
            }
            op::RUN_USER_CODE => RunUserCode,
            other => Unknown(other),
        })
    }
}

/// The MAC an ESP8266 reports, from its efuse words at [`EFUSE_WORDS`]: the OUI from word 3 when set, else
/// one of Espressif's two by a marker byte in word 1; the last three bytes from words 1 and 0.
pub fn mac_from_efuse(words: [u32; 4]) -> Option<Mac> {
    let [w0, w1, _, w3] = words;
    let oui = if w3 != 0 {
        [(w3 >> 16) as u8, (w3 >> 8) as u8, w3 as u8]
    } else {
        match (w1 >> 16) as u8 {
            0 => [0x18, 0xFE, 0x34],
            1 => [0xAC, 0xD0, 0x74],
            _ => return None,
        }
    };
    Some(Mac([
        oui[0],
        oui[1],
        oui[2],
        (w1 >> 8) as u8,
        w1 as u8,
        (w0 >> 24) as u8,
    ]))
}

/// The efuse words a chip with this MAC holds (the twin's side of [`mac_from_efuse`]); the ESP8285 flag bits
/// (word 0 bit 4, word 2 bit 16) stay clear so the chip reads as an ESP8266EX.
pub fn efuse_for_mac(Mac(mac): Mac) -> [u32; 4] {
    let w0 = u32::from(mac[5]) << 24;
    let w1 = (u32::from(mac[3]) << 8) | u32::from(mac[4]);
    let w3 = (u32::from(mac[0]) << 16) | (u32::from(mac[1]) << 8) | u32::from(mac[2]);
    [w0, w1, 0, w3]
}

/// What to put in FLASH_BEGIN's erase size so the ESP8266 ROM erases `size` bytes at `offset`: its erase
/// routine erases the requested sectors plus as many again up to the next 64 KiB boundary (at most the
/// requested count), so ask for less. The stub erases exactly what it is asked.
pub fn rom_erase_request(offset: u32, size: u32) -> u32 {
    let sectors = (size as usize).div_ceil(SECTOR);
    let head = SECTORS_PER_BLOCK - (offset as usize / SECTOR) % SECTORS_PER_BLOCK;
    let request = if sectors <= 2 * head {
        // Everything fits before the boundary (doubled): half, rounded up.
        sectors.div_ceil(2)
    } else {
        sectors - head
    };
    (request * SECTOR) as u32
}

/// Sectors the ESP8266 ROM erases for a FLASH_BEGIN erase size (see [`rom_erase_request`]).
pub fn rom_erased_sectors(offset: u32, erase_size: u32) -> usize {
    let sectors = (erase_size as usize).div_ceil(SECTOR);
    let head = SECTORS_PER_BLOCK - (offset as usize / SECTOR) % SECTORS_PER_BLOCK;
    sectors + head.min(sectors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_header_is_direction_op_length_checksum() {
        let req = Command::ReadReg {
            addr: CHIP_MAGIC_REG,
        }
        .to_request();
        assert_eq!(
            req.encode(),
            vec![0x00, 0x0A, 4, 0, 0, 0, 0, 0, 0x00, 0x10, 0x00, 0x40]
        );
    }

    #[test]
    fn data_blocks_carry_a_seeded_xor_checksum() {
        assert_eq!(checksum(&[]), 0xEF);
        assert_eq!(checksum(&[0xEF]), 0);
        assert_eq!(checksum(&[1, 2, 4]), 0xEF ^ 7);
        let cmd = Command::FlashData(DataBlock {
            seq: 3,
            data: vec![1, 2, 4],
        });
        let req = cmd.to_request();
        assert_eq!(req.checksum, 0xEF ^ 7);
        assert_eq!(
            &req.data[..16],
            &[3, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        let back = Request::decode(&req.encode()).unwrap();
        assert_eq!(Command::from_request(&back).unwrap(), cmd);
    }

    #[test]
    fn every_command_round_trips() {
        let begin = Begin {
            size: 0x2000,
            blocks: 8,
            block_size: 0x400,
            offset: 0x1000,
        };
        let block = DataBlock {
            seq: 1,
            data: vec![0xC0, 0xDB, 7],
        };
        let all = [
            Command::FlashBegin(begin),
            Command::FlashData(block.clone()),
            Command::FlashEnd {
                run_user_code: true,
            },
            Command::MemBegin(begin),
            Command::MemData(block.clone()),
            Command::MemEnd {
                entry: Some(0x4010_E004),
            },
            Command::MemEnd { entry: None },
            Command::Sync,
            Command::WriteReg {
                addr: 0x6000_0200,
                value: 1 << 18,
                mask: 0xFFFF_FFFF,
                delay_us: 0,
            },
            Command::ReadReg { addr: 0x3FF0_0050 },
            Command::SpiSetParams {
                total_size: 4 << 20,
            },
            Command::ChangeBaudrate {
                new: 460_800,
                old: 115_200,
            },
            Command::FlashDeflBegin(begin),
            Command::FlashDeflData(block),
            Command::FlashDeflEnd {
                run_user_code: false,
            },
            Command::SpiFlashMd5 {
                addr: 0,
                size: 0x1000,
            },
            Command::EraseFlash,
            Command::EraseRegion {
                offset: 0,
                size: 0x1000,
            },
            Command::ReadFlash {
                offset: 0,
                length: 0x100,
                block_size: 0x1000,
                max_inflight: 64,
            },
            Command::RunUserCode,
        ];
        for cmd in all {
            let packet = cmd.to_request().encode();
            let req = Request::decode(&packet).unwrap();
            assert_eq!(Command::from_request(&req).unwrap(), cmd);
        }
    }

    #[test]
    fn bad_requests_name_the_rom_error_to_answer() {
        let mut req = Command::FlashData(DataBlock {
            seq: 0,
            data: vec![1, 2, 3],
        })
        .to_request();
        req.checksum ^= 1;
        let err = Command::from_request(&req).unwrap_err();
        assert_eq!(err.rom_error(), ERR_BAD_CHECKSUM);
        let short = Request {
            op: op::READ_REG,
            checksum: 0,
            data: vec![1],
        };
        assert_eq!(
            Command::from_request(&short).unwrap_err().rom_error(),
            ERR_INVALID_MESSAGE
        );
        assert_eq!(
            Command::from_request(&Request {
                op: 0x14,
                checksum: 0,
                data: vec![]
            })
            .unwrap(),
            Command::Unknown(0x14)
        );
        assert_eq!(Request::decode(&[0, 1, 2]), Err(CodecError::Short(3)));
        assert!(matches!(
            Request::decode(&[0, 8, 9, 0, 0, 0, 0, 0, 1]),
            Err(CodecError::Length { said: 9, held: 1 })
        ));
        assert!(matches!(
            Request::decode(&[1, 8, 0, 0, 0, 0, 0, 0]),
            Err(CodecError::Direction(1, 0))
        ));
    }

    #[test]
    fn responses_carry_two_status_bytes() {
        let r = Response::ok(op::READ_REG, ESP8266_MAGIC, vec![]);
        let wire = r.encode();
        assert_eq!(wire, vec![1, 0x0A, 2, 0, 0x01, 0xC1, 0xF0, 0xFF, 0, 0]);
        assert_eq!(Response::decode(&wire).unwrap(), r);
        let md5 = Response::ok(op::SPI_FLASH_MD5, 0, vec![0xAB; 16]);
        assert_eq!(
            Response::decode(&md5.encode()).unwrap().data,
            vec![0xAB; 16]
        );
        let failed = Response::failed(0x14, ERR_INVALID_MESSAGE);
        let back = Response::decode(&failed.encode()).unwrap();
        assert!(!back.is_ok());
        assert_eq!(back.error, ERR_INVALID_MESSAGE);
        assert!(Response::decode(&[1, 8, 1, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn mac_round_trips_through_efuse_words() {
        let mac = Mac([0x5c, 0xcf, 0x7f, 0x12, 0x34, 0x56]);
        let words = efuse_for_mac(mac);
        assert_eq!(words[0] & (1 << 4), 0);
        assert_eq!(words[2] & (1 << 16), 0);
        assert_eq!(mac_from_efuse(words), Some(mac));
        // Without an OUI word the marker byte picks Espressif's OUI.
        assert_eq!(
            mac_from_efuse([0xAA00_0000, 0x0001_BBCC, 0, 0]),
            Some(Mac([0xAC, 0xD0, 0x74, 0xBB, 0xCC, 0xAA]))
        );
        assert_eq!(mac_from_efuse([0, 0x0005_0000, 0, 0]), None);
    }

    #[test]
    fn rom_erase_request_compensates_the_rom_erase_bug() {
        for offset in [0u32, 0x1000, 0xF000, 0x10000, 0x23000] {
            for sectors in 1..=64u32 {
                let size = sectors * SECTOR as u32;
                let req = rom_erase_request(offset, size);
                let erased = rom_erased_sectors(offset, req);
                assert!(
                    erased >= sectors as usize && erased <= sectors as usize + 1,
                    "offset {offset:#x} sectors {sectors}: asked {req:#x}, ROM erases {erased}"
                );
            }
        }
    }
}
