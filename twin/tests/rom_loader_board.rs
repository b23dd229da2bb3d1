//! The ESP8266-over-serial `Board` against a twin pty board: identify through the ROM loader, flash, deploy
//! through the raw REPL, start, and the console read from the port, reset pins through the side channel.

mod common;
use common::vm_runtime;
use rig::board::esp8266::{image, Esp8266Board};
use rig::board::reset_lines::ResetLines;
use rig::board::{
    AppFile, Console, Deploy, Flash, FlashOutcome, FlashSettings, Identify, Progress, Run, Wiring,
};
use std::sync::Arc;
use std::time::Duration;
use twin::pty_board::{BoardMode, PtyBoard, PtyBoardSpec};

#[tokio::test]
async fn identifies_flashes_deploys_and_runs_a_twin_over_its_pty() {
    let spec = PtyBoardSpec::new("twin-0", "5c:cf:7f:00:00:21", &vm_runtime());
    let twin = PtyBoard::spawn_standalone_at(spec, 8.0).await.unwrap();
    let lines: Arc<dyn ResetLines> = twin.lines();
    let mut board = Esp8266Board::new(Wiring {
        name: "twin-0".into(),
        port: twin.port().to_path_buf(),
        lines: Some(lines),
        locating: None,
        flash: FlashSettings::default(),
    });

    assert_eq!(
        board.identify().await.unwrap().to_string(),
        "5c:cf:7f:00:00:21"
    );
    let firmware = image::synthetic(64_000, 5);
    let mut flashed = Vec::new();
    let outcome = board
        .flash(&firmware, None, &mut |p| flashed.push(p))
        .await
        .unwrap();
    assert!(matches!(outcome, FlashOutcome::Written { .. }));
    assert_eq!(
        flashed.last(),
        Some(&Progress {
            written: firmware.len(),
            total: firmware.len()
        }),
        "progress to the end, through the stub: {flashed:?}"
    );
    assert_eq!(twin.read_flash(0, firmware.len()), firmware);
    assert_eq!(board.last_boot().map(|b| b.boot_mode), Some((3, 6)));

    let files = [AppFile {
        path: "main.py".into(),
        contents: b"print('boot reset=test')\n".to_vec(),
    }];
    let mut deployed = Vec::new();
    let report = board
        .deploy_with_progress(&files, &mut |p| deployed.push(p))
        .await
        .unwrap();
    assert_eq!(report.written, vec!["main.py".to_string()]);
    let total = files[0].contents.len();
    assert_eq!(
        deployed.last(),
        Some(&Progress {
            written: total,
            total
        })
    );
    let mut console = board.take_console().unwrap();
    board.start().await.unwrap();
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(l) = console.recv().await {
            let done = l.line.contains("boot reset=test");
            seen.push(l.line);
            if done {
                break;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("console so far: {seen:?}"));
    assert!(
        seen.iter()
            .any(|l| l.contains("rst cause:2, boot mode:(3,6)")),
        "{seen:?}"
    );
    board.stop().await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while console.recv().await.is_some() {}
    })
    .await;
    assert!(closed.is_ok(), "the console closes when the board stops");
    // main.py ended: the twin idles at its REPL.
    twin.wait_for(BoardMode::Repl, Duration::from_secs(10))
        .await
        .unwrap();
    twin.stop().await;
}
