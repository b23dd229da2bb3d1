//! Our flasher with esptool's flasher stub at 460800 baud, and esptool (stub, `--baud 460800`) on the same twin
//! board: each reads back exactly what the other wrote. A stub that never greets is named, and the board is
//! flashed through the ROM instead.

mod common;
use common::esptool::{esptool, stdout, INSTALL_HINT};
use common::{standalone_board, vm_runtime};
use rig::board::esp8266::flasher::{self, FlashLink, Flasher};
use rig::board::esp8266::image;
use rig::board::esp8266::stub::FlasherStub;
use rig::board::esp8266::Esp8266Board;
use rig::board::reset_lines::{reset_into_loader, ResetLines};
use rig::board::serial::Tty;
use rig::board::{Flash, FlashError, FlashOutcome, FlashSettings, Wiring};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use twin::pty_board::{BoardMode, PtyBoard, PtyBoardSpec};

const MAC: &str = "5c:cf:7f:01:02:04";
/// The paced link runs 8 times faster than a real one (device time), keeping the test short.
const SPEED: f64 = 8.0;
const FAST: u32 = 460_800;

async fn board_in_loader(name: &str) -> PtyBoard {
    let mut spec = PtyBoardSpec::new(name, MAC, &vm_runtime());
    spec.start_in_loader = true;
    standalone_board(spec, SPEED, BoardMode::RomLoader, Duration::from_secs(5)).await
}

#[tokio::test]
async fn esptool_and_our_stub_flasher_read_back_what_the_other_wrote_at_460800() {
    let board = board_in_loader("twin-0").await;
    let stub = FlasherStub::installed().await.expect(INSTALL_HINT);
    let dir = tempfile::tempdir().unwrap();
    let theirs = image::synthetic(150_000, 21);
    let theirs_file = dir.path().join("theirs.bin");
    std::fs::write(&theirs_file, &theirs).unwrap();

    let fast = FAST.to_string();
    let wrote = esptool(
        board.port(),
        "no-reset",
        &[
            "--baud",
            &fast,
            "write-flash",
            "0x0",
            theirs_file.to_str().unwrap(),
        ],
    )
    .await;
    let wrote = stdout(&wrote).to_lowercase();
    assert!(wrote.contains("hash of data verified"), "{wrote}");
    assert!(wrote.contains(&fast), "esptool switched to {fast}: {wrote}");

    // Our read, through the stub we upload, at 460800.
    reset_into_loader(board.lines().as_ref()).await.unwrap();
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let mut f = Flasher::connect(port, "twin-0").await.unwrap();
    f.run_stub(&stub).await.unwrap();
    assert!(f.is_stub());
    f.change_baud(FAST).await.unwrap();
    let read = f.read_flash(0, theirs.len()).await.unwrap();
    assert!(
        read == Some(theirs.clone()),
        "our read of esptool's write differs"
    );
    drop(f);

    // Our write, read back by esptool.
    reset_into_loader(board.lines().as_ref()).await.unwrap();
    let ours = image::synthetic(120_000, 22);
    let link = FlashLink {
        stub: Some(Arc::new(stub)),
        baud: FAST,
    };
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let (f, _, outcome) = flasher::flash_image(port, "twin-0", &link, &ours, None, &mut |_| {})
        .await
        .unwrap();
    assert!(
        matches!(outcome, FlashOutcome::Written { .. }),
        "{outcome:?}"
    );
    assert!(f.is_stub());
    drop(f);
    reset_into_loader(board.lines().as_ref()).await.unwrap();
    let back_file = dir.path().join("back.bin");
    let size = ours.len().to_string();
    esptool(
        board.port(),
        "no-reset",
        &[
            "--baud",
            &fast,
            "read-flash",
            "0",
            &size,
            back_file.to_str().unwrap(),
        ],
    )
    .await;
    let back = std::fs::read(&back_file).unwrap();
    assert!(back == ours, "esptool's read of our write differs");
    assert!(board.read_flash(0, ours.len()) == ours);
    board.stop().await;
}

#[tokio::test]
async fn a_silent_stub_is_named_and_silent_or_corrupt_stubs_leave_the_rom_to_flash() {
    let board = board_in_loader("twin-1").await;
    let dir = tempfile::tempdir().unwrap();
    // Well-formed, but its entry point is nowhere it was loaded: the chip runs off into nothing.
    let path = dir.path().join("silent-stub.json");
    std::fs::write(
        &path,
        r#"{"entry": 1073741824, "text": "AAECAwQFBgc=", "text_start": 1074843648}"#,
    )
    .unwrap();
    let silent = FlasherStub::load(&path).unwrap();

    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let mut f = Flasher::connect(port, "twin-1").await.unwrap();
    let err = f.run_stub(&silent).await.unwrap_err();
    assert!(matches!(err, FlashError::StubSilent { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("silent-stub.json") && message.contains("OHAI") && message.contains("ROM"),
        "{message}"
    );
    drop(f);

    flashes_all_the_same(&board, path, 23).await;

    // A stub file that is not one: the board is flashed through the ROM all the same.
    let corrupt = dir.path().join("corrupt-stub.json");
    std::fs::write(
        &corrupt,
        r#"{"entry": 1, "text": "not base64!", "text_start": 2}"#,
    )
    .unwrap();
    flashes_all_the_same(&board, corrupt, 24).await;
    board.stop().await;
}

/// The twin as a rig board naming `stub` takes a new image (through the ROM when the stub will not do).
async fn flashes_all_the_same(board: &PtyBoard, stub: PathBuf, seed: u64) {
    let firmware = image::synthetic(40_000, seed);
    let outcome = wired(board, stub).flash(&firmware, None, &mut |_| {}).await;
    assert!(
        matches!(outcome, Ok(FlashOutcome::Written { .. })),
        "{outcome:?}"
    );
    assert!(board.read_flash(0, firmware.len()) == firmware);
}

/// The twin as a rig board whose flashing names `stub` and 460800 baud.
fn wired(board: &PtyBoard, stub: PathBuf) -> Esp8266Board {
    let lines: Arc<dyn ResetLines> = board.lines();
    Esp8266Board::new(Wiring {
        name: board.name().into(),
        port: board.port().to_path_buf(),
        lines: Some(lines),
        locating: None,
        flash: FlashSettings {
            baud: FAST,
            stub: Some(stub),
        },
    })
}
