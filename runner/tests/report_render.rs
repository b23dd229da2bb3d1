//! The HTML report as a browser draws it: headless Chromium screenshots a failing two-board run's `index.html`
//! (tolerance band, readings outside it, a fault window), offline.
//! The screenshot is left in `target/tmp/report-render.png` for a person to look at.

mod common;
use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let installed = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(installed, "install chromium: apt-get install -y chromium");

    let fx = Fixture::new();
    // A failing run, as a lab would look at one: a tolerance no ADC meets puts readings outside the band, and
    // the broker goes down for 40 s.
    let fixture = short_scenario("pair", 12.6, 0, "")
        .replace("duration =", "boards = 2\nduration =")
        .replace("within_volts = 0.15", "within_volts = 0.001")
        + "\n[[fault]]\nat = \"60s\"\nfor = \"40s\"\nkind = \"broker-down\"\n";
    let scenario = fx.write("pair.toml", &fixture);
    let report = fx.path("report");
    let out = run_hil(&scenario, &report, &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1), "the run fails\n{}", text(&out));
    let page = report.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("class=\"out-of-band\""),
        "readings outside the band"
    );
    assert!(
        html.contains("\nbroker-down\n</text>"),
        "the fault window is named"
    );

    let png = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-render.png");
    let _ = std::fs::remove_file(&png);
    let profile = fx.path("chromium-profile");
    // Everything that would reach the network is off: the page must render from the file alone.
    let mut chromium = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = chromium.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = chromium.kill();
            panic!("chromium did not finish the screenshot within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::io::read_to_string(chromium.stderr.take().unwrap()).unwrap_or_default();
    assert!(status.success(), "chromium: {status}\n{stderr}");
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}\n{stderr}", png.display()));
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    assert!(
        bytes.len() > 20 * 1024,
        "a {} byte screenshot is too small to show the plots",
        bytes.len()
    );
}
