//! The twin's ESP8266 in its ROM serial loader, and after a MEM_END with an entry point in RAM it was sent, in the
//! flasher stub esptool uploads (its code is accepted, not run: the twin plays what esptool's "2" stub does, as
//! esptool's loader.py drives it: the OHAI greeting, FLASH_DEFL_*, SPI_FLASH_MD5, CHANGE_BAUDRATE, READ_FLASH).
//! An entry point outside what was uploaded runs no stub: the chip is lost until a reset, as a real one would
//! be. Pure: frames in, frames and board actions out.

use flate2::{Decompress, FlushDecompress, Status};
use md5::{Digest, Md5};
use rig::board::esp8266::rom_loader::{
    self as rl, efuse_for_mac, Begin, Command, DataBlock, Request, Response,
};
use rig::board::Mac;
use std::collections::HashMap;

pub const FLASH_SIZE: usize = 4 << 20;

/// The chip's SPI flash, held only up to the last byte touched: the rest reads as erased (0xFF). A hundred twin
/// boards would otherwise hold 400 MB of 0xFF for a 64 KiB image each.
struct Flash {
    bytes: Vec<u8>,
}

impl Flash {
    fn new(mut bytes: Vec<u8>) -> Flash {
        bytes.truncate(FLASH_SIZE);
        Flash { bytes }
    }

    /// Bytes `r` (within FLASH_SIZE), materialised as erased where never touched.
    fn span(&mut self, r: std::ops::Range<usize>) -> &mut [u8] {
        if self.bytes.len() < r.end {
            self.bytes.resize(r.end, 0xFF);
        }
        &mut self.bytes[r]
    }
}
/// JEDEC id answered to RDID (0x9F): Winbond, 4 MiB (bytes EF 40 16 in W0).
const FLASH_ID: u32 = 0x0016_40EF;
/// The SPI controller registers esptool drives to run a flash command (base 0x60000200).
const SPI_CMD: u32 = 0x6000_0200;
const SPI_USR2: u32 = SPI_CMD + 0x24;
const SPI_W0: u32 = SPI_CMD + 0x40;
const SPI_CMD_USR: u32 = 1 << 18;
const SPI_CMD_RDID: u32 = 1 << 28;
/// SYNC's answer value from the ROM (any non-zero word; the stub answers 0).
const ROM_SYNC_VALUE: u32 = 0x2012_0707;

/// What the loader asks of the board around it.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// One packet to send, SLIP-framed by the caller.
    Frame(Vec<u8>),
    /// Reset the chip (ROM banner, boot mode from the strapping pins).
    Reboot,
    /// Leave the loader and run the app in flash without a reset.
    RunUserCode,
    /// Switch the link speed after the answer has gone out.
    Baud(u32),
}

struct Write {
    offset: usize,
    size: usize,
    block_size: usize,
    inflate: Option<(Decompress, usize)>,
}

struct ReadBack {
    offset: usize,
    length: usize,
    block_size: usize,
    max_inflight: usize,
    sent: usize,
    acked: usize,
}

pub struct Loader {
    flash: Flash,
    efuse: [u32; 4],
    stub: bool,
    baud: u32,
    regs: HashMap<u32, u32>,
    write: Option<Write>,
    read: Option<ReadBack>,
    /// RAM regions MEM_BEGIN announced since the reset, `start..end`.
    ram: Vec<std::ops::Range<u32>>,
    /// Jumped to where no code was uploaded: silent until a reset.
    lost: bool,
}

impl Loader {
    pub fn new(mac: Mac, flash: Vec<u8>, baud: u32) -> Loader {
        Loader {
            flash: Flash::new(flash),
            efuse: efuse_for_mac(mac),
            stub: false,
            baud,
            regs: HashMap::new(),
            write: None,
            read: None,
            ram: Vec::new(),
            lost: false,
        }
    }

    /// The flash up to its last byte ever written or read: beyond, it is erased (0xFF).
    pub fn flash(&self) -> &[u8] {
        &self.flash.bytes
    }

    pub fn is_stub(&self) -> bool {
        self.stub
    }

    /// A reset brings the ROM back: the stub lived in RAM.
    pub fn reset(&mut self, baud: u32) {
        self.stub = false;
        self.baud = baud;
        self.write = None;
        self.read = None;
        self.regs.clear();
        self.ram.clear();
        self.lost = false;
    }

