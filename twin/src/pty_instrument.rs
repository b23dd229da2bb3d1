//! A twin instrument on a pty whose requests carry no terminator (Korad commands, Modbus RTU frames): a request
//! ends when the line has been quiet for a gap, and gets the instrument's reply, if it has one.

use super::instrument_thread::InstrumentThread;
use anyhow::Result;
use rig::board::serial::Tty;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A reply nobody reads is given up after this.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// The running instrument; dropping it stops it and closes its pty.
pub struct PtyInstrument {
    port: PathBuf,
    _thread: InstrumentThread,
}

impl PtyInstrument {
    /// Serves `respond` on a new pty from a thread named `name`: each request (bytes until `gap` of quiet) is
    /// handed to it, and what it returns is written back. Requests longer than `max_request` are noise, dropped.
    pub async fn start(
        name: &str,
        gap: Duration,
        max_request: usize,
        respond: impl FnMut(&[u8]) -> Option<Vec<u8>> + Send + 'static,
    ) -> Result<PtyInstrument> {
        let (thread, port) =
            InstrumentThread::spawn_on_pty(name, move |pty| serve(pty, gap, max_request, respond))
                .await?;
        Ok(PtyInstrument {
            port,
            _thread: thread,
        })
    }

    /// The pty a driver opens.
    pub fn port(&self) -> &Path {
        &self.port
    }

    /// The address a driver opens: `serial:///dev/pts/N`.
    pub fn address(&self) -> String {
        format!("serial://{}", self.port.display())
    }
}

async fn serve(
    mut port: Tty,
    gap: Duration,
    max_request: usize,
    mut respond: impl FnMut(&[u8]) -> Option<Vec<u8>>,
) {
    let mut request = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        let read = if request.is_empty() {
            Ok(port.read(&mut chunk).await)
        } else {
            tokio::time::timeout(gap, port.read(&mut chunk)).await
        };
        match read {
            Ok(Ok(n)) if n > 0 => {
                request.extend_from_slice(&chunk[..n]);
                if request.len() > max_request {
                    request.clear();
                }
            }
            // The slave end is held open, so the port never ends; this only keeps a broken one from spinning.
            Ok(_) => tokio::time::sleep(gap).await,
            Err(_quiet) => {
                if let Some(reply) = respond(&std::mem::take(&mut request)) {
                    let _ = tokio::time::timeout(WRITE_TIMEOUT, port.write_all(&reply)).await;
                }
            }
        }
    }
}
