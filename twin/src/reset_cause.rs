//! Why a twin board booted, as its firmware and its ROM tell it: MicroPython's `machine.reset_cause()`, and the
//! `rst cause` of the ROM banner printed before it.

use rig::board::esp8266::rom_banner::{ROM_POWER_ON, ROM_RESET_PIN};

/// MicroPython's `machine.reset_cause()` values the twins produce.
pub const PWRON_RESET: u8 = 0;
pub const SOFT_RESET: u8 = 4;
pub const DEEPSLEEP_RESET: u8 = 5;
pub const HARD_RESET: u8 = 6;

/// The ROM banner's `rst cause` for a boot MicroPython reports as `cause`: the chip's ROM sees only power-on and
/// its reset pin (a deep-sleep wake pulls that pin; a soft reset goes through it too).
pub fn rom_cause(cause: u8) -> u8 {
    match cause {
        PWRON_RESET => ROM_POWER_ON,
        _ => ROM_RESET_PIN,
    }
}
