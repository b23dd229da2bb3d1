//! Boards are found by MAC, not by port path: two twin pty boards behind a by-id-like folder of links, a hint
//! that names the other board's port, and a board re-enumerated under a new pty while its console is read (by
//! MAC behind a link that carries no USB identity, by USB identity behind one named as udev names it), and a
//! board the rig names by its adapter's serial number.

mod common;
use common::vm_runtime;
use rig::board::esp8266::{image, Esp8266Board};
use rig::board::locate::{Found, PortFinder};
use rig::board::reset_lines::ResetLines;
use rig::board::{
    AppFile, Console, ConsoleLine, Deploy, Flash, FlashOutcome, FlashSettings, FoundBy, Locate,
    Locating, PortNotice, Run, Wiring,
};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use twin::pty_board::{BoardMode, PtyBoard, PtyBoardSpec};

async fn twin(name: &str, mac: &str) -> PtyBoard {
    PtyBoard::spawn_standalone(PtyBoardSpec::new(name, mac, &vm_runtime()))
        .await
        .unwrap()
}

/// Points `dir/NAME` at the twin's current pty, as udev keeps /dev/serial/by-id.
fn link(dir: &Path, name: &str, twin: &PtyBoard) {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    std::os::unix::fs::symlink(twin.port(), path).unwrap();
}

/// Waits (bounded) until the app's first line is on the console.
async fn app_booted(console: &mut mpsc::Receiver<ConsoleLine>) {
    let mut seen = Vec::new();
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(l) = console.recv().await {
            if l.line.contains("boot reset=test") {
                return;
            }
            seen.push(l.line);
        }
    })
    .await;
    assert!(waited.is_ok(), "no app boot on the console: {seen:?}");
}

async fn next_notice(notices: &mut mpsc::UnboundedReceiver<PortNotice>, within: u64) -> PortNotice {
    tokio::time::timeout(Duration::from_secs(within), notices.recv())
        .await
        .ok()
        .flatten()
        .expect("a port notice in time")
}

/// The board named as `twin`, with its reset lines, said to be on `hint` and known by `mac` (and, when given, its
/// adapter's serial number).
fn board_on(
    twin: &PtyBoard,
    name: &str,
    hint: &Path,
    mac: &str,
    usb_serial: Option<&str>,
    finder: &Arc<PortFinder>,
) -> Esp8266Board {
    let lines: Arc<dyn ResetLines> = twin.lines();
    Esp8266Board::new(Wiring {
        name: name.into(),
        port: hint.to_path_buf(),
        lines: Some(lines),
        locating: Some(Locating {
            mac: mac.parse().unwrap(),
            usb_serial: usb_serial.map(String::from),
            finder: finder.clone(),
        }),
        flash: FlashSettings::default(),
    })
}

fn board(twin: &PtyBoard, hint: &Path, mac: &str, finder: &Arc<PortFinder>) -> Esp8266Board {
    board_on(twin, twin.name(), hint, mac, None, finder)
}

