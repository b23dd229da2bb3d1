//! Our raw-REPL client against the twin pty board: exec, tracebacks, raw-paste, deploy with hash-skip,
//! soft reset, a reset into the app whose console then shows on the same port, and an app that dies of an uncaught
//! exception, leaving the board at its REPL. On the MicroPython VM, and on the CPython comparison runtime.

mod common;
use common::{cpython_runtime, standalone_board, vm_runtime};
use rig::board::raw_repl::{RawRepl, ReplError};
use rig::board::reset_lines::reset_to_run;
use rig::board::serial::Tty;
use rig::board::AppFile;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use twin::pty_board::{BoardMode, PtyBoard, PtyBoardSpec};
use twin::FirmwareRuntime;

async fn board_at_repl(name: &str) -> PtyBoard {
    board_on(name, &vm_runtime()).await
}

async fn board_on(name: &str, runtime: &FirmwareRuntime) -> PtyBoard {
    let spec = PtyBoardSpec::new(name, "5c:cf:7f:00:00:07", runtime);
    standalone_board(spec, 8.0, BoardMode::Repl, Duration::from_secs(10)).await
}

#[tokio::test]
async fn runs_code_and_reports_tracebacks() {
    runs_code_and_reports_tracebacks_on(&vm_runtime()).await;
}

#[tokio::test]
async fn runs_code_and_reports_tracebacks_on_cpython() {
    runs_code_and_reports_tracebacks_on(&cpython_runtime()).await;
}

