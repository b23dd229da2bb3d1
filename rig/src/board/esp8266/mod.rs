//! The ESP8266 running MicroPython: its ROM serial loader (SLIP framing, the loader protocol, our flasher, the
//! firmware image format), the ROM's boot banner, asking a port for the chip's MAC, and the board that puts them
//! together with the raw REPL. Hand-written: espflash dropped the ESP8266 in 3.0.

mod board;
pub mod flasher;
pub mod image;
mod probe;
pub mod rom_banner;
pub mod rom_loader;
pub mod slip;
pub mod stub;
mod stub_cache;

pub use board::Esp8266Board;

use super::chip::{Chip, Wiring};
use super::WireBoard;

/// MicroPython's and the ROM loader's speed.
pub const BAUD: u32 = 115_200;

/// The chip, as the registry holds it.
#[derive(Debug)]
pub struct Esp8266;

impl Chip for Esp8266 {
    fn name(&self) -> &str {
        "esp8266"
    }

    fn open(&self, wiring: Wiring) -> Box<dyn WireBoard> {
        Box::new(Esp8266Board::new(wiring))
    }

    fn stand_in_image(&self, bytes: usize) -> Vec<u8> {
        image::synthetic(bytes, 1)
    }
}
