//! A MicroPython raw-REPL client: enter raw mode, run code (raw-paste when the board offers it), write files
//! (skipping those whose sha256, computed on the board, already matches), soft-reset into the app. Every read
//! is bounded in time; what the board sends that does not fit the protocol is an error naming board and step.

use super::{AppFile, DeployReport, Progress};
use sha2::{Digest, Sha256};
use std::path::{Component, Path};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

const RAW_BANNER: &[u8] = b"raw REPL; CTRL-B to exit\r\n>";
/// How long to get into the raw REPL; covers an app's one-second maintenance window and a slow boot.
const ENTER_TIMEOUT: Duration = Duration::from_secs(10);
/// Silence that ends a wait for the board's output.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// Source bytes per exec when writing files: large enough to save round trips, small enough for an
/// ESP8266's heap to compile.
const WRITE_EXEC_BUDGET: usize = 2048;
const FILE_CHUNK: usize = 256;

/// What went wrong talking to the REPL, by kind: the board's own exception is [`ReplError::Raised`].
#[derive(Debug, Error)]
pub enum ReplError {
    #[error("{board}: no raw REPL within {within:?} (is MicroPython running, and the app inside its Ctrl-C window?): {last}")]
    NoRawRepl {
        board: String,
        within: Duration,
        /// Why the last try failed.
        last: Box<ReplError>,
    },
    #[error("{board}: {step}: no answer within {seconds:.1} s (so far {so_far:?})")]
    Timeout {
        board: String,
        step: String,
        seconds: f64,
        /// The last bytes the board sent.
        so_far: String,
    },
    #[error("{board}: {step}: the port closed")]
    Closed { board: String, step: String },
    #[error("{board}: {step}: reading the port: {error}")]
    Read {
        board: String,
        step: String,
        error: std::io::Error,
    },
    #[error("{board}: {step}: writing the port: {error}")]
    Write {
        board: String,
        step: String,
        error: std::io::Error,
    },
    #[error("{board}: {step}: the port took no data for {idle:?}")]
    Stalled {
        board: String,
        step: String,
        idle: Duration,
    },
    #[error("{board}: {step}: the board raised:\n{traceback}")]
    Raised {
        board: String,
        step: String,
        traceback: String,
    },
    /// Bytes that do not fit the protocol.
    #[error("{board}: {step}: {detail}")]
    Protocol {
        board: String,
        step: String,
        detail: String,
    },
    #[error("{board}: refusing to deploy {path:?}: not a plain relative path")]
    BadPath { board: String, path: String },
    #[error("{board}: verify {path}: the board's copy differs from what was sent")]
    Verify { board: String, path: String },
}

type Result<T, E = ReplError> = std::result::Result<T, E>;

pub struct RawRepl<P> {
    port: P,
    board: String,
    pending: Vec<u8>,
    /// Whether the board took raw-paste; None until first asked.
    paste: Option<bool>,
}

impl<P: AsyncRead + AsyncWrite + Unpin + Send> RawRepl<P> {
    /// Interrupts whatever runs (Ctrl-C) and enters the raw REPL.
    pub async fn enter(port: P, board: &str) -> Result<Self> {
        let mut r = RawRepl {
            port,
            board: board.to_string(),
            pending: Vec::new(),
            paste: None,
        };
        let deadline = Instant::now() + ENTER_TIMEOUT;
        loop {
            r.write(b"\r\x03\x03", "interrupt").await?;
            r.drain(Duration::from_millis(150), "interrupt").await?;
            r.write(b"\r\x01", "enter raw REPL").await?;
            let wait =
                Duration::from_millis(1500).min(deadline.saturating_duration_since(Instant::now()));
            match r
                .read_until(RAW_BANNER, wait, deadline, "enter raw REPL")
                .await
            {
                Ok(_) => return Ok(r),
                Err(_) if Instant::now() < deadline => continue,
                Err(e) => {
                    return Err(ReplError::NoRawRepl {
                        board: board.to_string(),
                        within: ENTER_TIMEOUT,
                        last: Box::new(e),
                    })
                }
            }
        }
    }

