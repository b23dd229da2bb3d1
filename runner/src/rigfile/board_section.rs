//! The rig file's `[[board]]` entries and its `[boards]` table, one named step each: the chip (from the chip
//! registry), its MAC as that chip's are written, names, MACs and adapters each one board's, the supply channel,
//! the ADC calibration, the reset lines; then the scan patterns and how boards are flashed (`flash_baud`, `stub`).

use super::raw::{AdcRaw, BoardRaw, BoardsRaw, RigFileRaw};
use super::{BoardEntry, SupplyEntry, Validator};
use model::diagnostic::Diagnostic;
use rig::board::esp8266::stub::FlasherStub;
use rig::board::{Chip, FlashSettings, Mac};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use toml::Spanned;

/// Flash link speeds: from the ROM's 115200 up to 2 Mbaud, past which the boards' usual USB-serial adapters
/// (CP210x, CH340) do not go.
const FLASH_BAUDS: std::ops::RangeInclusive<u32> = 115_200..=2_000_000;

/// What the boards read so far hold, which no other board may hold too.
#[derive(Default)]
struct Taken {
    names: BTreeSet<String>,
    macs: BTreeSet<Mac>,
    serials: BTreeSet<String>,
}

impl Validator<'_> {
    /// Every `[[board]]`, and where a board that is not on its port is looked for (`[boards] scan`).
    pub(super) fn board_section(
        &self,
        raw: &RigFileRaw,
        supplies: &BTreeMap<String, SupplyEntry>,
    ) -> Result<(Vec<BoardEntry>, Vec<String>), Diagnostic> {
        let mut taken = Taken::default();
        let flash = self.flash_settings(raw.boards.as_ref())?;
        let boards = raw
            .board
            .iter()
            .map(|entry| self.board(entry, supplies, &flash, &mut taken))
            .collect::<Result<_, _>>()?;
        Ok((boards, self.scan(raw.boards.as_ref())?))
    }

    fn board(
        &self,
        entry: &Spanned<BoardRaw>,
        supplies: &BTreeMap<String, SupplyEntry>,
        flash: &FlashSettings,
        taken: &mut Taken,
    ) -> Result<BoardEntry, Diagnostic> {
        let b = entry.get_ref();
        let chip = self.chip(b.chip.as_ref())?;
        let mac = self.mac(chip.as_ref(), &b.mac)?;
        self.take(b, mac, taken)?;
        let (supply, channel) = self.supply_channel(&b.supply, supplies)?;
        let adc = b.adc.map(|adc| self.adc(entry, adc)).transpose()?;
        let lines = b.lines.as_ref().map(|l| self.lines(l)).transpose()?;
        Ok(BoardEntry {
            name: b.name.get_ref().clone(),
            chip,
            mac: mac.to_string(),
            port: b.port.get_ref().clone(),
            usb_serial: b.usb_serial.as_ref().map(|s| s.get_ref().clone()),
            supply,
            channel,
            lines,
            adc,
            flash: flash.clone(),
        })
    }

    /// `[boards] flash_baud` (default 460800) and `stub` (default: the installed esptool's), the stub read now
    /// so a bad one is named with its line before any board is touched.
    fn flash_settings(&self, boards: Option<&BoardsRaw>) -> Result<FlashSettings, Diagnostic> {
        let mut flash = FlashSettings::default();
        let Some(boards) = boards else {
            return Ok(flash);
        };
        if let Some(baud) = &boards.flash_baud {
            if !FLASH_BAUDS.contains(baud.get_ref()) {
                return Err(self
                    .error(
                        baud.span(),
                        format!(
                            "flash_baud {} is outside {}..={}",
                            baud.get_ref(),
                            FLASH_BAUDS.start(),
                            FLASH_BAUDS.end()
                        ),
                    )
                    .with_help("flash_baud = 460800"));
            }
            flash.baud = *baud.get_ref();
        }
        if let Some(stub) = &boards.stub {
            let path = self.relative(stub.get_ref());
            FlasherStub::load(&path).map_err(|e| {
                self.error(stub.span(), e.to_string()).with_help(
                    "stub = \"…/site-packages/esptool/targets/stub_flasher/2/esp8266.json\", or leave it out",
                )
            })?;
            flash.stub = Some(path);
        }
        Ok(flash)
    }

    /// The chip the board names, else the registry's first.
    fn chip(&self, named: Option<&Spanned<String>>) -> Result<Arc<dyn Chip>, Diagnostic> {
        match named {
            None => Ok(self.chips.default_chip()),
            Some(name) => self
                .chips
                .get(name.get_ref())
                .map_err(|e| self.error(name.span(), e.to_string())),
        }
    }

    fn mac(&self, chip: &dyn Chip, mac: &Spanned<String>) -> Result<Mac, Diagnostic> {
        chip.parse_mac(mac.get_ref())
            .map_err(|why| self.error(mac.span(), why.to_string()))
    }

    /// Claims the board's name, MAC and adapter serial number, each of which only one board may have.
    fn take(&self, b: &BoardRaw, mac: Mac, taken: &mut Taken) -> Result<(), Diagnostic> {
        if !taken.names.insert(b.name.get_ref().clone()) {
            return Err(self.error(b.name.span(), "another board has this name"));
        }
        if !taken.macs.insert(mac) {
            return Err(self.error(b.mac.span(), "another board has this MAC"));
        }
        if let Some(serial) = &b.usb_serial {
            self.usb_serial(serial)?;
            if !taken.serials.insert(serial.get_ref().clone()) {
                return Err(self
                    .error(serial.span(), "another board has this usb_serial")
                    .with_help("adapters that share a serial number (many CP2102s say 0001) cannot be told apart by it: leave usb_serial out, and the boards are found by MAC"));
            }
        }
        Ok(())
    }

    /// A serial number as it ends a by-id name: what udev keeps of it, and no `_`, which separates it there.
    fn usb_serial(&self, serial: &Spanned<String>) -> Result<(), Diagnostic> {
        let s = serial.get_ref();
        let fits = |c: char| c.is_ascii_alphanumeric() || "#+-.:=@".contains(c);
        if !s.is_empty() && s.chars().all(fits) {
            return Ok(());
        }
        Err(self
            .error(
                serial.span(),
                format!("usb_serial {s:?} is not a serial number as a /dev/serial/by-id name ends"),
            )
            .with_help("the part after the last `_` of the adapter's by-id name: usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_0001-if00-port0 is usb_serial = \"0001\""))
    }

    /// `NAME:CHANNEL` of a supply the rig file defines, on a channel it lists.
    fn supply_channel(
        &self,
        named: &Spanned<String>,
        supplies: &BTreeMap<String, SupplyEntry>,
    ) -> Result<(String, u8), Diagnostic> {
        let (supply, channel) = named
            .get_ref()
            .rsplit_once(':')
            .and_then(|(s, c)| Some((s.to_string(), c.parse::<u8>().ok()?)))
            .ok_or_else(|| {
                self.error(named.span(), "supply must be NAME:CHANNEL, e.g. \"psu1:1\"")
            })?;
        match supplies.get(&supply) {
            None => Err(self.error(
                named.span(),
                format!(
                    "no [supply.{supply}]; defined: {}",
                    supplies.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(s) if !s.channels.contains_key(&channel) => Err(self.error(
                named.span(),
                format!("[supply.{supply}] has no channel {channel} in its channels table"),
            )),
            Some(_) => Ok((supply, channel)),
        }
    }

    /// The divider and full scale the board's readings are converted with.
    fn adc(&self, entry: &Spanned<BoardRaw>, adc: AdcRaw) -> Result<(f64, f64), Diagnostic> {
        if adc.divider > 0.0 && adc.divider <= 1.0 && adc.full_scale_volts > 0.0 {
            return Ok((adc.divider, adc.full_scale_volts));
        }
        Err(self.error(
            entry.span(),
            "adc: divider must be in (0, 1] and full_scale_volts > 0",
        ))
    }

    /// A reset-lines side channel's address.
    fn lines(&self, lines: &Spanned<String>) -> Result<String, Diagnostic> {
        if lines.get_ref().starts_with("tcp://") {
            return Ok(lines.get_ref().clone());
        }
        Err(self.error(
            lines.span(),
            "lines must be tcp://HOST:PORT (a twin board's side channel)",
        ))
    }

    /// `[boards] scan`, each pattern relative to the rig file; without the table, where USB-serial adapters appear.
    fn scan(&self, boards: Option<&BoardsRaw>) -> Result<Vec<String>, Diagnostic> {
        let Some(scan) = boards.and_then(|b| b.scan.as_ref()) else {
            return Ok(rig::board::locate::DEFAULT_SCAN
                .iter()
                .map(|p| p.to_string())
                .collect());
        };
        scan.iter()
            .map(|p| {
                let pattern = self.relative(p.get_ref()).display().to_string();
                rig::board::locate::check_pattern(&pattern)
                    .map(|()| pattern)
                    .map_err(|e| {
                        self.error(p.span(), e.to_string())
                            .with_help("scan = [\"/dev/serial/by-id/*\", \"/dev/ttyUSB*\"]")
                    })
            })
            .collect()
    }
}
