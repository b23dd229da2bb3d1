//! The rig's boards, checked with their supply on: each is found by its MAC through the ROM loader (on its port
//! hint, else wherever the rig's scan finds it), then reset into its app, whose ROM banner shows it booted from
//! flash. Nothing is flashed or deployed.

use super::finding::{Checkup, Finding};
use crate::rigfile::{BoardEntry, RigFile};
use rig::board::esp8266::rom_banner::read_rom_banner;
use rig::board::esp8266::BAUD;
use rig::board::locate::{Found, PortFinder};
use rig::board::remote_lines::RemoteLines;
use rig::board::reset_lines::{reset_to_run, ResetLines};
use rig::board::serial::Tty;
use rig::board::{Locating, Wiring};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Bound on finding one board (its hint, then each port the scan matches), as provisioning bounds it.
const FIND_LIMIT: Duration = Duration::from_secs(60);
/// How long after a reset the ROM's banner may take.
const BANNER_WITHIN: Duration = Duration::from_secs(2);

/// Checks every board whose supply passed its check (`powered_supplies`); the others are not tried.
pub async fn check_boards(rig: &RigFile, powered_supplies: &[String], checkup: &mut Checkup) {
    let finder = Arc::new(PortFinder::new(rig.scan.clone()));
    for board in &rig.boards {
        let part = format!("board {}", board.name);
        if !powered_supplies.contains(&board.supply) {
            checkup.say(Finding::not_tried(
                &part,
                format!("its supply {} did not pass its check", board.supply),
            ));
            continue;
        }
        checkup.say(check_board(board, &finder, &part).await);
    }
}

async fn check_board(board: &BoardEntry, finder: &Arc<PortFinder>, part: &str) -> Finding {
    let mac = match board.chip.parse_mac(&board.mac) {
        Ok(mac) => mac,
        Err(e) => return Finding::wrong(part, e, "correct its mac in the rig file"),
    };
    let lines = match &board.lines {
        Some(address) => match RemoteLines::new(&board.name, address) {
            Ok(l) => Some(Arc::new(l) as Arc<dyn ResetLines>),
            Err(e) => return Finding::wrong(part, e, "correct its lines address in the rig file"),
        },
        None => None,
    };
    let mut wired = board.chip.open(Wiring {
        name: board.name.clone(),
        port: PathBuf::from(&board.port),
        lines: lines.clone(),
        locating: Some(Locating {
            mac,
            usb_serial: board.usb_serial.clone(),
            finder: finder.clone(),
        }),
        flash: board.flash.clone(),
    });
    let found = match tokio::time::timeout(FIND_LIMIT, wired.locate()).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            let said = e.to_string();
            return Finding::wrong(
                part,
                // The line names the board already.
                said.strip_prefix(&format!("{}: ", board.name))
                    .unwrap_or(&said),
                format!(
                "is it plugged in (a dead USB hub?) and powered from supply {}:{}? is {} its MAC \
                     (esptool read-mac)? does [boards] scan match its port?",
                board.supply, board.channel, board.mac
            ),
            );
        }
        Err(_) => {
            return Finding::wrong(
                part,
                format_args!("not found within {FIND_LIMIT:?}"),
                "check its USB cable and the [boards] scan patterns",
            )
        }
    };
    drop(wired);
    match boot_into_app(&found.port, lines).await {
        Ok(said) => Finding::ok(
            part,
            format!(
                "{}; ROM loader answered; {said}",
                where_found(board, &found)
            ),
        ),
        Err((what, fix)) => Finding::wrong(
            part,
            format_args!("{}, but {what}", where_found(board, &found)),
            fix,
        ),
    }
}

/// Where the board was found, and how to mend a stale port hint.
fn where_found(board: &BoardEntry, found: &Found) -> String {
    let hint = if found.scanned {
        format!(
            " (not on its port hint {}: set port = {:?})",
            board.port,
            found.port.display().to_string()
        )
    } else {
        String::new()
    };
    format!("{} found on {}{hint}", board.mac, found.port.display())
}

/// Resets the chip (left in its loader by finding it) into its app and reads the ROM's banner. Err: what went
/// wrong and the fix.
async fn boot_into_app(
    port: &Path,
    side_lines: Option<Arc<dyn ResetLines>>,
) -> Result<String, (String, String)> {
    let mut tty = Tty::open(port, BAUD).await.map_err(|e| {
        (
            format!("opening {}: {e}", port.display()),
            "is another program using the port?".to_string(),
        )
    })?;
    let lines: Arc<dyn ResetLines> = match side_lines {
        Some(l) => l,
        None => Arc::new(tty.modem_lines().map_err(|e| {
            (
                format!("taking DTR/RTS of {}: {e}", port.display()),
                "use a USB-serial adapter with DTR/RTS wired to GPIO0/EN".to_string(),
            )
        })?),
    };
    reset_to_run(lines.as_ref()).await.map_err(|e| {
        (
            format!("resetting it: {e}"),
            "check its reset wiring (RTS to EN) or its lines address".to_string(),
        )
    })?;
    let banner = read_rom_banner(&mut tty, BAUD, BANNER_WITHIN)
        .await
        .map_err(|e| {
            (
                format!("reading its ROM banner: {e}"),
                "check its port".to_string(),
            )
        })?;
    match banner {
        Some(boot) if !boot.in_loader() => Ok(format!(
            "reset into its app, ROM banner: rst cause {} ({}), boot mode ({},{})",
            boot.cause,
            boot.cause_name(),
            boot.boot_mode.0,
            boot.boot_mode.1
        )),
        Some(boot) => Err((
            format!(
                "reset to run, it booted into the ROM loader again (boot mode ({},{}))",
                boot.boot_mode.0, boot.boot_mode.1
            ),
            "GPIO0 is held low: check its DTR wiring or boot switch".into(),
        )),
        None => Err((
            format!("no ROM banner within {BANNER_WITHIN:?} of a reset"),
            "check its reset wiring (RTS to EN) and that its TX reaches the adapter".into(),
        )),
    }
}
