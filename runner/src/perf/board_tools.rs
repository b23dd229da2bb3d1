//! `hil bench boards`: our flasher and deploy against esptool and mpremote, on one twin pty board paced in real
//! time at the link's baud rate (115200, or what CHANGE_BAUDRATE set), so the numbers compare protocols and tools
//! rather than pty speed. Not a test: it prints.

use anyhow::{bail, Context, Result};
use rig::board::esp8266::flasher::{self, FlashLink};
use rig::board::esp8266::image;
use rig::board::esp8266::stub::{installed_path, FlasherStub};
use rig::board::raw_repl::RawRepl;
use rig::board::reset_lines::{reset_into_loader, reset_to_run};
use rig::board::serial::Tty;
use rig::board::AppFile;
use rig::board::FlashOutcome;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::Command;
use twin::pty_board::{BoardMode, PtyBoard, PtyBoardSpec};
use twin::FirmwareRuntime;

/// Any one tool run longer than this is reported as a failure, not waited for.
const TOOL_TIMEOUT: Duration = Duration::from_secs(600);
/// The installed esptool's Xtensa stubs (ESP8266, ESP32, -S2, -S3; both stub generations): real LX106/LX6/LX7
/// machine code, the bulk of what a MicroPython build for these chips is.
const XTENSA_STUBS: [&str; 8] = [
    "2/esp8266.json",
    "2/esp32.json",
    "2/esp32s2.json",
    "2/esp32s3.json",
    "1/esp8266.json",
    "1/esp32.json",
    "1/esp32s2.json",
    "1/esp32s3.json",
];

#[derive(Debug, Clone)]
pub struct BoardsBenchOptions {
    /// What the twin board runs its app and REPL code on.
    pub runtime: FirmwareRuntime,
    /// The app folder whose files are deployed (firmware/app).
    pub app_dir: PathBuf,
    /// Flash link speeds to compare at (esptool's --baud; ours switches the stub to the same).
    pub bauds: Vec<u32>,
    pub image_bytes: usize,
}

/// One measured run; `seconds` is None when the tool is missing or failed (`note` says which).
#[derive(Debug, Clone)]
pub struct BenchRow {
    pub what: String,
    pub bytes: usize,
    pub seconds: Option<f64>,
    pub note: String,
}

/// A flash image of `bytes` shaped like an ESP8266 MicroPython build: two segments of real Xtensa code (the
/// installed esptool's stubs, see [`XTENSA_STUBS`], concatenated and repeated; each repeat is further back than
/// deflate's 32 KiB window, so it compresses as that code does, not better). Deterministic for one esptool.
/// Returns the image and a line saying how it was made and how it compresses.
pub async fn micropython_shaped_image(bytes: usize) -> Result<(Vec<u8>, String)> {
    let stub_dir = installed_path()
        .await?
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .context("esptool's stub folder")?;
    let mut code = Vec::new();
    for name in XTENSA_STUBS {
        code.extend(FlasherStub::load(&stub_dir.join(name))?.text);
    }
    let body: Vec<u8> = code
        .iter()
        .copied()
        .cycle()
        .take(bytes.saturating_sub(64))
        .collect();
    let (iram, irom) = body.split_at(body.len() / 4);
    let img = image::build(
        2,
        0x40,
        0x4010_0004,
        &[(0x4010_0000, iram), (0x4020_1010, irom)],
    );
    let packed = flasher::deflate(&img)?.len();
    let how = format!(
        "image {} bytes: Xtensa code of esptool's installed stubs ({} bytes) repeated, zlib -9 to {packed} ({:.0}%)",
        img.len(),
        code.len(),
        100.0 * packed as f64 / img.len() as f64
    );
    Ok((img, how))
}

