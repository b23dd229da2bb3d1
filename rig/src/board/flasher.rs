//! Our ESP8266 flasher: SYNC, chip check, MAC, and FLASH_BEGIN/DATA/END to the ROM loader in 0x400-byte blocks.
//! When the flasher stub is already running (esptool left it, or a board that keeps one), it writes compressed
//! 0x4000-byte blocks and verifies with SPI_FLASH_MD5 instead. Every wait is bounded; every bad byte from the
//! board is an error that names the board and the step.

use super::image;
use super::rom_loader::{self as rl, Begin, Command, DataBlock, Response};
use super::slip;
use anyhow::{anyhow, bail, Context, Result};
use flate2::{write::ZlibEncoder, Compression};
use md5::{Digest, Md5};
use sha2::Sha256;
use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
const SYNC_ATTEMPTS: usize = 10;
const SYNC_WAIT: Duration = Duration::from_millis(250);
/// Erasing and hashing take time on the chip: bounds per MiB, as the datasheets' worst cases allow.
const ERASE_PER_MIB: Duration = Duration::from_secs(30);
const MD5_PER_MIB: Duration = Duration::from_secs(8);

fn per_mib(rate: Duration, bytes: usize) -> Duration {
    COMMAND_TIMEOUT.max(rate.mul_f64(bytes as f64 / (1 << 20) as f64))
}

/// How far a write has got, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub written: usize,
    pub total: usize,
}

pub struct Flasher<P> {
    port: P,
    board: String,
    decoder: slip::Decoder,
    frames: VecDeque<Vec<u8>>,
    stub: bool,
}

impl<P: AsyncRead + AsyncWrite + Unpin + Send> Flasher<P> {
    /// Syncs with a chip already in its loader (reset it there first: `reset_lines::reset_into_loader`).
    pub async fn connect(port: P, board: &str) -> Result<Self> {
        let mut f = Flasher {
            port,
            board: board.to_string(),
            decoder: slip::Decoder::new(),
            frames: VecDeque::new(),
            stub: false,
        };
        for _ in 0..SYNC_ATTEMPTS {
            f.send(&Command::Sync).await?;
            match f.response(rl::op::SYNC, "SYNC", SYNC_WAIT).await {
                Ok(r) => {
                    f.stub = r.value == 0;
                    // The ROM answers a SYNC eight times: let the echoes arrive and drop them.
                    f.drain(Duration::from_millis(100)).await?;
                    return Ok(f);
                }
                Err(e) if e.downcast_ref::<TimedOut>().is_some() => continue,
                Err(e) => return Err(e),
            }
        }
        bail!(
            "{}: no answer to SYNC after {SYNC_ATTEMPTS} tries: is the board in its serial loader (GPIO0 low at reset)?",
            f.board
        )
    }

    /// Whether the flasher stub (not the ROM) is answering.
    pub fn is_stub(&self) -> bool {
        self.stub
    }

    pub fn into_port(self) -> P {
        self.port
    }

    /// Refuses anything but an ESP8266.
    pub async fn check_chip(&mut self) -> Result<()> {
        let magic = self.read_reg(rl::CHIP_MAGIC_REG, "chip detect").await?;
        if magic != rl::ESP8266_MAGIC {
            bail!(
                "{}: chip detect: READ_REG 0x{:08X} = 0x{magic:08X}, not an ESP8266 (0x{:08X})",
                self.board,
                rl::CHIP_MAGIC_REG,
                rl::ESP8266_MAGIC
            );
        }
        Ok(())
    }

