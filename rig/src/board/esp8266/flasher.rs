//! Our ESP8266 flasher: SYNC, chip check, MAC, then either FLASH_BEGIN/DATA/END to the ROM loader in 0x400-byte
//! blocks, or (given esptool's flasher stub, `stub.rs`) the stub uploaded to RAM, the link switched to a faster
//! baud, compressed 0x4000-byte blocks and an SPI_FLASH_MD5 verify, and the link back at 115200 for the console.
//! A stub already running (esptool left it) is used as found. Every wait is bounded; every bad byte from the
//! board is an error that names the board and the step.

use super::image;
use super::rom_loader::{self as rl, Begin, Command, DataBlock, Response};
use super::slip;
use super::stub::FlasherStub;
use super::BAUD;
use crate::board::error::FlashError;
use crate::board::flash_records::FlashRecords;
use crate::board::serial::SetBaud;
use crate::board::{FlashOutcome, Mac, Progress};
use flate2::{write::ZlibEncoder, Compression};
use md5::{Digest, Md5};
use std::collections::VecDeque;
use std::io::Write as _;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

type Result<T, E = FlashError> = std::result::Result<T, E>;

const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
const SYNC_ATTEMPTS: usize = 10;
const SYNC_WAIT: Duration = Duration::from_millis(250);
/// Erasing and hashing take time on the chip: bounds per MiB, as the datasheets' worst cases allow.
const ERASE_PER_MIB: Duration = Duration::from_secs(30);
const MD5_PER_MIB: Duration = Duration::from_secs(8);
/// A started stub greets at once; esptool waits its default 3 s read timeout for it.
const STUB_GREETING_WAIT: Duration = Duration::from_secs(3);
/// What the line carries while both ends switch speed is dropped (esptool waits 50 ms too).
const BAUD_SETTLE: Duration = Duration::from_millis(50);
/// READ_FLASH blocks the stub may send ahead of our acknowledgements (esptool's number).
const READ_IN_FLIGHT: u32 = 64;

/// How a board is flashed: through the stub at `baud`, or (no stub) through the ROM at 115200.
#[derive(Debug, Clone)]
pub struct FlashLink {
    pub stub: Option<std::sync::Arc<FlasherStub>>,
    /// The link's speed while the stub writes; the ROM and the console stay at [`BAUD`].
    pub baud: u32,
}

impl FlashLink {
    /// The ROM loader alone, at its own speed.
    pub const fn rom() -> FlashLink {
        FlashLink {
            stub: None,
            baud: BAUD,
        }
    }
}

fn per_mib(rate: Duration, bytes: usize) -> Duration {
    COMMAND_TIMEOUT.max(rate.mul_f64(bytes as f64 / (1 << 20) as f64))
}

pub struct Flasher<P> {
    port: P,
    board: String,
    decoder: slip::Decoder,
    frames: VecDeque<Vec<u8>>,
    stub: bool,
    /// The link's speed now (both ends).
    baud: u32,
}

