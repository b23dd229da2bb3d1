//! A board's serial console: bytes to lines, forwarded as the board's console.

use super::ConsoleLine;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

/// A line longer than this is cut, so a board spewing without newlines cannot exhaust memory.
const MAX_LINE: usize = 4096;

/// Splits a byte stream into lines (`\n`-ended, `\r` dropped, invalid UTF-8 replaced).
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &b in bytes {
            if b == b'\n' || self.partial.len() >= MAX_LINE {
                lines.push(self.take());
                if b == b'\n' {
                    continue;
                }
            }
            if b != b'\r' {
                self.partial.push(b);
            }
        }
        lines
    }

    fn take(&mut self) -> String {
        let line = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial.clear();
        line
    }
}

/// Forwards a console's lines until the port closes or the receiver goes away.
pub async fn forward_lines(
    mut port: impl AsyncRead + Unpin,
    board: String,
    tx: mpsc::Sender<ConsoleLine>,
) {
    let mut lines = LineSplitter::default();
    let mut buf = [0u8; 1024];
    while let Ok(n) = port.read(&mut buf).await {
        if n == 0 {
            return;
        }
        for line in lines.push(&buf[..n]) {
            let line = line.trim_start_matches(['\0', ' ']).to_string();
            if line.is_empty() {
                continue;
            }
            let sent = tx
                .send(ConsoleLine {
                    board: board.clone(),
                    line,
                })
                .await;
            if sent.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_across_reads_and_cuts_runaways() {
        let mut s = LineSplitter::default();
        assert_eq!(s.push(b"wifi ok"), Vec::<String>::new());
        assert_eq!(s.push(b" 1.2s\r\nmqtt "), vec!["wifi ok 1.2s"]);
        assert_eq!(
            s.push(b"connack=0\n\xff\n"),
            vec!["mqtt connack=0", "\u{fffd}"]
        );
        let long = s.push(&vec![b'x'; MAX_LINE + 10]);
        assert_eq!(long.len(), 1);
        assert_eq!(long[0].len(), MAX_LINE);
    }
}