    pub async fn read_mac(&mut self) -> Result<[u8; 6]> {
        let mut words = [0u32; 4];
        for (w, addr) in words.iter_mut().zip(rl::EFUSE_WORDS) {
            *w = self.read_reg(addr, "read MAC").await?;
        }
        rl::mac_from_efuse(words).ok_or_else(|| {
            anyhow!(
                "{}: read MAC: efuse words {words:08X?} hold no MAC this flasher knows",
                self.board
            )
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
        let digest: [u8; 16] = r.data.as_slice().try_into().map_err(|_| {
            anyhow!(
                "{}: flash MD5: {} bytes of digest, expected 16",
                self.board,
                r.data.len()
            )
        })?;
        Ok(Some(digest))
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
            bail!(
                "{}: flash offset 0x{offset:X} is not on a 4 KiB sector",
                self.board
            );
        }
        if self.stub {
            self.write_compressed(offset, data, progress).await?;
            let want: [u8; 16] = Md5::digest(data).into();
            match self.flash_md5(offset, data.len()).await? {
                Some(got) if got == want => Ok(()),
                got => bail!(
                    "{}: verify: flash MD5 {:02x?} differs from the image's {want:02x?}",
                    self.board,
                    got.unwrap_or_default()
                ),
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
        let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
        z.write_all(data)?;
        let packed = z.finish()?;
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
        // The stub answers a block before writing it: one more command waits for the last write.
        self.read_reg(rl::CHIP_MAGIC_REG, "waiting for the last block")
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
        let board = &self.board;
        tokio::time::timeout(COMMAND_TIMEOUT, async {
            self.port.write_all(&frame).await?;
            self.port.flush().await
        })
        .await
        .map_err(|_| anyhow!("{board}: writing op 0x{:02X}: port stalled", cmd.op()))?
        .with_context(|| format!("{board}: writing op 0x{:02X}", cmd.op()))
    }

    /// Sends a command and waits for its answer; a failure status is an error naming the step.
    async fn command(&mut self, cmd: Command, step: &str, timeout: Duration) -> Result<Response> {
        let op = cmd.op();
        self.send(&cmd).await?;
        let r = self.response(op, step, timeout).await?;
        if !r.is_ok() {
            bail!(
                "{}: {step}: the chip answered status {} error 0x{:02X} ({})",
                self.board,
                r.status,
                r.error,
                rl::error_name(r.error)
            );
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
            let r = Response::decode(&frame).map_err(|e| {
                anyhow!(
                    "{}: {step}: malformed response {frame:02X?}: {e}",
                    self.board
                )
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
                    return Err(anyhow::Error::new(TimedOut).context(format!(
                        "{}: {step}: no answer within {:.1} s",
                        self.board,
                        left.as_secs_f64()
                    )))
                }
                Ok(r) => r.with_context(|| format!("{}: {step}: reading the port", self.board))?,
            };
            if n == 0 {
                bail!("{}: {step}: the port closed", self.board);
            }
            for f in self.decoder.feed(&buf[..n]) {
                self.frames.push_back(f.map_err(|e| {
                    anyhow!("{}: {step}: bad framing from the board: {e}", self.board)
                })?);
            }
        }
    }

    async fn drain(&mut self, quiet: Duration) -> Result<()> {
        let mut buf = [0u8; 1024];
        while let Ok(r) = tokio::time::timeout(quiet, self.port.read(&mut buf)).await {
            if r? == 0 {
                break;
            }
        }
        self.decoder.reset();
        self.frames.clear();
        Ok(())
    }
}

/// Marks a wait that ran out, so SYNC can retry it.
#[derive(Debug)]
struct TimedOut;

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("timed out")
    }
}

impl std::error::Error for TimedOut {}

/// What was flashed last onto each board, by MAC: lets the ROM path (which cannot hash flash) skip an image
/// the board already runs. Only this rig's writes are recorded: a board flashed elsewhere since needs its record
/// deleted.
pub struct FlashRecords {
    dir: PathBuf,
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct Record {
    offset: u32,
    len: usize,
    sha256: String,
}

impl FlashRecords {
    pub fn new(dir: &Path) -> Self {
        FlashRecords {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, mac: [u8; 6]) -> PathBuf {
        self.dir
            .join(format!("{}.json", rl::format_mac(mac).replace(':', "")))
    }

    fn record(offset: u32, data: &[u8]) -> Record {
        Record {
            offset,
            len: data.len(),
            sha256: hex(&Sha256::digest(data)),
        }
    }

    pub fn holds(&self, mac: [u8; 6], offset: u32, data: &[u8]) -> bool {
        std::fs::read(self.path(mac))
            .ok()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
            .is_some_and(|r| r == Self::record(offset, data))
    }

    pub fn store(&self, mac: [u8; 6], offset: u32, data: &[u8]) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let json = serde_json::to_vec(&Self::record(offset, data))?;
        std::fs::write(self.path(mac), json)
            .with_context(|| format!("writing {}", self.path(mac).display()))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, PartialEq)]
pub enum FlashOutcome {
    /// Skipped: the board already holds the image; says how that was known.
    Unchanged(&'static str),
    Written {
        bytes: usize,
        seconds: f64,
    },
}

/// Checks the image, connects, identifies the chip and writes the image at 0x0 unless the board already holds
/// it (by the stub's MD5 when the stub answers, else by `records`). Leaves the chip in its loader.
pub async fn flash_image<P: AsyncRead + AsyncWrite + Unpin + Send>(
    port: P,
    board: &str,
    firmware: &[u8],
    records: Option<&FlashRecords>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(Flasher<P>, [u8; 6], FlashOutcome)> {
    flash_image_onto(port, board, None, firmware, records, progress).await
}

/// [`flash_image`], refusing to write unless the chip's MAC is `expect_mac` (when given): a port that changed
/// hands since the board was found there is never flashed.
pub async fn flash_image_onto<P: AsyncRead + AsyncWrite + Unpin + Send>(
    port: P,
    board: &str,
    expect_mac: Option<[u8; 6]>,
    firmware: &[u8],
    records: Option<&FlashRecords>,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<(Flasher<P>, [u8; 6], FlashOutcome)> {
    image::parse(firmware).with_context(|| format!("{board}: the image to flash"))?;
    let mut f = Flasher::connect(port, board).await?;
    f.check_chip().await?;
    let mac = f.read_mac().await?;
    if let Some(want) = expect_mac.filter(|want| *want != mac) {
        bail!(
            "{board}: flash: the chip on this port is {}, not {}: nothing written",
            rl::format_mac(mac),
            rl::format_mac(want)
        );
    }
    let want: [u8; 16] = Md5::digest(firmware).into();
    if f.flash_md5(0, firmware.len()).await? == Some(want) {
        return Ok((f, mac, FlashOutcome::Unchanged("flash MD5 matches")));
    }
    if !f.is_stub() && records.is_some_and(|r| r.holds(mac, 0, firmware)) {
        return Ok((
            f,
            mac,
            FlashOutcome::Unchanged("flashed by this rig before"),
        ));
    }
    let started = Instant::now();
    f.write_flash(0, firmware, progress).await?;
    let seconds = started.elapsed().as_secs_f64();
    if let Some(r) = records {
        r.store(mac, 0, firmware)?;
    }
    Ok((
        f,
        mac,
        FlashOutcome::Written {
            bytes: firmware.len(),
            seconds,
        },
    ))
}