    /// One SLIP frame from the host.
    pub fn on_frame(&mut self, frame: &[u8]) -> Vec<Action> {
        if self.lost {
            return Vec::new();
        }
        if self.read.is_some() {
            return self.on_read_ack(frame);
        }
        let req = match Request::decode(frame) {
            Ok(r) => r,
            // The ROM ignores what is not a request at all.
            Err(_) if frame.len() < 2 => return Vec::new(),
            Err(e) => return vec![reply(Response::failed(frame[1], e.rom_error()))],
        };
        let cmd = match Command::from_request(&req) {
            Ok(c) => c,
            Err(e) => return vec![reply(Response::failed(req.op, e.rom_error()))],
        };
        if !self.stub && stub_only(&cmd) {
            return vec![reply(Response::failed(req.op, rl::ERR_INVALID_MESSAGE))];
        }
        self.execute(cmd)
    }

    fn execute(&mut self, cmd: Command) -> Vec<Action> {
        let o = cmd.op();
        let ok = |value: u32, data: Vec<u8>| reply(Response::ok(o, value, data));
        let fail = |code: u8| vec![reply(Response::failed(o, code))];
        match cmd {
            Command::Sync if self.stub => vec![ok(0, vec![])],
            // The ROM answers each SYNC eight times.
            Command::Sync => (0..8).map(|_| ok(ROM_SYNC_VALUE, vec![])).collect(),
            Command::ReadReg { addr } => vec![ok(self.read_reg(addr), vec![])],
            Command::WriteReg {
                addr, value, mask, ..
            } => {
                self.write_reg(addr, value, mask);
                vec![ok(0, vec![])]
            }
            Command::FlashBegin(b) => match self.begin(b, false) {
                Ok(()) => vec![ok(0, vec![])],
                Err(code) => fail(code),
            },
            Command::FlashDeflBegin(b) => match self.begin(b, true) {
                Ok(()) => vec![ok(0, vec![])],
                Err(code) => fail(code),
            },
            Command::FlashData(block) => match self.write_block(&block) {
                Ok(()) => vec![ok(0, vec![])],
                Err(code) => fail(code),
            },
            Command::FlashDeflData(block) => match self.inflate_block(&block) {
                Ok(()) => vec![ok(0, vec![])],
                Err(code) => fail(code),
            },
            Command::FlashEnd { run_user_code } | Command::FlashDeflEnd { run_user_code } => {
                self.write = None;
                let mut out = vec![ok(0, vec![])];
                match (self.stub, run_user_code) {
                    (_, false) => out.push(Action::Reboot),
                    // The ROM leaves the loader for the app; the stub stays.
                    (false, true) => out.push(Action::RunUserCode),
                    (true, true) => {}
                }
                out
            }
            Command::MemBegin(b) => {
                self.ram.push(b.offset..b.offset.saturating_add(b.size));
                vec![ok(0, vec![])]
            }
            Command::MemData(_) => vec![ok(0, vec![])],
            Command::MemEnd { entry: None } => vec![ok(0, vec![])],
            Command::MemEnd { entry: Some(at) } if self.ram.iter().any(|r| r.contains(&at)) => {
                // What was uploaded is taken to be the stub; it greets once started.
                self.stub = true;
                vec![ok(0, vec![]), Action::Frame(rl::STUB_GREETING.to_vec())]
            }
            Command::MemEnd { entry: Some(_) } => {
                self.lost = true;
                vec![ok(0, vec![])]
            }
            Command::SpiSetParams { .. } | Command::SpiAttach => vec![ok(0, vec![])],
            Command::ChangeBaudrate { new, .. } => {
                self.baud = new;
                vec![ok(0, vec![]), Action::Baud(new)]
            }
            Command::SpiFlashMd5 { addr, size } => match self.range(addr as usize, size as usize) {
                Some(r) => vec![ok(0, Md5::digest(self.flash.span(r)).to_vec())],
                None => fail(rl::ERR_FLASH_READ),
            },
            Command::EraseFlash => {
                self.flash.bytes.clear();
                vec![ok(0, vec![])]
            }
            Command::EraseRegion { offset, size } => {
                if !(offset as usize).is_multiple_of(rl::SECTOR)
                    || !(size as usize).is_multiple_of(rl::SECTOR)
                {
                    return fail(rl::ERR_BAD_LENGTH);
                }
                match self.range(offset as usize, size as usize) {
                    Some(r) => {
                        self.flash.span(r).fill(0xFF);
                        vec![ok(0, vec![])]
                    }
                    None => fail(rl::ERR_FAILED),
                }
            }
            Command::ReadFlash {
                offset,
                length,
                block_size,
                max_inflight,
            } => {
                if self.range(offset as usize, length as usize).is_none() || block_size == 0 {
                    return fail(rl::ERR_FLASH_READ);
                }
                self.read = Some(ReadBack {
                    offset: offset as usize,
                    length: length as usize,
                    block_size: block_size as usize,
                    max_inflight: (max_inflight as usize).max(1),
                    sent: 0,
                    acked: 0,
                });
                let mut out = vec![ok(0, vec![])];
                out.extend(self.send_read_blocks());
                out
            }
            // The stub jumps to the app without answering.
            Command::RunUserCode => vec![Action::RunUserCode],
            Command::Unknown(_) => fail(rl::ERR_INVALID_MESSAGE),
        }
    }