/// Runs every comparison and prints a table to `out`; returns the rows.
pub async fn bench_boards(
    opts: &BoardsBenchOptions,
    out: &mut (dyn Write + Send),
) -> Result<Vec<BenchRow>> {
    let mut spec = PtyBoardSpec::new("bench-0", "5c:cf:7f:00:be:01", &opts.runtime);
    spec.start_in_loader = true;
    let board = PtyBoard::spawn_standalone(spec).await?;
    board
        .wait_for(BoardMode::RomLoader, Duration::from_secs(5))
        .await?;
    let dir = rig::scratch::tempdir("bench-boards-")?;
    let (firmware, how) = micropython_shaped_image(opts.image_bytes).await?;
    let stub = Arc::new(FlasherStub::installed().await?);
    let image_path = dir.path().join("image.bin");
    std::fs::write(&image_path, &firmware)?;
    let files = app_files(&opts.app_dir)?;
    let app_bytes: usize = files.iter().map(|f| f.contents.len()).sum();
    writeln!(
        out,
        "twin board paced in real time at its link's baud (115200 until a stub switches it); {how}; \
         app {} files, {} bytes",
        files.len(),
        app_bytes
    )?;
    let mut rows = Vec::new();

    // Flash: each run starts from a reset into the loader, with the flash erased so no run can skip.
    let lines = board.lines();
    let image_arg = image_path.to_string_lossy().into_owned();
    for &baud in &opts.bauds {
        let link = FlashLink {
            stub: Some(stub.clone()),
            baud,
        };
        let what = format!("flash {baud}: ours (stub, compressed)");
        let row = measure(&what, firmware.len(), async {
            reset_into_loader(lines.as_ref()).await?;
            erase(&board).await?;
            reset_into_loader(lines.as_ref()).await?;
            let port = Tty::open(board.port(), 115_200).await?;
            let started = Instant::now();
            let (_, _, outcome) =
                flasher::flash_image(port, "bench-0", &link, &firmware, None, &mut |_| {}).await?;
            if !matches!(outcome, FlashOutcome::Written { .. }) {
                bail!("our flasher skipped the write: {outcome:?}");
            }
            Ok(started.elapsed().as_secs_f64())
        })
        .await;
        rows.push(row);
        let baud_arg = baud.to_string();
        let args = ["--baud", &baud_arg, "write-flash", "0x0", &image_arg];
        let what = format!("flash {baud}: esptool (stub, compressed)");
        let row = measure(&what, firmware.len(), async {
            reset_into_loader(lines.as_ref()).await?;
            erase(&board).await?;
            reset_into_loader(lines.as_ref()).await?;
            esptool(board.port(), &args).await
        })
        .await;
        rows.push(row);
    }

    // Deploy: into an empty filesystem, then again unchanged (both tools skip by sha256 on the board).
    reset_to_run(lines.as_ref()).await?;
    board
        .wait_for(BoardMode::Repl, Duration::from_secs(20))
        .await?;
    for pass in ["fresh", "unchanged"] {
        if pass == "fresh" {
            clear(board.filesystem())?;
        }
        let what = format!("deploy {pass}: ours (raw-paste, batched hashes)");
        rows.push(
            measure(&what, app_bytes, async {
                let started = Instant::now();
                let port = Tty::open(board.port(), 115_200).await?;
                let mut repl = RawRepl::enter(port, "bench-0").await?;
                repl.deploy(&files).await?;
                Ok(started.elapsed().as_secs_f64())
            })
            .await,
        );
    }
    let paths: Vec<String> = files
        .iter()
        .map(|f| opts.app_dir.join(&f.path).to_string_lossy().into_owned())
        .collect();
    for pass in ["fresh", "unchanged"] {
        if pass == "fresh" {
            clear(board.filesystem())?;
        }
        let mut args: Vec<&str> = vec!["fs", "cp"];
        args.extend(paths.iter().map(String::as_str));
        args.push(":");
        let what = format!("deploy {pass}: mpremote fs cp");
        rows.push(measure(&what, app_bytes, mpremote(board.port(), &args)).await);
    }
    board.stop().await;

    for r in &rows {
        match r.seconds {
            Some(s) => writeln!(
                out,
                "{:<52} {:>8.2} s {:>8.1} KB/s",
                r.what,
                s,
                r.bytes as f64 / 1000.0 / s.max(1e-9)
            )?,
            None => writeln!(out, "{:<52} {}", r.what, r.note)?,
        }
    }
    Ok(rows)
}

async fn measure(
    what: &str,
    bytes: usize,
    run: impl std::future::Future<Output = Result<f64>>,
) -> BenchRow {
    match run.await {
        Ok(s) => BenchRow {
            what: what.to_string(),
            bytes,
            seconds: Some(s),
            note: String::new(),
        },
        Err(e) => BenchRow {
            what: what.to_string(),
            bytes,
            seconds: None,
            note: format!("{e:#}"),
        },
    }
}

/// Erases the twin's flash through its loader (so the next write cannot be skipped), leaving the stub behind.
async fn erase(board: &PtyBoard) -> Result<()> {
    let port = Tty::open(board.port(), 115_200).await?;
    let mut f = flasher::Flasher::connect(port, board.name()).await?;
    let blank = vec![0xFF; 0x1000];
    Ok(f.write_flash(0, &blank, &mut |_| {}).await?)
}

fn clear(folder: &Path) -> Result<()> {
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

fn app_files(dir: &Path) -> Result<Vec<AppFile>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "py" || e == "json") && path.is_file() {
            files.push(AppFile {
                path: path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                contents: std::fs::read(&path)?,
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

async fn python_tool(module: &str, hint: &str, args: Vec<String>) -> Result<f64> {
    let started = Instant::now();
    let mut cmd = Command::new("python3");
    cmd.args(["-m", module]).args(&args).kill_on_drop(true);
    let out = tokio::time::timeout(TOOL_TIMEOUT, cmd.output())
        .await
        .with_context(|| format!("{module} ran past {TOOL_TIMEOUT:?}"))?
        .context("running python3")?;
    let seconds = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains(&format!("No module named {module}")) {
        bail!("not installed ({hint})");
    }
    if !out.status.success() {
        bail!("{module} failed: {}", stderr.lines().last().unwrap_or(""));
    }
    Ok(seconds)
}

async fn esptool(port: &Path, args: &[&str]) -> Result<f64> {
    let mut all: Vec<String> = ["--chip", "esp8266", "--port"].map(String::from).to_vec();
    all.push(port.to_string_lossy().into_owned());
    all.extend(["--before", "no-reset", "--after", "no-reset"].map(String::from));
    all.extend(args.iter().map(|a| a.to_string()));
    python_tool("esptool", "pip install esptool", all).await
}

async fn mpremote(port: &Path, args: &[&str]) -> Result<f64> {
    let mut all = vec!["connect".to_string(), port.to_string_lossy().into_owned()];
    all.extend(args.iter().map(|a| a.to_string()));
    python_tool("mpremote", "pip install mpremote", all).await
}