    pub fn into_port(self) -> P {
        self.port
    }

    /// Runs code; returns its output, or an error holding the board's traceback.
    pub async fn exec(&mut self, code: &str, step: &str) -> Result<Vec<u8>> {
        let (out, err) = self.exec_raw(code.as_bytes(), step).await?;
        if !err.is_empty() {
            return Err(ReplError::Raised {
                board: self.board.clone(),
                step: step.to_string(),
                traceback: String::from_utf8_lossy(&err).trim_end().to_string(),
            });
        }
        Ok(out)
    }

    /// Runs code; returns (output, traceback).
    pub async fn exec_raw(&mut self, code: &[u8], step: &str) -> Result<(Vec<u8>, Vec<u8>)> {
        if self.paste != Some(false) {
            self.write(b"\x05A\x01", step).await?;
            let deadline = Instant::now() + IDLE_TIMEOUT;
            let head = self.read_exact(2, deadline, step).await?;
            match head.as_slice() {
                b"R\x01" => {
                    self.paste = Some(true);
                    self.paste_code(code, step).await?;
                    return self.read_result(step).await;
                }
                b"R\x00" => self.paste = Some(false),
                _ => {
                    // A board that predates raw-paste takes the request as code: clear it and go on in raw mode.
                    self.paste = Some(false);
                    self.write(b"\x03", step).await?;
                    self.drain(Duration::from_millis(100), step).await?;
                }
            }
        }
        for chunk in code.chunks(FILE_CHUNK) {
            self.write(chunk, step).await?;
        }
        self.write(b"\x04", step).await?;
        let deadline = Instant::now() + IDLE_TIMEOUT;
        let ok = self.read_exact(2, deadline, step).await?;
        if ok != b"OK" {
            return Err(self.protocol(
                step,
                format!(
                    "expected OK after the code, got {:?}",
                    String::from_utf8_lossy(&ok)
                ),
            ));
        }
        self.read_result(step).await
    }

    async fn paste_code(&mut self, code: &[u8], step: &str) -> Result<()> {
        let deadline = Instant::now() + IDLE_TIMEOUT;
        let window = self.read_exact(2, deadline, step).await?;
        let window = usize::from(u16::from_le_bytes([window[0], window[1]]));
        if window == 0 {
            return Err(self.protocol(step, "raw-paste window of 0 bytes".into()));
        }
        let mut credit = 0usize;
        let mut sent = 0;
        while sent < code.len() {
            // Take every flow-control byte already here; wait for one only when out of credit.
            while credit == 0 || !self.pending.is_empty() || self.poll_byte(step).await? {
                let deadline = Instant::now() + IDLE_TIMEOUT;
                match self.read_exact(1, deadline, step).await?[0] {
                    0x01 => credit += window,
                    0x04 => {
                        self.write(b"\x04", step).await?;
                        return Err(self.protocol(step, "the board aborted the raw paste".into()));
                    }
                    other => {
                        return Err(self.protocol(
                            step,
                            format!("unexpected byte 0x{other:02X} during raw paste"),
                        ))
                    }
                }
            }
            let n = credit.min(code.len() - sent);
            self.write(&code[sent..sent + n], step).await?;
            sent += n;
            credit -= n;
        }
        self.write(b"\x04", step).await?;
        // The board acknowledges the end of the code with \x04 (flow-control bytes may come first).
        self.read_until(
            b"\x04",
            IDLE_TIMEOUT,
            Instant::now() + IDLE_TIMEOUT * 6,
            step,
        )
        .await?;
        Ok(())
    }