    fn read_reg(&self, addr: u32) -> u32 {
        if let Some(i) = rl::EFUSE_WORDS.iter().position(|&a| a == addr) {
            return self.efuse[i];
        }
        match addr {
            rl::CHIP_MAGIC_REG => rl::ESP8266_MAGIC,
            // A 26 MHz crystal: the UART divider esptool reads back against the baud rate it uses.
            rl::UART_CLKDIV_REG => (52_000_000 / self.baud.max(1)) & 0xFFFFF,
            _ => self.regs.get(&addr).copied().unwrap_or(0),
        }
    }

    fn write_reg(&mut self, addr: u32, value: u32, mask: u32) {
        let old = self.regs.get(&addr).copied().unwrap_or(0);
        let mut new = (old & !mask) | (value & mask);
        if addr == SPI_CMD && new & (SPI_CMD_USR | SPI_CMD_RDID) != 0 {
            // The controller runs the command at once and clears the busy bit.
            let command = self.regs.get(&SPI_USR2).copied().unwrap_or(0) & 0xFF;
            let rdid = new & SPI_CMD_RDID != 0 || command == 0x9F;
            self.regs.insert(SPI_W0, if rdid { FLASH_ID } else { 0 });
            new &= !(SPI_CMD_USR | SPI_CMD_RDID);
        }
        self.regs.insert(addr, new);
    }

    fn range(&self, offset: usize, len: usize) -> Option<std::ops::Range<usize>> {
        let end = offset.checked_add(len)?;
        (end <= FLASH_SIZE).then_some(offset..end)
    }

    fn erase(&mut self, offset: usize, sectors: usize) -> Result<(), u8> {
        if !offset.is_multiple_of(rl::SECTOR) {
            return Err(rl::ERR_FAILED);
        }
        let end = (offset + sectors * rl::SECTOR).min(FLASH_SIZE);
        if offset > FLASH_SIZE {
            return Err(rl::ERR_FAILED);
        }
        self.flash.span(offset..end).fill(0xFF);
        Ok(())
    }

    fn begin(&mut self, b: Begin, compressed: bool) -> Result<(), u8> {
        let offset = b.offset as usize;
        if compressed {
            // The stub erases exactly the uncompressed size.
            self.erase(offset, (b.size as usize).div_ceil(rl::SECTOR))?;
        } else if self.stub {
            self.erase(offset, (b.size as usize).div_ceil(rl::SECTOR))?;
        } else {
            // The ROM's erase routine overshoots; flashers compensate (rom_loader::rom_erase_request).
            self.erase(offset, rl::rom_erased_sectors(b.offset, b.size))?;
        }
        self.write = Some(Write {
            offset,
            size: if compressed {
                b.size as usize
            } else {
                b.blocks as usize * b.block_size as usize
            },
            block_size: b.block_size as usize,
            inflate: compressed.then(|| (Decompress::new(true), 0)),
        });
        Ok(())
    }

    /// Flash programming only clears bits: a write over unerased flash ANDs, as on the chip.
    fn program(&mut self, at: usize, data: &[u8]) -> Result<(), u8> {
        let r = self.range(at, data.len()).ok_or(rl::ERR_FLASH_WRITE)?;
        for (cell, b) in self.flash.span(r).iter_mut().zip(data) {
            *cell &= b;
        }
        Ok(())
    }

