//! The ESP8266 ROM's boot banner (`ets Jan  8 2013,rst cause:2, boot mode:(3,6)`), which it prints at 74880 baud
//! before the app switches the UART to 115200: what it says about the reset, read right after one.

use crate::board::console::LineSplitter;
use crate::board::serial::{SetBaud as _, Tty};
use std::time::Duration;
use tokio::io::AsyncReadExt;

const ROM_BAUD: u32 = 74_880;

/// The banner's `rst cause` values.
pub const ROM_POWER_ON: u8 = 1;
/// The reset pin, which a deep-sleep wake pulls too.
pub const ROM_RESET_PIN: u8 = 2;
pub const ROM_WATCHDOG: u8 = 4;

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
            ROM_POWER_ON => "power-on",
            ROM_RESET_PIN => "reset pin or deep-sleep wake",
            ROM_WATCHDOG => "watchdog",
            _ => "other",
        }
    }
}

/// Reads the ROM banner right after a reset at 74880 baud, then returns the port to `app_baud`. On a pty (the
/// twin) the baud rate changes nothing and the banner is plain text either way.
pub async fn read_rom_banner(
    port: &mut Tty,
    app_baud: u32,
    within: Duration,
) -> std::io::Result<Option<RomBoot>> {
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
}