    /// Output up to `\x04`, traceback up to `\x04`, then the `>` prompt.
    async fn read_result(&mut self, step: &str) -> Result<(Vec<u8>, Vec<u8>)> {
        let far = Instant::now() + Duration::from_secs(3600);
        let mut out = self.read_until(b"\x04", IDLE_TIMEOUT, far, step).await?;
        out.pop();
        let mut err = self.read_until(b"\x04", IDLE_TIMEOUT, far, step).await?;
        err.pop();
        self.read_until(b">", IDLE_TIMEOUT, far, step).await?;
        Ok((out, err))
    }

    /// Soft reset in raw mode: a fresh interpreter, back in the raw REPL (main.py does not run).
    pub async fn soft_reset(&mut self) -> Result<()> {
        self.write(b"\x04", "soft reset").await?;
        let deadline = Instant::now() + ENTER_TIMEOUT;
        self.read_until(b"soft reboot\r\n", IDLE_TIMEOUT, deadline, "soft reset")
            .await?;
        self.read_until(RAW_BANNER, IDLE_TIMEOUT, deadline, "soft reset")
            .await?;
        Ok(())
    }

    /// Leaves raw mode and soft-resets from the friendly REPL, so boot.py and main.py run; returns the port for
    /// the console reader and the app's output already read with the reboot line.
    pub async fn reset_into_app(mut self) -> Result<(P, Vec<u8>)> {
        self.write(b"\r\x02", "leave raw REPL").await?;
        let deadline = Instant::now() + ENTER_TIMEOUT;
        self.read_until(b">>> ", IDLE_TIMEOUT, deadline, "leave raw REPL")
            .await?;
        self.write(b"\x04", "soft reset into the app").await?;
        self.read_until(
            b"soft reboot\r\n",
            IDLE_TIMEOUT,
            deadline,
            "soft reset into the app",
        )
        .await?;
        // What came after the reboot line in the same read is the app's first output: handed over, not lost.
        Ok((self.port, self.pending))
    }

    /// sha256 of each file on the board (None: no such file), in one exec.
    pub async fn file_hashes(&mut self, paths: &[&str]) -> Result<Vec<Option<[u8; 32]>>> {
        let list = paths
            .iter()
            .map(|p| py_str(p))
            .collect::<Vec<_>>()
            .join(",");
        let code = format!(
            "try:\n import hashlib\nexcept ImportError:\n import uhashlib as hashlib\nimport binascii\n\
             def _h(p):\n try:\n  f=open(p,'rb')\n except OSError:\n  return '-'\n h=hashlib.sha256()\n \
             b=bytearray({FILE_CHUNK})\n m=memoryview(b)\n while True:\n  n=f.readinto(b)\n  if not n:\n   break\n  \
             h.update(m[:n])\n f.close()\n return binascii.hexlify(h.digest()).decode()\n\
             for _p in [{list}]:\n print(_h(_p))\n"
        );
        let out = self.exec(&code, "hash files").await?;
        let text = String::from_utf8_lossy(&out);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        if lines.len() != paths.len() {
            return Err(self.protocol(
                "hash files",
                format!(
                    "{} answers for {} files: {text:?}",
                    lines.len(),
                    paths.len()
                ),
            ));
        }
        lines
            .iter()
            .map(|l| {
                if *l == "-" {
                    return Ok(None);
                }
                parse_hex32(l)
                    .map(Some)
                    .ok_or_else(|| self.protocol("hash files", format!("bad digest {l:?}")))
            })
            .collect()
    }

