//! A board's serial console: bytes to lines, and the ROM's boot banner (`ets Jan  8 2013,rst cause:2, boot
//! mode:(3,6)`), which the ESP8266 prints at 74880 baud before the app switches the UART to 115200.

use super::serial::Tty;
use super::ConsoleLine;
use anyhow::Result;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

pub const ROM_BAUD: u32 = 74_880;
/// A line longer than this is cut, so a board spewing without newlines cannot exhaust memory.
const MAX_LINE: usize = 4096;

/// What the ROM's first line says about a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RomBoot {
    /// 1 power-on, 2 reset pin (deep-sleep wakes too), 4 watchdog.
    pub cause: u8,
    pub boot_mode: (u8, u8),
}

impl RomBoot {
    pub fn parse(line: &str) -> Option<RomBoot> {
        let rest = &line[line.find("rst cause:")? + "rst cause:".len()..];
        let (cause, rest) = rest.split_once(',')?;
        let mode = &rest[rest.find("boot mode:(")? + "boot mode:(".len()..];
        let (a, rest) = mode.split_once(',')?;
        let (b, _) = rest.split_once(')')?;
        Some(RomBoot {
            cause: cause.trim().parse().ok()?,
            boot_mode: (a.trim().parse().ok()?, b.trim().parse().ok()?),
        })
    }

    /// Boot mode 1 is the UART download mode (the ROM loader); 3 boots from flash.
    pub fn in_loader(&self) -> bool {
        self.boot_mode.0 == 1
    }

    pub fn cause_name(&self) -> &'static str {
        match self.cause {
            1 => "power-on",
            2 => "reset pin or deep-sleep wake",
            4 => "watchdog",
            _ => "other",
        }
    }
}

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

/// Reads the ROM banner right after a reset at 74880 baud, then returns the port to `app_baud`. On a pty (the
/// twin) the baud rate changes nothing and the banner is plain text either way.
pub async fn read_rom_banner(
    port: &mut Tty,
    app_baud: u32,
    within: Duration,
) -> Result<Option<RomBoot>> {
    port.set_baud(ROM_BAUD)?;
    let mut lines = LineSplitter::default();
    let mut buf = [0u8; 256];
    let deadline = tokio::time::Instant::now() + within;
    let mut found = None;
    // After the banner, the ROM's `load …` lines follow; a short silence or the app's faster bytes end it.
    let mut quiet = within;
    while let Ok(Ok(n)) = tokio::time::timeout(
        quiet.min(deadline.saturating_duration_since(tokio::time::Instant::now())),
        port.read(&mut buf),
    )
    .await
    {
        if n == 0 {
            break;
        }
        for line in lines.push(&buf[..n]) {
            if let Some(boot) = RomBoot::parse(&line) {
                found = Some(boot);
                quiet = Duration::from_millis(100);
            }
        }
        if found.is_some() && buf[..n].iter().any(|&b| b >= 0x80) {
            break;
        }
    }
    port.set_baud(app_baud)?;
    Ok(found)
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
    fn parses_the_rom_banner() {
        let b = RomBoot::parse(" ets Jan  8 2013,rst cause:2, boot mode:(3,6)").unwrap();
        assert_eq!(
            b,
            RomBoot {
                cause: 2,
                boot_mode: (3, 6)
            }
        );
        assert!(!b.in_loader());
        assert_eq!(b.cause_name(), "reset pin or deep-sleep wake");
        let l = RomBoot::parse("ets Jan  8 2013,rst cause:1, boot mode:(1,6)").unwrap();
        assert!(l.in_loader());
        assert_eq!(RomBoot::parse("boot reset=deepsleep seq=41"), None);
        assert_eq!(RomBoot::parse("rst cause:x, boot mode:(3,6)"), None);
    }

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