    fn write_block(&mut self, block: &DataBlock) -> Result<(), u8> {
        let w = self.write.as_ref().ok_or(rl::ERR_FAILED)?;
        if w.inflate.is_some() || block.data.len() > w.block_size {
            return Err(rl::ERR_BAD_LENGTH);
        }
        // Placed by sequence number, so a retried block lands where it belongs.
        let at = w.offset + block.seq as usize * w.block_size;
        if at + block.data.len() > w.offset + w.size {
            return Err(rl::ERR_BAD_LENGTH);
        }
        self.program(at, &block.data)
    }

    fn inflate_block(&mut self, block: &DataBlock) -> Result<(), u8> {
        let w = self.write.as_mut().ok_or(rl::ERR_FAILED)?;
        let (offset, size) = (w.offset, w.size);
        let (z, written) = w.inflate.as_mut().ok_or(rl::ERR_FAILED)?;
        let mut input = block.data.as_slice();
        let mut out = Vec::new();
        loop {
            let mut chunk = Vec::with_capacity(0x10000);
            let before = z.total_in();
            let status = z
                .decompress_vec(input, &mut chunk, FlushDecompress::None)
                .map_err(|_| rl::ERR_INFLATE)?;
            input = &input[(z.total_in() - before) as usize..];
            out.extend_from_slice(&chunk);
            if status == Status::StreamEnd || (input.is_empty() && chunk.len() < chunk.capacity()) {
                break;
            }
        }
        let at = offset + *written;
        if *written + out.len() > size {
            return Err(rl::ERR_INFLATE);
        }
        *written += out.len();
        self.program(at, &out)
    }

    fn send_read_blocks(&mut self) -> Vec<Action> {
        let Some(r) = self.read.as_mut() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while r.sent < r.length && r.sent - r.acked < r.max_inflight * r.block_size {
            let n = r.block_size.min(r.length - r.sent);
            let at = r.offset + r.sent;
            out.push(Action::Frame(self.flash.span(at..at + n).to_vec()));
            r.sent += n;
        }
        out
    }

    /// While READ_FLASH streams, each host frame acknowledges the bytes received so far.
    fn on_read_ack(&mut self, frame: &[u8]) -> Vec<Action> {
        let Some(r) = self.read.as_mut() else {
            return Vec::new();
        };
        if let Ok(word) = <[u8; 4]>::try_from(frame) {
            r.acked = (u32::from_le_bytes(word) as usize).min(r.sent);
        }
        if r.acked >= r.length {
            let (offset, length) = (r.offset, r.length);
            self.read = None;
            return vec![Action::Frame(
                Md5::digest(self.flash.span(offset..offset + length)).to_vec(),
            )];
        }
        self.send_read_blocks()
    }
}

fn reply(r: Response) -> Action {
    Action::Frame(r.encode())
}