    /// Writes one file, creating its folders; `progress` gets the bytes written so far.
    pub async fn write_file(
        &mut self,
        path: &str,
        contents: &[u8],
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<usize> {
        let step = format!("write {path}");
        let mut sent = 0;
        let mut code = String::new();
        let parents: Vec<String> = Path::new(path)
            .ancestors()
            .skip(1)
            .filter(|a| !a.as_os_str().is_empty())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        if !parents.is_empty() {
            code.push_str("import os\n");
            for dir in parents.iter().rev() {
                code.push_str(&format!(
                    "try:\n os.mkdir({})\nexcept OSError:\n pass\n",
                    py_str(dir)
                ));
            }
        }
        code.push_str(&format!("f=open({},'wb')\nw=f.write\n", py_str(path)));
        let mut written = 0;
        for chunk in contents.chunks(FILE_CHUNK) {
            let line = format!("w({})\n", py_bytes(chunk));
            if code.len() + line.len() > WRITE_EXEC_BUDGET {
                sent += code.len();
                self.exec(&code, &step).await?;
                progress(written);
                code.clear();
            }
            code.push_str(&line);
            written += chunk.len();
        }
        code.push_str("f.close()\n");
        sent += code.len();
        self.exec(&code, &step).await?;
        progress(written);
        Ok(sent)
    }

    /// Puts the files on the board, skipping those whose content it already holds, then checks what was
    /// written by hash.
    pub async fn deploy(&mut self, files: &[AppFile]) -> Result<DeployReport> {
        self.deploy_with_progress(files, &mut |_| {}).await
    }

    /// [`RawRepl::deploy`], calling `progress` with the bytes dealt with so far (a file the board holds counts at
    /// once) of all the files' bytes.
    pub async fn deploy_with_progress(
        &mut self,
        files: &[AppFile],
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<DeployReport> {
        for f in files {
            check_path(&self.board, &f.path)?;
        }
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let on_board = self.file_hashes(&paths).await?;
        let mut report = DeployReport::default();
        let total: usize = files.iter().map(|f| f.contents.len()).sum();
        let mut done = 0;
        for (file, have) in files.iter().zip(on_board) {
            let want: [u8; 32] = Sha256::digest(&file.contents).into();
            if have != Some(want) {
                report.bytes_sent += self
                    .write_file(&file.path, &file.contents, &mut |written| {
                        progress(Progress {
                            written: done + written,
                            total,
                        })
                    })
                    .await?;
                report.written.push(file.path.clone());
            } else {
                report.unchanged.push(file.path.clone());
            }
            done += file.contents.len();
            progress(Progress {
                written: done,
                total,
            });
        }
        let written: Vec<&AppFile> = files
            .iter()
            .filter(|f| report.written.contains(&f.path))
            .collect();
        if !written.is_empty() {
            let paths: Vec<&str> = written.iter().map(|f| f.path.as_str()).collect();
            let now = self.file_hashes(&paths).await?;
            for (file, got) in written.iter().zip(now) {
                let want: [u8; 32] = Sha256::digest(&file.contents).into();
                if got != Some(want) {
                    return Err(ReplError::Verify {
                        board: self.board.clone(),
                        path: file.path.clone(),
                    });
                }
            }
        }
        Ok(report)
    }

    fn protocol(&self, step: &str, detail: String) -> ReplError {
        ReplError::Protocol {
            board: self.board.clone(),
            step: step.to_string(),
            detail,
        }
    }

    fn closed(&self, step: &str) -> ReplError {
        ReplError::Closed {
            board: self.board.clone(),
            step: step.to_string(),
        }
    }

    fn read_failed(&self, step: &str, error: std::io::Error) -> ReplError {
        ReplError::Read {
            board: self.board.clone(),
            step: step.to_string(),
            error,
        }
    }

    async fn write(&mut self, bytes: &[u8], step: &str) -> Result<()> {
        let written = tokio::time::timeout(IDLE_TIMEOUT, async {
            self.port.write_all(bytes).await?;
            self.port.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(ReplError::Write {
                board: self.board.clone(),
                step: step.to_string(),
                error,
            }),
            Err(_) => Err(ReplError::Stalled {
                board: self.board.clone(),
                step: step.to_string(),
                idle: IDLE_TIMEOUT,
            }),
        }
    }

    /// Whether a byte arrives right now (without waiting).
    async fn poll_byte(&mut self, step: &str) -> Result<bool> {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(0), self.port.read(&mut buf)).await {
            Ok(Ok(0)) => Err(self.closed(step)),
            Ok(Ok(n)) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(true)
            }
            Ok(Err(e)) => Err(self.read_failed(step, e)),
            Err(_) => Ok(false),
        }
    }

    async fn fill(&mut self, idle: Duration, deadline: Instant, step: &str) -> Result<()> {
        let mut buf = [0u8; 1024];
        let wait = idle.min(deadline.saturating_duration_since(Instant::now()));
        match tokio::time::timeout(wait, self.port.read(&mut buf)).await {
            Err(_) => Err(ReplError::Timeout {
                board: self.board.clone(),
                step: step.to_string(),
                seconds: wait.as_secs_f64(),
                so_far: String::from_utf8_lossy(
                    &self.pending[self.pending.len().saturating_sub(80)..],
                )
                .into_owned(),
            }),
            Ok(Ok(0)) => Err(self.closed(step)),
            Ok(Ok(n)) => {
                self.pending.extend_from_slice(&buf[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(self.read_failed(step, e)),
        }
    }

    async fn read_exact(&mut self, n: usize, deadline: Instant, step: &str) -> Result<Vec<u8>> {
        while self.pending.len() < n {
            self.fill(IDLE_TIMEOUT, deadline, step).await?;
        }
        Ok(self.pending.drain(..n).collect())
    }

    /// Bytes up to and including `pattern`.
    async fn read_until(
        &mut self,
        pattern: &[u8],
        idle: Duration,
        deadline: Instant,
        step: &str,
    ) -> Result<Vec<u8>> {
        let mut searched = 0;
        loop {
            if let Some(at) = find(&self.pending[searched..], pattern) {
                let end = searched + at + pattern.len();
                return Ok(self.pending.drain(..end).collect());
            }
            searched = self.pending.len().saturating_sub(pattern.len() - 1);
            self.fill(idle, deadline, step).await?;
        }
    }

    async fn drain(&mut self, quiet: Duration, step: &str) -> Result<()> {
        let mut buf = [0u8; 1024];
        let stop = Instant::now() + Duration::from_secs(2);
        while Instant::now() < stop {
            match tokio::time::timeout(quiet, self.port.read(&mut buf)).await {
                Err(_) | Ok(Ok(0)) => break,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(self.read_failed(step, e)),
            }
        }
        self.pending.clear();
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn check_path(board: &str, path: &str) -> Result<()> {
    let p = Path::new(path);
    if path.is_empty()
        || p.is_absolute()
        || p.components().any(|c| !matches!(c, Component::Normal(_)))
        || path.contains(['\'', '\\', '\n', '\r'])
    {
        return Err(ReplError::BadPath {
            board: board.to_string(),
            path: path.to_string(),
        });
    }
    Ok(())
}

/// A Python string literal for a checked path.
fn py_str(s: &str) -> String {
    format!("'{s}'")
}

/// A Python bytes literal; printable ASCII stays as it is, so text files cost about their own size.
fn py_bytes(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() + 3);
    s.push_str("b'");
    for &b in data {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\'' => s.push_str("\\'"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7E => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('\'');
    s
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_literals_escape_what_python_needs() {
        assert_eq!(py_bytes(b"a'b\\c\n\x00\xff"), r"b'a\'b\\c\n\x00\xff'");
    }

    #[test]
    fn only_plain_relative_paths_are_deployed() {
        for good in ["main.py", "lib/mqtt.py"] {
            check_path("b", good).unwrap();
        }
        for bad in ["/main.py", "../x", "a/../b", "", "it's.py", "./x"] {
            assert!(check_path("b", bad).is_err(), "{bad}");
        }
        assert_eq!(parse_hex32(&"ab".repeat(32)), Some([0xAB; 32]));
        assert_eq!(parse_hex32("abc"), None);
    }
}
