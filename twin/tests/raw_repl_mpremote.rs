//! mpremote (PyPI), unmodified, against the twin pty board's raw REPL: fs cp (and its hash-skip), fs ls, fs cat,
//! exec, soft-reset and reset.

mod common;
use common::{standalone_board, vm_runtime};
use std::path::Path;
use std::time::Duration;
use tokio::process::Command;
use twin::pty_board::{BoardMode, PtyBoardSpec};

const INSTALL_HINT: &str =
    "mpremote is missing: python3 -m pip install mpremote (or run .ci/install)";

async fn mpremote(port: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "mpremote", "connect"])
        .arg(port)
        .args(args)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("mpremote ran for more than 60 s")
        .expect("running python3");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("No module named mpremote"), "{INSTALL_HINT}");
    assert!(
        out.status.success(),
        "mpremote {args:?} failed ({}):\n{text}",
        out.status
    );
    text
}

#[tokio::test]
async fn mpremote_copies_lists_runs_and_resets() {
    let spec = PtyBoardSpec::new("twin-0", "5c:cf:7f:00:00:09", &vm_runtime());
    let board = standalone_board(spec, 8.0, BoardMode::Repl, Duration::from_secs(10)).await;
    let port = board.port().to_path_buf();

    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("main.py");
    let source = format!("print('hello from main')\n# {}\n", "pad ".repeat(300));
    std::fs::write(&local, &source).unwrap();
    let local = local.to_str().unwrap();

    mpremote(&port, &["fs", "cp", local, ":main.py"]).await;
    assert_eq!(
        std::fs::read_to_string(board.filesystem().join("main.py")).unwrap(),
        source
    );
    // Unchanged: mpremote's sha256, computed on the board, matches.
    let again = mpremote(&port, &["fs", "cp", local, ":main.py"]).await;
    assert!(again.contains("Up to date"), "{again}");

    let listing = mpremote(&port, &["fs", "ls"]).await;
    assert!(listing.contains("main.py"), "{listing}");
    assert!(listing.contains(&source.len().to_string()), "{listing}");
    let cat = mpremote(&port, &["fs", "cat", ":main.py"]).await;
    assert!(cat.contains("hello from main"), "{cat}");

    let sum = mpremote(&port, &["exec", "print(1+2)"]).await;
    assert!(sum.contains('3'), "{sum}");

    mpremote(&port, &["soft-reset"]).await;
    assert_eq!(board.mode(), BoardMode::Repl);

    // reset runs machine.reset(): the chip restarts and boots the app (main.py prints, ends, REPL again).
    mpremote(&port, &["reset"]).await;
    board
        .wait_for(BoardMode::Repl, Duration::from_secs(10))
        .await
        .unwrap();
    board.stop().await;
}