#[tokio::test]
async fn a_wrong_hint_is_never_flashed_and_the_board_is_found_by_scanning() {
    let a = twin("twin-a", "5c:cf:7f:00:00:a1").await;
    let b = twin("twin-b", "5c:cf:7f:00:00:b2").await;
    let by_id = tempfile::tempdir().unwrap();
    link(by_id.path(), "usb-1", &a);
    link(by_id.path(), "usb-2", &b);
    let finder = Arc::new(PortFinder::new(vec![format!(
        "{}/*",
        by_id.path().display()
    )]));

    // Board b's hint is board a's port: a answers with its own MAC, so the scan goes on and finds b.
    let mut board_b = board(&b, a.port(), "5c:cf:7f:00:00:b2", &finder);
    let found = board_b.locate().await.unwrap();
    assert!(found.scanned);
    assert_eq!(found.port, std::fs::canonicalize(b.port()).unwrap());
    let firmware = image::synthetic(8192, 2);
    let outcome = board_b.flash(&firmware, None, &mut |_| {}).await.unwrap();
    assert!(matches!(outcome, FlashOutcome::Written { .. }));
    assert_eq!(b.read_flash(0, firmware.len()), firmware);
    assert_ne!(
        a.read_flash(0, firmware.len()),
        firmware,
        "the board on the wrong hint was not flashed"
    );

    // Board a, looked for while b holds its port: found on its hint, which b's scan had only probed.
    let mut board_a = board(&a, a.port(), "5c:cf:7f:00:00:a1", &finder);
    let found = board_a.locate().await.unwrap();
    assert!(!found.scanned);

    // A MAC nobody has (on a bench of its own, so no port is claimed): a clear error naming the board, the
    // step and what each port said.
    let fresh = Arc::new(PortFinder::new(vec![format!(
        "{}/*",
        by_id.path().display()
    )]));
    let mut ghost = board(&a, a.port(), "5c:cf:7f:00:00:99", &fresh);
    let err = format!("{:#}", ghost.locate().await.unwrap_err());
    assert!(
        err.contains("twin-a: finding the board by MAC 5c:cf:7f:00:00:99"),
        "{err}"
    );
    assert!(err.contains("answered MAC 5c:cf:7f:00:00:a1"), "{err}");
    // Its reset lines are twin-a's: twin-b, not in its loader, keeps quiet.
    assert!(
        err.contains(&format!("{} did not answer", b.port().display())),
        "{err}"
    );
    a.stop().await;
    b.stop().await;
}

/// A twin board found behind the link `link_name` in a by-id-like folder, flashed, given an app that prints its
/// boot and ends, and started.
struct Running {
    board: Esp8266Board,
    found: Found,
    console: mpsc::Receiver<ConsoleLine>,
    notices: mpsc::UnboundedReceiver<PortNotice>,
    /// The folder: its link is the finder's only candidate.
    by_id: tempfile::TempDir,
}

async fn running(t: &PtyBoard, link_name: &str, mac: &str) -> Running {
    let by_id = tempfile::tempdir().unwrap();
    link(by_id.path(), link_name, t);
    let finder = Arc::new(PortFinder::new(vec![format!(
        "{}/*",
        by_id.path().display()
    )]));
    let mut board = board(t, t.port(), mac, &finder);
    let found = board.locate().await.unwrap();
    board
        .flash(&image::synthetic(8192, 3), None, &mut |_| {})
        .await
        .unwrap();
    let files = [AppFile {
        path: "main.py".into(),
        contents: b"print('boot reset=test')\n".to_vec(),
    }];
    board.deploy(&files).await.unwrap();
    let mut console = board.take_console().unwrap();
    let notices = board.take_port_notices().unwrap();
    board.start().await.unwrap();
    app_booted(&mut console).await;
    Running {
        board,
        found,
        console,
        notices,
        by_id,
    }
}

#[tokio::test]
async fn a_board_that_re_enumerates_while_running_is_found_again_by_mac() {
    let mut t = twin("twin-r", "5c:cf:7f:00:00:c3").await;
    let first = t.port().to_path_buf();
    // A link name that is no by-id name: the port shows no USB identity.
    let Running {
        mut board,
        mut console,
        mut notices,
        by_id,
        ..
    } = running(&t, "usb-twin", "5c:cf:7f:00:00:c3").await;

    let second = t.reenumerate().await.unwrap().to_path_buf();
    assert_ne!(first, second);
    link(by_id.path(), "usb-twin", &t);
    assert_eq!(
        next_notice(&mut notices, 5).await,
        PortNotice::Lost {
            board: "twin-r".into(),
            port: first.clone(),
            by: FoundBy::Mac
        }
    );
    assert_eq!(
        next_notice(&mut notices, 20).await,
        PortNotice::Found {
            board: "twin-r".into(),
            mac: "5c:cf:7f:00:00:c3".into(),
            port: std::fs::canonicalize(&second).unwrap(),
            scanned: true,
            by: FoundBy::Mac,
            usb: None
        }
    );
    // The console goes on from the new port: the app's next boot is read there.
    app_booted(&mut console).await;
    assert_eq!(board.port(), std::fs::canonicalize(&second).unwrap());
    board.stop().await.unwrap();
    t.stop().await;
}