fn stub_only(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::SpiSetParams { .. }
            | Command::SpiAttach
            | Command::ChangeBaudrate { .. }
            | Command::FlashDeflBegin(_)
            | Command::FlashDeflData(_)
            | Command::FlashDeflEnd { .. }
            | Command::SpiFlashMd5 { .. }
            | Command::EraseFlash
            | Command::EraseRegion { .. }
            | Command::ReadFlash { .. }
            | Command::RunUserCode
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{write::ZlibEncoder, Compression};
    use std::io::Write as _;

    const MAC: Mac = Mac([0x5c, 0xcf, 0x7f, 1, 2, 3]);

    fn ask(l: &mut Loader, cmd: Command) -> Vec<Response> {
        l.on_frame(&cmd.to_request().encode())
            .into_iter()
            .filter_map(|a| match a {
                Action::Frame(f) => Response::decode(&f).ok(),
                _ => None,
            })
            .collect()
    }

    fn ok(l: &mut Loader, cmd: Command) -> Response {
        let r = ask(l, cmd).remove(0);
        assert!(r.is_ok(), "{r:?}");
        r
    }

    fn start_stub(l: &mut Loader) {
        ok(
            l,
            Command::MemBegin(Begin {
                size: 0x100,
                blocks: 1,
                block_size: 0x1800,
                offset: 0x4010_0000,
            }),
        );
        let acts = l.on_frame(
            &Command::MemEnd {
                entry: Some(0x4010_0000),
            }
            .to_request()
            .encode(),
        );
        assert_eq!(acts[1], Action::Frame(b"OHAI".to_vec()));
        assert!(l.is_stub());
    }

    #[test]
    fn a_jump_outside_the_uploaded_ram_greets_not_and_goes_silent_until_reset() {
        let mut l = Loader::new(MAC, Vec::new(), 115_200);
        let acts = l.on_frame(
            &Command::MemEnd {
                entry: Some(0x4010_0000),
            }
            .to_request()
            .encode(),
        );
        assert_eq!(acts.len(), 1, "the ROM's answer, no greeting: {acts:?}");
        assert!(!l.is_stub());
        assert!(
            ask(&mut l, Command::Sync).is_empty(),
            "a lost chip answers nothing"
        );
        l.reset(115_200);
        assert_eq!(ask(&mut l, Command::Sync).len(), 8);
        start_stub(&mut l);
    }

    #[test]
    fn the_stub_answers_change_baudrate_at_the_old_rate_then_switches() {
        let mut l = Loader::new(MAC, Vec::new(), 115_200);
        let no = ask(
            &mut l,
            Command::ChangeBaudrate {
                new: 460_800,
                old: 0,
            },
        );
        assert_eq!(
            no[0].error,
            rl::ERR_INVALID_MESSAGE,
            "the ESP8266 ROM cannot"
        );
        start_stub(&mut l);
        let acts = l.on_frame(
            &Command::ChangeBaudrate {
                new: 460_800,
                old: 115_200,
            }
            .to_request()
            .encode(),
        );
        assert!(matches!(&acts[0], Action::Frame(_)), "{acts:?}");
        assert_eq!(acts[1], Action::Baud(460_800), "after the answer");
        let clkdiv = ok(
            &mut l,
            Command::ReadReg {
                addr: rl::UART_CLKDIV_REG,
            },
        );
        assert_eq!(clkdiv.value, 52_000_000 / 460_800);
        l.reset(115_200);
        assert!(!l.is_stub(), "a reset brings the ROM back");
    }

    #[test]
    fn untouched_flash_reads_erased_without_being_held() {
        let mut l = Loader::new(MAC, Vec::new(), 115_200);
        start_stub(&mut l);
        let r = ok(
            &mut l,
            Command::SpiFlashMd5 {
                addr: 0x3F_F000,
                size: 0x1000,
            },
        );
        assert_eq!(r.data, Md5::digest([0xFF; 0x1000]).to_vec());
        // Hashing the last sector materialised the flash up to it; erasing the chip lets go of it all.
        assert_eq!(l.flash().len(), FLASH_SIZE);
        ok(&mut l, Command::EraseFlash);
        assert!(l.flash().is_empty());
        let r = ask(
            &mut l,
            Command::SpiFlashMd5 {
                addr: 0x3F_F000,
                size: 0x2000,
            },
        );
        assert!(!r[0].is_ok(), "past the end of the 4 MiB flash");
    }

    #[test]
    fn rom_syncs_eight_times_and_identifies_as_esp8266() {
        let mut l = Loader::new(MAC, Vec::new(), 115_200);
        let syncs = ask(&mut l, Command::Sync);
        assert_eq!(syncs.len(), 8);
        assert!(syncs.iter().all(|r| r.value != 0));
        let magic = ok(
            &mut l,
            Command::ReadReg {
                addr: rl::CHIP_MAGIC_REG,
            },
        );
        assert_eq!(magic.value, rl::ESP8266_MAGIC);
        let words = rl::EFUSE_WORDS.map(|addr| ok(&mut l, Command::ReadReg { addr }).value);
        assert_eq!(rl::mac_from_efuse(words), Some(MAC));
        let no = ask(&mut l, Command::SpiFlashMd5 { addr: 0, size: 16 }).remove(0);
        assert_eq!((no.status, no.error), (1, rl::ERR_INVALID_MESSAGE));
        let unknown = ask(&mut l, Command::Unknown(0x14)).remove(0);
        assert_eq!(unknown.error, rl::ERR_INVALID_MESSAGE);
    }

    #[test]
    fn rom_flash_write_lands_by_sequence_and_bad_checksums_are_refused() {
        let mut l = Loader::new(MAC, vec![0; 0x3000], 115_200);
        let erase = rl::rom_erase_request(0x1000, 0x800);
        ok(
            &mut l,
            Command::FlashBegin(Begin {
                size: erase,
                blocks: 2,
                block_size: 0x400,
                offset: 0x1000,
            }),
        );
        assert!(l.flash()[0x1000..0x2000].iter().all(|&b| b == 0xFF));
        assert_eq!(l.flash()[0], 0, "outside the erase");
        ok(
            &mut l,
            Command::FlashData(DataBlock {
                seq: 1,
                data: vec![0xA5; 0x400],
            }),
        );
        ok(
            &mut l,
            Command::FlashData(DataBlock {
                seq: 0,
                data: vec![0x5A; 0x400],
            }),
        );
        assert_eq!(&l.flash()[0x1000..0x1002], &[0x5A, 0x5A]);
        assert_eq!(l.flash()[0x1400], 0xA5);
        let mut bad = Command::FlashData(DataBlock {
            seq: 0,
            data: vec![1; 4],
        })
        .to_request();
        bad.checksum ^= 0xFF;
        let acts = l.on_frame(&bad.encode());
        let Action::Frame(f) = &acts[0] else { panic!() };
        assert_eq!(Response::decode(f).unwrap().error, rl::ERR_BAD_CHECKSUM);
        let end = l.on_frame(
            &Command::FlashEnd {
                run_user_code: true,
            }
            .to_request()
            .encode(),
        );
        assert_eq!(end.last(), Some(&Action::RunUserCode));
    }

    #[test]
    fn stub_inflates_hashes_and_streams_flash_back() {
        let mut l = Loader::new(MAC, Vec::new(), 115_200);
        start_stub(&mut l);
        assert_eq!(ask(&mut l, Command::Sync)[0].value, 0);
        let image: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(&image).unwrap();
        let packed = z.finish().unwrap();
        let blocks: Vec<&[u8]> = packed.chunks(0x100).collect();
        ok(
            &mut l,
            Command::FlashDeflBegin(Begin {
                size: image.len() as u32,
                blocks: blocks.len() as u32,
                block_size: 0x100,
                offset: 0x2000,
            }),
        );
        for (seq, b) in blocks.iter().enumerate() {
            ok(
                &mut l,
                Command::FlashDeflData(DataBlock {
                    seq: seq as u32,
                    data: b.to_vec(),
                }),
            );
        }
        assert_eq!(&l.flash()[0x2000..0x2000 + image.len()], &image[..]);
        let md5 = ok(
            &mut l,
            Command::SpiFlashMd5 {
                addr: 0x2000,
                size: image.len() as u32,
            },
        );
        assert_eq!(md5.data, Md5::digest(&image).to_vec());

        let acts = l.on_frame(
            &Command::ReadFlash {
                offset: 0x2000,
                length: 0x1800,
                block_size: 0x1000,
                max_inflight: 1,
            }
            .to_request()
            .encode(),
        );
        assert_eq!(acts.len(), 2, "answer, then one block in flight");
        let more = l.on_frame(&0x1000u32.to_le_bytes());
        assert_eq!(more, vec![Action::Frame(image[0x1000..0x1800].to_vec())]);
        let digest = l.on_frame(&0x1800u32.to_le_bytes());
        assert_eq!(
            digest,
            vec![Action::Frame(Md5::digest(&image[..0x1800]).to_vec())]
        );
        assert_eq!(ask(&mut l, Command::RunUserCode).len(), 0, "no answer");
    }

    #[test]
    fn spi_rdid_through_the_controller_registers() {
        let mut l = Loader::new(MAC, Vec::new(), 115_200);
        let w = |l: &mut Loader, addr, value| {
            ok(
                l,
                Command::WriteReg {
                    addr,
                    value,
                    mask: u32::MAX,
                    delay_us: 0,
                },
            );
        };
        w(&mut l, SPI_USR2, (7 << 28) | 0x9F);
        w(&mut l, SPI_CMD, SPI_CMD_USR);
        assert_eq!(
            ok(&mut l, Command::ReadReg { addr: SPI_CMD }).value & SPI_CMD_USR,
            0
        );
        assert_eq!(
            ok(&mut l, Command::ReadReg { addr: SPI_W0 }).value,
            FLASH_ID
        );
    }
}