async fn runs_code_and_reports_tracebacks_on(runtime: &FirmwareRuntime) {
    let board = board_on("twin-0", runtime).await;
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let mut repl = RawRepl::enter(port, "twin-0").await.unwrap();
    assert_eq!(repl.exec("print(6*7)", "sum").await.unwrap(), b"42\r\n");
    // Globals live across execs until a soft reset, as mpremote's file writes rely on.
    repl.exec("x=5", "set").await.unwrap();
    assert_eq!(repl.exec("print(x)", "get").await.unwrap(), b"5\r\n");
    let err = repl.exec("open('missing.txt')", "open").await.unwrap_err();
    assert!(matches!(err, ReplError::Raised { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("twin-0") && text.contains("OSError: [Errno 2] ENOENT"),
        "{text}"
    );
    // Large code goes through the raw-paste window.
    let big = format!("s={:?}\nprint(len(s))", "z".repeat(5000));
    assert_eq!(repl.exec(&big, "big").await.unwrap(), b"5000\r\n");
    repl.soft_reset().await.unwrap();
    let err = repl.exec("print(x)", "after reset").await.unwrap_err();
    assert!(format!("{err:#}").contains("NameError"), "{err:#}");
    board.stop().await;
}

#[tokio::test]
async fn deploys_skips_unchanged_files_and_resets_into_the_app() {
    let board = board_at_repl("twin-1").await;
    let files = vec![
        AppFile {
            path: "main.py".into(),
            contents: b"import helper\nprint('app says', helper.VALUE)\n".to_vec(),
        },
        AppFile {
            path: "lib/data.bin".into(),
            contents: (0..=255u8).cycle().take(3000).collect(),
        },
        AppFile {
            path: "helper.py".into(),
            contents: b"VALUE = 'it\\'s here'\n".to_vec(),
        },
    ];
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let mut repl = RawRepl::enter(port, "twin-1").await.unwrap();
    let first = repl.deploy(&files).await.unwrap();
    assert_eq!(first.written.len(), 3);
    for f in &files {
        let on_disk = std::fs::read(board.filesystem().join(&f.path)).unwrap();
        assert_eq!(on_disk, f.contents, "{}", f.path);
    }
    let mut changed = files.clone();
    changed[2].contents = b"VALUE = 2\n".to_vec();
    let second = repl.deploy(&changed).await.unwrap();
    assert_eq!(second.written, vec!["helper.py".to_string()]);
    assert_eq!(second.unchanged.len(), 2);

    let (mut port, mut seen) = repl.reset_into_app().await.unwrap();
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !String::from_utf8_lossy(&seen).contains("app says 2") {
            let n = port.read(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no app output: {:?}", String::from_utf8_lossy(&seen)));
    board.stop().await;
}

#[tokio::test]
async fn the_app_deep_sleeps_and_wakes_with_the_rom_banner_and_rtc_memory() {
    deep_sleeps_and_wakes_on(&vm_runtime()).await;
}

#[tokio::test]
async fn the_app_deep_sleeps_and_wakes_on_cpython() {
    deep_sleeps_and_wakes_on(&cpython_runtime()).await;
}

async fn deep_sleeps_and_wakes_on(runtime: &FirmwareRuntime) {
    let board = board_on("twin-2", runtime).await;
    let main = "import machine\nr = machine.RTC()\nn = len(r.memory())\nprint('wake', machine.reset_cause(), n)\n\
                r.memory(b'x' * (n + 1))\nif n < 2:\n    machine.deepsleep(300)\n";
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let mut repl = RawRepl::enter(port, "twin-2").await.unwrap();
    let files = [AppFile {
        path: "main.py".into(),
        contents: main.as_bytes().to_vec(),
    }];
    repl.deploy(&files).await.unwrap();
    let (mut port, first) = repl.reset_into_app().await.unwrap();
    let mut seen = String::from_utf8_lossy(&first).into_owned();
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(15), async {
        while !seen.contains("wake 5 2") {
            let n = port.read(&mut buf).await.unwrap();
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("console: {seen:?}"));
    // Soft reset first (4), then two deep-sleep wakes (5) keeping RTC memory, each after the ROM banner.
    assert!(seen.contains("wake 4 0"), "{seen:?}");
    assert!(seen.contains("rst cause:2, boot mode:(3,6)"), "{seen:?}");
    assert!(seen.find("wake 5 1") < seen.find("wake 5 2"), "{seen:?}");
    board
        .wait_for(BoardMode::Repl, Duration::from_secs(10))
        .await
        .unwrap();
    board.stop().await;
}

#[tokio::test]
async fn an_uncaught_exception_prints_its_traceback_and_leaves_the_board_at_its_repl() {
    let board = board_at_repl("twin-3").await;
    let port = Tty::open(board.port(), 115_200).await.unwrap();
    let mut repl = RawRepl::enter(port, "twin-3").await.unwrap();
    let main = "print('app up')\ndef check():\n    raise ValueError('battery unknown')\ncheck()\n";
    repl.deploy(&[AppFile {
        path: "main.py".into(),
        contents: main.as_bytes().to_vec(),
    }])
    .await
    .unwrap();
    let mut port = repl.into_port();
    // A pin reset: the ROM banner, the app, its traceback, MicroPython's banner and the prompt.
    reset_to_run(board.lines().as_ref()).await.unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    tokio::time::timeout(Duration::from_secs(15), async {
        while !seen.ends_with(">>> ") {
            let n = port.read(&mut buf).await.unwrap();
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no REPL prompt after the exception: {seen:?}"));
    let boot = &seen[seen
        .find("rst cause:2")
        .unwrap_or_else(|| panic!("{seen:?}"))..];
    assert!(
        boot.contains(
            "app up\r\nTraceback (most recent call last):\r\n  File \"main.py\", line 4, in <module>\r\n  \
             File \"main.py\", line 3, in check\r\nValueError: battery unknown\r\n\
             MicroPython v1.22.2 on 2024-02-22; ESP module with ESP8266\r\nType \"help()\" for more information.\r\n>>> "
        ),
        "{boot:?}"
    );
    board
        .wait_for(BoardMode::Repl, Duration::from_secs(5))
        .await
        .unwrap();
    // Awake at the REPL, the board stays there: a while later nothing more has come, and the raw REPL answers.
    let quiet = tokio::time::timeout(Duration::from_millis(1500), port.read(&mut buf)).await;
    assert!(quiet.is_err(), "the board printed more: {quiet:?}");
    let mut repl = RawRepl::enter(port, "twin-3").await.unwrap();
    assert_eq!(repl.exec("print(6*7)", "sum").await.unwrap(), b"42\r\n");
    let mut port = repl.into_port();
    let _ = tokio::time::timeout(Duration::from_millis(500), port.read(&mut buf)).await;
    assert_eq!(board.mode(), BoardMode::Repl);
    assert_eq!(seen.matches("rst cause").count(), 1, "{seen:?}");
    assert_eq!(seen.matches("app up").count(), 1, "{seen:?}");
    board.stop().await;
}
