//! esptool (PyPI), unmodified, against the twin pty board: chip-id, read-mac and write-flash with its stub, and
//! our flasher finding the image esptool wrote through the stub's MD5.

mod common;
use common::esptool::{esptool, stdout};
use common::{standalone_board, vm_runtime};
use rig::board::esp8266::flasher::{self, FlashLink};
use rig::board::esp8266::image;
use rig::board::reset_lines::reset_into_loader;
use rig::board::serial::Tty;
use rig::board::FlashOutcome;
use std::time::Duration;
use twin::pty_board::{BoardMode, PtyBoardSpec};

const MAC: &str = "5c:cf:7f:01:02:03";
/// Our flasher through the ROM loader alone (esptool may have left its stub running: that is used as found).
const ROM: FlashLink = FlashLink::rom();
#[tokio::test]
async fn esptool_identifies_and_flashes_the_twin() {
    let mut spec = PtyBoardSpec::new("twin-0", MAC, &vm_runtime());
    spec.start_in_loader = true;
    let board = standalone_board(spec, 8.0, BoardMode::RomLoader, Duration::from_secs(5)).await;

    let chip = stdout(&esptool(board.port(), "no-reset", &["chip-id"]).await);
    assert!(chip.contains("ESP8266"), "{chip}");
    assert!(
        chip.to_lowercase().contains("0x00010203"),
        "chip id from the efuse: {chip}"
    );
    // no-reset reboots the stub into the ROM loader (the boot mode stays latched); no-reset-stub keeps it.
    assert_eq!(board.mode(), BoardMode::RomLoader);
    let mac = stdout(&esptool(board.port(), "no-reset-stub", &["read-mac"]).await);
    assert!(mac.contains(MAC), "{mac}");
    assert_eq!(board.mode(), BoardMode::Stub);

    let dir = tempfile::tempdir().unwrap();
    let firmware = image::synthetic(200_000, 11);
    let file = dir.path().join("image.bin");
    std::fs::write(&file, &firmware).unwrap();
    let file = file.to_str().unwrap();
    reset_into_loader(board.lines().as_ref()).await.unwrap();
    let wrote = stdout(&esptool(board.port(), "soft-reset", &["write-flash", "0x0", file]).await);
    assert!(
        wrote.to_lowercase().contains("hash of data verified"),
        "{wrote}"
    );
    assert_eq!(board.read_flash(0, firmware.len()), firmware);
    // soft-reset leaves the loader for the app (an empty folder: the REPL).
    board
        .wait_for(BoardMode::Repl, Duration::from_secs(10))
        .await
        .unwrap();

    // esptool leaves its stub behind with no-reset-stub: our flasher sees the image by the stub's MD5.
    reset_into_loader(board.lines().as_ref()).await.unwrap();
    esptool(board.port(), "no-reset-stub", &["write-flash", "0x0", file]).await;
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let (f, _, outcome) = flasher::flash_image(port, "twin-0", &ROM, &firmware, None, &mut |_| {})
        .await
        .unwrap();
    assert!(f.is_stub());
    assert_eq!(outcome, FlashOutcome::Unchanged("flash MD5 matches"));
    // A changed image goes through the stub compressed and is verified by MD5.
    let other = image::synthetic(120_000, 12);
    let (_, _, outcome) =
        flasher::flash_image(f.into_port(), "twin-0", &ROM, &other, None, &mut |_| {})
            .await
            .unwrap();
    assert!(matches!(outcome, FlashOutcome::Written { .. }));
    assert_eq!(board.read_flash(0, other.len()), other);
    board.stop().await;
}
