//! esptool (PyPI), unmodified, run on a twin board's port.

use std::path::Path;
use std::process::Output;
use std::time::Duration;
use tokio::process::Command;

pub const INSTALL_HINT: &str =
    "esptool is missing: python3 -m pip install esptool (or run .ci/install)";

pub async fn esptool(port: &Path, after: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "esptool", "--chip", "esp8266", "--port"])
        .arg(port)
        .args(["--before", "no-reset", "--after", after])
        .args(args)
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("esptool ran for more than 120 s")
        .expect("running python3");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("No module named esptool"), "{INSTALL_HINT}");
    assert!(
        out.status.success(),
        "esptool {args:?} failed ({}):\n{text}",
        out.status
    );
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
