//! The byte link to a supply: a TCP connection or a serial port (a USB-serial adapter, or a twin's pty), one type
//! for every driver. Serial goes through the boards' tty type (raw mode, any baud, exclusive open) rather than a
//! serial-port crate: the same code already serves real ports and ptys.

use super::address::Address;
use crate::board::serial::Tty;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How long the line must stay quiet for pending input to count as all read.
const SETTLE: Duration = Duration::from_millis(5);
/// Stale input is read away in at most this many bytes (a port that never stops talking is not drained forever).
const MAX_STALE: usize = 64 * 1024;

pub enum Port {
    Tcp(TcpStream),
    Serial(Tty),
}

impl Port {
    /// Connects or opens the port. A serial port's stale input (replies nobody read) is dropped first.
    pub async fn open(address: &Address) -> io::Result<Port> {
        match address {
            Address::Tcp(socket) => {
                let stream = TcpStream::connect(socket).await?;
                // Commands are single short lines: batching them only adds latency.
                stream.set_nodelay(true)?;
                Ok(Port::Tcp(stream))
            }
            Address::Serial { path, baud } => {
                let mut port = Port::Serial(Tty::open(path, *baud).await?);
                port.discard_pending().await?;
                Ok(port)
            }
        }
    }

    /// Reads away whatever is already waiting (a late reply to a call that was cut short), without waiting for
    /// more than a few quiet milliseconds.
    pub async fn discard_pending(&mut self) -> io::Result<()> {
        let mut buf = [0u8; 256];
        let mut dropped = 0;
        while dropped < MAX_STALE {
            match tokio::time::timeout(SETTLE, self.read(&mut buf)).await {
                Err(_) => return Ok(()),
                Ok(Ok(0)) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(Ok(n)) => dropped += n,
                Ok(Err(e)) => return Err(e),
            }
        }
        Err(io::Error::other(format!(
            "the port kept sending ({MAX_STALE} bytes) while nothing was asked"
        )))
    }
}

impl AsyncRead for Port {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Port::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Port::Serial(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Port {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Port::Tcp(s) => Pin::new(s).poll_write(cx, data),
            Port::Serial(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Port::Tcp(s) => Pin::new(s).poll_flush(cx),
            Port::Serial(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Port::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Port::Serial(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
