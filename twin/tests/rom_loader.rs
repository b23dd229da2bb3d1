//! Our flasher against the twin pty board's ROM loader: chip detect, MAC, flash write, skip, reset lines.

mod common;
use common::{standalone_board, vm_runtime};
use rig::board::esp8266::flasher::{self, FlashLink, Flasher};
use rig::board::esp8266::image;
use rig::board::flash_records::FlashRecords;
use rig::board::reset_lines::{reset_into_loader, reset_to_run};
use rig::board::serial::Tty;
use rig::board::{FlashError, FlashOutcome, Progress};
use std::time::Duration;
use twin::pty_board::{BoardMode, PtyBoard, PtyBoardSpec};

const MAC: &str = "5c:cf:7f:aa:bb:cc";
/// Our flasher through the ROM loader alone (esptool may have left its stub running: that is used as found).
const ROM: FlashLink = FlashLink::rom();

/// The ROM path's 0x400-byte blocks at 115200 take 14 s a 150 KB image in device time: 20x keeps it short.
const SPEED: f64 = 20.0;

async fn board_in_loader() -> PtyBoard {
    let mut spec = PtyBoardSpec::new("twin-0", MAC, &vm_runtime());
    spec.start_in_loader = true;
    standalone_board(spec, SPEED, BoardMode::RomLoader, Duration::from_secs(5)).await
}

#[tokio::test]
async fn flashes_an_image_over_the_pty_then_skips_it() {
    let board = board_in_loader().await;
    let firmware = image::synthetic(150_000, 3);
    let records_dir = tempfile::tempdir().unwrap();
    let records = FlashRecords::new(records_dir.path());

    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let mut seen = Vec::new();
    let mut progress = |p: Progress| seen.push(p);
    let (mut f, mac, outcome) = flasher::flash_image(
        port,
        "twin-0",
        &ROM,
        &firmware,
        Some(&records),
        &mut progress,
    )
    .await
    .unwrap();
    assert_eq!(mac.to_string(), MAC);
    assert!(!f.is_stub());
    assert!(matches!(outcome, FlashOutcome::Written { bytes, .. } if bytes == firmware.len()));
    assert_eq!(seen.len(), firmware.len().div_ceil(0x400));
    assert_eq!(seen.last().unwrap().written, firmware.len());
    assert_eq!(board.read_flash(0, firmware.len()), firmware, "read back");
    // The ROM erase bug is compensated: nothing past the image's last sector was erased by mistake, and the
    // image's own padding is erased flash.
    image::parse(&board.read_flash(0, firmware.len())).unwrap();

    // Same image again: known from the per-MAC record, nothing written.
    let port = f.into_port();
    drop(port);
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let (flasher_again, _, outcome) =
        flasher::flash_image(port, "twin-0", &ROM, &firmware, Some(&records), &mut |_| {})
            .await
            .unwrap();
    assert_eq!(
        outcome,
        FlashOutcome::Unchanged("flashed by this rig before")
    );

    // Leave the loader: the app in the new image boots (an empty folder: straight to the REPL).
    f = flasher_again;
    f.run_user_code().await.unwrap();
    board
        .wait_for(BoardMode::Repl, Duration::from_secs(10))
        .await
        .unwrap();
    board.stop().await;
}

#[tokio::test]
async fn refuses_a_bad_image_before_touching_the_board() {
    let board = board_in_loader().await;
    let mut firmware = image::synthetic(8_000, 1);
    firmware[0] = 0xEA;
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let err = flasher::flash_image(port, "twin-0", &ROM, &firmware, None, &mut |_| {})
        .await
        .err()
        .unwrap();
    assert!(matches!(err, FlashError::ImageInvalid { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("twin-0") && text.contains("0xE9"), "{text}");
    board.stop().await;
}

#[tokio::test]
async fn reset_lines_move_the_board_between_loader_and_app() {
    let spec = PtyBoardSpec::new("twin-1", MAC, &vm_runtime());
    let board = standalone_board(spec, SPEED, BoardMode::Repl, Duration::from_secs(10)).await;
    reset_into_loader(board.lines().as_ref()).await.unwrap();
    assert_eq!(board.mode(), BoardMode::RomLoader);

    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let mut f = Flasher::connect(port, "twin-1").await.unwrap();
    f.check_chip().await.unwrap();
    assert_eq!(f.read_mac().await.unwrap().to_string(), MAC);
    assert_eq!(f.flash_md5(0, 16).await.unwrap(), None, "no MD5 in the ROM");
    drop(f);

    reset_to_run(board.lines().as_ref()).await.unwrap();
    board
        .wait_for(BoardMode::Repl, Duration::from_secs(10))
        .await
        .unwrap();
    board.stop().await;
}

#[tokio::test]
async fn a_board_that_is_not_in_its_loader_is_a_named_error() {
    let spec = PtyBoardSpec::new("twin-2", MAC, &vm_runtime());
    let board = standalone_board(spec, SPEED, BoardMode::Repl, Duration::from_secs(10)).await;
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let err = Flasher::connect(port, "twin-2").await.err().unwrap();
    assert!(
        matches!(err, FlashError::NoSync { tries: 10, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("twin-2") && text.contains("SYNC"), "{text}");
    board.stop().await;
}