impl<P: AsyncRead + AsyncWrite + SetBaud + Unpin + Send> Flasher<P> {
    /// Syncs with a chip already in its loader (reset it there first: `reset_lines::reset_into_loader`).
    pub async fn connect(port: P, board: &str) -> Result<Self> {
        let mut f = Flasher {
            port,
            board: board.to_string(),
            decoder: slip::Decoder::new(),
            frames: VecDeque::new(),
            stub: false,
            baud: BAUD,
        };
        for _ in 0..SYNC_ATTEMPTS {
            f.send(&Command::Sync).await?;
            match f.response(rl::op::SYNC, "SYNC", SYNC_WAIT).await {
                Ok(r) => {
                    f.stub = r.value == 0;
                    // The ROM answers a SYNC eight times: let the echoes arrive and drop them.
                    f.drain(Duration::from_millis(100), "SYNC").await?;
                    return Ok(f);
                }
                Err(FlashError::Timeout { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(FlashError::NoSync {
            board: f.board,
            tries: SYNC_ATTEMPTS,
        })
    }

    /// Whether the flasher stub (not the ROM) is answering.
    pub fn is_stub(&self) -> bool {
        self.stub
    }

    pub fn into_port(self) -> P {
        self.port
    }

    /// Uploads the stub to RAM (MEM_BEGIN/DATA/END per segment), starts it and waits for its "OHAI". A stub
    /// already answering is kept.
    pub async fn run_stub(&mut self, stub: &FlasherStub) -> Result<()> {
        if self.stub {
            return Ok(());
        }
        for (segment, start) in [(&stub.text, stub.text_start), (&stub.data, stub.data_start)] {
            if segment.is_empty() {
                continue;
            }
            let blocks = segment.len().div_ceil(rl::RAM_BLOCK);
            let begin = Begin {
                size: segment.len() as u32,
                blocks: blocks as u32,
                block_size: rl::RAM_BLOCK as u32,
                offset: start,
            };
            self.command(
                Command::MemBegin(begin),
                "stub upload: MEM_BEGIN",
                COMMAND_TIMEOUT,
            )
            .await?;
            for (seq, chunk) in segment.chunks(rl::RAM_BLOCK).enumerate() {
                let cmd = Command::MemData(DataBlock {
                    seq: seq as u32,
                    data: chunk.to_vec(),
                });
                self.command(cmd, "stub upload: MEM_DATA", COMMAND_TIMEOUT)
                    .await?;
            }
        }
        // The ROM may jump before its MEM_END answer is out (esptool ignores it too): the greeting is what counts.
        self.send(&Command::MemEnd {
            entry: Some(stub.entry),
        })
        .await?;
        let deadline = Instant::now() + STUB_GREETING_WAIT;
        loop {
            match self.frame(deadline, "starting the stub").await {
                Ok(f) if f == rl::STUB_GREETING => break,
                Ok(_) => continue,
                Err(FlashError::Timeout { .. }) => {
                    return Err(FlashError::StubSilent {
                        board: self.board.clone(),
                        path: stub.path.clone(),
                        seconds: STUB_GREETING_WAIT.as_secs_f64(),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        self.stub = true;
        Ok(())
    }

    /// Switches both ends of a stub's link to `baud` (the ROM cannot).
    pub async fn change_baud(&mut self, baud: u32) -> Result<()> {
        if baud == self.baud || !self.stub {
            return Ok(());
        }
        let cmd = Command::ChangeBaudrate {
            new: baud,
            old: self.baud,
        };
        self.command(cmd, &format!("CHANGE_BAUDRATE to {baud}"), COMMAND_TIMEOUT)
            .await?;
        self.port.set_baud(baud).map_err(|error| FlashError::Port {
            board: self.board.clone(),
            step: format!("setting the port to {baud} baud"),
            error,
        })?;
        self.baud = baud;
        tokio::time::sleep(BAUD_SETTLE).await;
        self.drain(BAUD_SETTLE, "CHANGE_BAUDRATE").await
    }

    /// Refuses anything but an ESP8266.
    pub async fn check_chip(&mut self) -> Result<()> {
        let magic = self.read_reg(rl::CHIP_MAGIC_REG, "chip detect").await?;
        if magic != rl::ESP8266_MAGIC {
            return Err(FlashError::WrongChip {
                board: self.board.clone(),
                detail: format!(
                    "READ_REG 0x{:08X} = 0x{magic:08X}, not an ESP8266 (0x{:08X})",
                    rl::CHIP_MAGIC_REG,
                    rl::ESP8266_MAGIC
                ),
            });
        }
        Ok(())
    }

    pub async fn read_mac(&mut self) -> Result<Mac> {
        let mut words = [0u32; 4];
        for (w, addr) in words.iter_mut().zip(rl::EFUSE_WORDS) {
            *w = self.read_reg(addr, "read MAC").await?;
        }
        rl::mac_from_efuse(words).ok_or_else(|| FlashError::NoMac {
            board: self.board.clone(),
            detail: format!("efuse words {words:08X?} hold no MAC this flasher knows"),
        })
    }

    pub async fn read_reg(&mut self, addr: u32, step: &str) -> Result<u32> {
        Ok(self
            .command(Command::ReadReg { addr }, step, COMMAND_TIMEOUT)
            .await?
            .value)
    }

    /// MD5 of a flash region, when the stub is there to compute it (the ESP8266 ROM cannot).
    pub async fn flash_md5(&mut self, offset: u32, len: usize) -> Result<Option<[u8; 16]>> {
        if !self.stub {
            return Ok(None);
        }
        let cmd = Command::SpiFlashMd5 {
            addr: offset,
            size: len as u32,
        };
        let r = self
            .command(cmd, "flash MD5", per_mib(MD5_PER_MIB, len))
            .await?;
        let digest: [u8; 16] = r
            .data
            .as_slice()
            .try_into()
            .map_err(|_| FlashError::BadReply {
                board: self.board.clone(),
                step: "flash MD5".into(),
                detail: format!("{} bytes of digest, expected 16", r.data.len()),
            })?;
        Ok(Some(digest))
    }

    /// Reads `len` bytes of flash at `offset` through the stub (READ_FLASH: 4 KiB frames, each acknowledged with
    /// the count so far, then the stub's MD5 of the whole, checked); None without the stub.
    pub async fn read_flash(&mut self, offset: u32, len: usize) -> Result<Option<Vec<u8>>> {
        if !self.stub {
            return Ok(None);
        }
        let cmd = Command::ReadFlash {
            offset,
            length: len as u32,
            block_size: rl::SECTOR as u32,
            max_inflight: READ_IN_FLIGHT,
        };
        self.command(cmd, "READ_FLASH", COMMAND_TIMEOUT).await?;
        let mut data = Vec::with_capacity(len);
        while data.len() < len {
            let block = self
                .frame(Instant::now() + COMMAND_TIMEOUT, "READ_FLASH data")
                .await?;
            if block.len() > len - data.len()
                || (block.len() < rl::SECTOR && data.len() + block.len() < len)
            {
                return Err(self.bad_reply(
                    "READ_FLASH data",
                    format!(
                        "a block of {} bytes at {} of {len}",
                        block.len(),
                        data.len()
                    ),
                ));
            }
            data.extend_from_slice(&block);
            let ack = slip::encode(&(data.len() as u32).to_le_bytes());
            self.write_raw(&ack, "READ_FLASH acknowledgement").await?;
        }
        let digest = self
            .frame(Instant::now() + COMMAND_TIMEOUT, "READ_FLASH digest")
            .await?;
        if digest.as_slice() != Md5::digest(&data).as_slice() {
            return Err(self.bad_reply(
                "READ_FLASH digest",
                format!("the stub's MD5 {digest:02x?} is not that of the bytes read"),
            ));
        }
        Ok(Some(data))
    }

    fn bad_reply(&self, step: &str, detail: String) -> FlashError {
        FlashError::BadReply {
            board: self.board.clone(),
            step: step.to_string(),
            detail,
        }
    }

    /// Writes `data` at `offset`, calling `progress` after every block. With the stub the write is compressed
    /// and then checked against the chip's MD5 of the region.
    pub async fn write_flash(
        &mut self,
        offset: u32,
        data: &[u8],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<()> {
        if !(offset as usize).is_multiple_of(rl::SECTOR) {
            return Err(FlashError::Misaligned {
                board: self.board.clone(),
                offset,
            });
        }
        if self.stub {
            self.write_compressed(offset, data, progress).await?;
            let want: [u8; 16] = Md5::digest(data).into();
            match self.flash_md5(offset, data.len()).await? {
                Some(got) if got == want => Ok(()),
                got => Err(FlashError::VerifyMismatch {
                    board: self.board.clone(),
                    got: got.unwrap_or_default(),
                    want,
                }),
            }
        } else {
            self.write_rom(offset, data, progress).await
        }
    }

    async fn write_rom(
        &mut self,
        offset: u32,
        data: &[u8],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<()> {
        let blocks = data.len().div_ceil(rl::FLASH_BLOCK);
        let begin = Begin {
            size: rl::rom_erase_request(offset, data.len() as u32),
            blocks: blocks as u32,
            block_size: rl::FLASH_BLOCK as u32,
            offset,
        };
        self.command(
            Command::FlashBegin(begin),
            "FLASH_BEGIN (erase)",
            per_mib(ERASE_PER_MIB, data.len()),
        )
        .await?;
        for (seq, chunk) in data.chunks(rl::FLASH_BLOCK).enumerate() {
            // The ROM writes whole blocks: pad the last with erased-flash bytes.
            let mut block = chunk.to_vec();
            block.resize(rl::FLASH_BLOCK, 0xFF);
            let cmd = Command::FlashData(DataBlock {
                seq: seq as u32,
                data: block,
            });
            self.command(cmd, &format!("FLASH_DATA block {seq}"), COMMAND_TIMEOUT)
                .await?;
            progress(Progress {
                written: ((seq + 1) * rl::FLASH_BLOCK).min(data.len()),
                total: data.len(),
            });
        }
        Ok(())
    }

    async fn write_compressed(
        &mut self,
        offset: u32,
        data: &[u8],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<()> {
        let packed = deflate(data).map_err(|error| FlashError::Compress {
            board: self.board.clone(),
            error,
        })?;
        let blocks: Vec<&[u8]> = packed.chunks(rl::STUB_FLASH_BLOCK).collect();
        let begin = Begin {
            size: data.len() as u32,
            blocks: blocks.len() as u32,
            block_size: rl::STUB_FLASH_BLOCK as u32,
            offset,
        };
        self.command(
            Command::FlashDeflBegin(begin),
            "FLASH_DEFL_BEGIN",
            per_mib(ERASE_PER_MIB, data.len()),
        )
        .await?;
        for (seq, block) in blocks.iter().enumerate() {
            let cmd = Command::FlashDeflData(DataBlock {
                seq: seq as u32,
                data: block.to_vec(),
            });
            self.command(
                cmd,
                &format!("FLASH_DEFL_DATA block {seq}"),
                per_mib(ERASE_PER_MIB, rl::STUB_FLASH_BLOCK * 4),
            )
            .await?;
            let done = (seq + 1) * rl::STUB_FLASH_BLOCK;
            progress(Progress {
                written: (done * data.len() / packed.len().max(1)).min(data.len()),
                total: data.len(),
            });
        }
        // The stub answers a block before writing it: FLASH_DEFL_END (staying in the stub, as esptool sends it)
        // is answered once the last write is done.
        self.command(
            Command::FlashDeflEnd {
                run_user_code: true,
            },
            "FLASH_DEFL_END",
            per_mib(ERASE_PER_MIB, rl::STUB_FLASH_BLOCK * 4),
        )
        .await?;
        Ok(())
    }

    /// Leaves the loader for the app in flash, without a reset (so without the modem lines).
    pub async fn run_user_code(&mut self) -> Result<()> {
        if self.stub {
            // The stub jumps without answering.
            self.send(&Command::RunUserCode).await
        } else {
            let empty = Begin {
                size: 0,
                blocks: 0,
                block_size: rl::FLASH_BLOCK as u32,
                offset: 0,
            };
            self.command(Command::FlashBegin(empty), "FLASH_BEGIN", COMMAND_TIMEOUT)
                .await?;
            self.command(
                Command::FlashEnd {
                    run_user_code: true,
                },
                "FLASH_END (run)",
                COMMAND_TIMEOUT,
            )
            .await
            .map(|_| ())
        }
    }

    async fn send(&mut self, cmd: &Command) -> Result<()> {
        let frame = slip::encode(&cmd.to_request().encode());
        self.write_raw(&frame, &format!("writing op 0x{:02X}", cmd.op()))
            .await
    }

    async fn write_raw(&mut self, frame: &[u8], step: &str) -> Result<()> {
        let written = tokio::time::timeout(COMMAND_TIMEOUT, async {
            self.port.write_all(frame).await?;
            self.port.flush().await
        })
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "port stalled",
            ))
        });
        written.map_err(|error| FlashError::Port {
            board: self.board.clone(),
            step: step.to_string(),
            error,
        })
    }

    /// Sends a command and waits for its answer; a failure status is an error naming the step.
    async fn command(&mut self, cmd: Command, step: &str, timeout: Duration) -> Result<Response> {
        let op = cmd.op();
        self.send(&cmd).await?;
        let r = self.response(op, step, timeout).await?;
        if !r.is_ok() {
            return Err(FlashError::Refused {
                board: self.board.clone(),
                step: step.to_string(),
                status: r.status,
                code: r.error,
                meaning: rl::error_name(r.error),
            });
        }
        Ok(r)
    }

    /// The next response to `op`; stale answers to earlier commands are dropped on the way.
    async fn response(&mut self, op: u8, step: &str, timeout: Duration) -> Result<Response> {
        let deadline = Instant::now() + timeout;
        loop {
            let frame = self.frame(deadline, step).await?;
            if frame.first() != Some(&rl::RESPONSE) {
                // Not a response (a stub's greeting, a late READ_FLASH block): not ours.
                continue;
            }
            let r = Response::decode(&frame).map_err(|e| FlashError::BadReply {
                board: self.board.clone(),
                step: step.to_string(),
                detail: format!("malformed response {frame:02X?}: {e}"),
            })?;
            if r.op == op {
                return Ok(r);
            }
        }
    }

    async fn frame(&mut self, deadline: Instant, step: &str) -> Result<Vec<u8>> {
        let mut buf = [0u8; 1024];
        loop {
            if let Some(f) = self.frames.pop_front() {
                return Ok(f);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let n = match tokio::time::timeout(left, self.port.read(&mut buf)).await {
                Err(_) => {
                    return Err(FlashError::Timeout {
                        board: self.board.clone(),
                        step: step.to_string(),
                        seconds: left.as_secs_f64(),
                    })
                }
                Ok(r) => r.map_err(|error| self.read_failed(step, error))?,
            };
            if n == 0 {
                return Err(FlashError::Closed {
                    board: self.board.clone(),
                    step: step.to_string(),
                });
            }
            for f in self.decoder.feed(&buf[..n]) {
                self.frames.push_back(f.map_err(|e| FlashError::BadReply {
                    board: self.board.clone(),
                    step: step.to_string(),
                    detail: format!("bad framing from the board: {e}"),
                })?);
            }
        }
    }

    fn read_failed(&self, step: &str, error: std::io::Error) -> FlashError {
        FlashError::Port {
            board: self.board.clone(),
            step: format!("{step}: reading the port"),
            error,
        }
    }

    async fn drain(&mut self, quiet: Duration, step: &str) -> Result<()> {
        let mut buf = [0u8; 1024];
        while let Ok(r) = tokio::time::timeout(quiet, self.port.read(&mut buf)).await {
            if r.map_err(|error| self.read_failed(step, error))? == 0 {
                break;
            }
        }
        self.decoder.reset();
        self.frames.clear();
        Ok(())
    }
}

/// `data` as the stub's FLASH_DEFL_DATA blocks carry it: a zlib stream at esptool's level (9).
pub fn deflate(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(data)?;
    z.finish()
}

/// Checks the image, connects, identifies the chip, starts the stub and speeds the link up as `link` says, and
/// writes the image at 0x0 unless the board already holds it (by the stub's MD5 when the stub answers, else by
/// `records`). Leaves the chip in its loader (or stub) with the link back at 115200.
pub async fn flash_image<P: AsyncRead + AsyncWrite + SetBaud + Unpin + Send>(
    port: P,
    board: &str,
    link: &FlashLink,
    firmware: &[u8],
    records: Option<&FlashRecords>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(Flasher<P>, Mac, FlashOutcome)> {
    flash_image_onto(port, board, None, link, firmware, records, progress).await
}

/// [`flash_image`], refusing to write unless the chip's MAC is `expect_mac` (when given): a port that changed
/// hands since the board was found there is never flashed.
pub async fn flash_image_onto<P: AsyncRead + AsyncWrite + SetBaud + Unpin + Send>(
    port: P,
    board: &str,
    expect_mac: Option<Mac>,
    link: &FlashLink,
    firmware: &[u8],
    records: Option<&FlashRecords>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(Flasher<P>, Mac, FlashOutcome)> {
    image::parse(firmware).map_err(|e| FlashError::ImageInvalid {
        board: board.to_string(),
        reason: e.to_string(),
    })?;
    let mut f = Flasher::connect(port, board).await?;
    f.check_chip().await?;
    let mac = f.read_mac().await?;
    if let Some(want) = expect_mac.filter(|want| *want != mac) {
        return Err(FlashError::WrongBoard {
            board: board.to_string(),
            found: mac,
            want,
        });
    }
    if let Some(stub) = &link.stub {
        f.run_stub(stub).await?;
    }
    f.change_baud(link.baud).await?;
    let outcome = write_unless_held(&mut f, mac, firmware, records, progress).await?;
    // The console (and the ROM after a reset) runs at 115200: leave the link there.
    f.change_baud(BAUD).await?;
    Ok((f, mac, outcome))
}

async fn write_unless_held<P: AsyncRead + AsyncWrite + SetBaud + Unpin + Send>(
    f: &mut Flasher<P>,
    mac: Mac,
    firmware: &[u8],
    records: Option<&FlashRecords>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<FlashOutcome> {
    let board = f.board.clone();
    let want: [u8; 16] = Md5::digest(firmware).into();
    if f.flash_md5(0, firmware.len()).await? == Some(want) {
        return Ok(FlashOutcome::Unchanged("flash MD5 matches"));
    }
    if !f.is_stub() && records.is_some_and(|r| r.holds(mac, 0, firmware)) {
        return Ok(FlashOutcome::Unchanged("flashed by this rig before"));
    }
    let started = Instant::now();
    f.write_flash(0, firmware, progress).await?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(r) = records {
        r.store(mac, 0, firmware)
            .map_err(|error| FlashError::Record { board, error })?;
    }
    Ok(FlashOutcome::Written {
        bytes: firmware.len(),
        seconds,
    })
}