#[tokio::test]
async fn a_board_re_enumerated_behind_its_by_id_link_is_found_again_by_usb_identity_untouched() {
    let mut t = twin("twin-u", "5c:cf:7f:00:00:d4").await;
    let name = t.usb_id().to_string();
    assert_eq!(
        name,
        "usb-Silicon_Labs_CP2102_USB_to_UART_Bridge_Controller_5CCF7F0000D4-if00-port0"
    );
    let first = t.port().to_path_buf();
    let Running {
        mut board,
        found,
        mut console,
        mut notices,
        by_id,
    } = running(&t, &name, "5c:cf:7f:00:00:d4").await;
    assert_eq!(found.usb, Some(t.usb_id()));
    // The app ended: the chip sits at its REPL, where only a reset would take it away.
    t.wait_for(BoardMode::Repl, Duration::from_secs(10))
        .await
        .unwrap();
    while tokio::time::timeout(Duration::from_millis(300), console.recv())
        .await
        .is_ok()
    {}

    let second = t.reenumerate().await.unwrap().to_path_buf();
    link(by_id.path(), &name, &t);
    assert_eq!(
        next_notice(&mut notices, 5).await,
        PortNotice::Lost {
            board: "twin-u".into(),
            port: first.clone(),
            by: FoundBy::Usb
        }
    );
    assert_eq!(
        next_notice(&mut notices, 20).await,
        PortNotice::Found {
            board: "twin-u".into(),
            mac: "5c:cf:7f:00:00:d4".into(),
            port: std::fs::canonicalize(&second).unwrap(),
            scanned: true,
            by: FoundBy::Usb,
            usb: Some(name.clone())
        }
    );
    // Untouched: no ROM banner, no boot, still at its REPL, and the console reads the new port.
    let quiet = tokio::time::timeout(Duration::from_secs(2), console.recv()).await;
    assert!(quiet.is_err(), "a line after the re-find: {quiet:?}");
    assert_eq!(t.mode(), BoardMode::Repl);
    assert_eq!(board.port(), std::fs::canonicalize(&second).unwrap());
    board.stop().await.unwrap();
    t.stop().await;
}

#[tokio::test]
async fn a_board_named_by_usb_serial_is_looked_for_on_that_adapter_and_taken_only_there() {
    let a = twin("twin-a", "5c:cf:7f:00:00:a1").await;
    let b = twin("twin-b", "5c:cf:7f:00:00:b2").await;
    let by_id = tempfile::tempdir().unwrap();
    link(by_id.path(), &a.usb_id().to_string(), &a);
    link(by_id.path(), &b.usb_id().to_string(), &b);
    let scan = vec![format!("{}/*", by_id.path().display())];

    // Its hint is a's port, but its adapter's serial number says where it is: no scan.
    let mut named = board_on(
        &b,
        "twin-b",
        a.port(),
        "5c:cf:7f:00:00:b2",
        Some("5CCF7F0000B2"),
        &Arc::new(PortFinder::new(scan.clone())),
    );
    let found = named.locate().await.unwrap();
    assert_eq!(found.port, std::fs::canonicalize(b.port()).unwrap());
    assert!(!found.scanned);
    assert_eq!(found.usb, Some(b.usb_id()));

    // The MAC answers on an adapter with another serial number: refused, saying which.
    let mut misnamed = board_on(
        &b,
        "twin-b",
        b.port(),
        "5c:cf:7f:00:00:b2",
        Some("0001"),
        &Arc::new(PortFinder::new(scan)),
    );
    let err = format!("{:#}", misnamed.locate().await.unwrap_err());
    assert!(
        err.contains(&format!("whose adapter is {}", b.usb_id()))
            && err.contains("usb_serial = \"0001\""),
        "{err}"
    );
    a.stop().await;
    b.stop().await;
}
