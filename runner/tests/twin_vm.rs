//! Twin boards run the firmware on MicroPython's unix port with an ESP8266's heap: firmware copies that would
//! fail on the first real chip fail on the twin too, with MicroPython's own error on the console (no host path in
//! it), and the board then sits at its REPL instead of waking again.

mod common;
use common::*;
use serde_json::Value;
use std::path::Path;

/// A copy of firmware/app with `from` (which must occur once in `file`) replaced by `to`.
fn broken_copy(fx: &Fixture, file: &str, from: &str, to: &str) -> String {
    let firmware = fx.firmware_copy();
    let path = firmware.join(file);
    let source = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        source.matches(from).count(),
        1,
        "{file} must contain {from:?} once (the firmware changed: update this test)"
    );
    std::fs::write(&path, source.replace(from, to)).unwrap();
    firmware.to_str().unwrap().to_string()
}

struct Run {
    code: Option<i32>,
    all: String,
    events: Vec<Value>,
    report: std::path::PathBuf,
}

impl Run {
    fn console(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter(|e| e["kind"] == "console")
            .filter_map(|e| e["line"].as_str())
            .collect()
    }

    fn check(&self, name: &str) -> &Value {
        self.events
            .iter()
            .find(|e| e["kind"] == "check" && e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} check\n{}", self.all))
    }
}

fn run(fx: &Fixture, firmware: &str, extra: &[&str]) -> Run {
    let scenario = fx.write("vm.toml", &short_scenario("vm", 12.6, 0, ""));
    let report = fx.path("report");
    let mut args = vec!["--firmware", firmware];
    args.extend_from_slice(extra);
    let out = run_hil(&scenario, &report, &args, &[]);
    let log = std::fs::read_to_string(report.join("vm/events.jsonl")).unwrap_or_default();
    Run {
        code: out.status.code(),
        all: text(&out),
        events: log
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
        report,
    }
}

/// MicroPython's traceback names only the firmware's own files, as the chip's does.
fn assert_no_host_paths(run: &Run) {
    let host = project_root().join("firmware").join("host");
    for line in run.console() {
        assert!(
            !line.contains(host.to_str().unwrap())
                && !line.contains(".cache/hil")
                && !line.contains("vm_launch"),
            "a host path on the console: {line}\n{}",
            run.all
        );
    }
}

fn boots(run: &Run) -> usize {
    run.console()
        .iter()
        .filter(|l| l.starts_with("ets Jan  8 2013"))
        .count()
}

#[test]
fn a_firmware_that_allocates_more_than_the_chip_has_meets_memory_error_and_stops_at_the_repl() {
    let fx = Fixture::new();
    // A 16 KiB history kept by the module: more than an ESP8266 has left once the app is imported. It fails at
    // import, outside the app's own error handling, so the board stops at its REPL.
    let firmware = broken_copy(
        &fx,
        "app.py",
        "FW = \"0.1.0\"\n",
        "FW = \"0.1.0\"\nHISTORY = bytearray(16 * 1024)\n",
    );
    let run = run(&fx, &firmware, &[]);
    assert_eq!(run.code, Some(1), "{}", run.all);
    let console = run.console();
    assert!(
        console
            .iter()
            .any(|l| l.starts_with("MemoryError: memory allocation failed, allocating 16384 bytes")),
        "{console:#?}"
    );
    let heap = run.check("heap");
    assert_eq!(heap["pass"], false);
    assert!(
        heap["message"].as_str().unwrap().contains("MemoryError"),
        "{heap}"
    );
    assert!(
        console
            .iter()
            .any(|l| l.starts_with(">>>") || l.contains("Type \"help()\"")),
        "the board sits at its REPL: {console:#?}"
    );
    assert_eq!(
        boots(&run),
        1,
        "no further wakes after the crash: {console:#?}"
    );
    assert_no_host_paths(&run);
    let html = std::fs::read_to_string(run.report.join("index.html")).unwrap();
    assert!(
        html.contains("MemoryError"),
        "the report shows MicroPython's error"
    );
}

/// app.py printing its seq with `str.zfill`, which CPython has and MicroPython does not.
fn zfill_copy(fx: &Fixture) -> String {
    broken_copy(
        fx,
        "app.py",
        "    print(\"boot reset=%s seq=%d\" % (reset_name(cause), state.seq))\n",
        "    print(\"boot reset=%s seq=%s\" % (reset_name(cause), str(state.seq).zfill(4)))\n",
    )
}

#[test]
fn a_cpython_only_api_fails_with_micropythons_own_error_where_cpython_passed_it() {
    let fx = Fixture::new();
    let firmware = zfill_copy(&fx);
    let on_vm = run(&fx, &firmware, &[]);
    assert_eq!(on_vm.code, Some(1), "{}", on_vm.all);
    let console = on_vm.console();
    let error = console
        .iter()
        .position(|l| *l == "AttributeError: 'str' object has no attribute 'zfill'")
        .unwrap_or_else(|| panic!("MicroPython's message: {console:#?}"));
    assert!(
        console[..error]
            .iter()
            .any(|l| l.starts_with("  File \"app.py\", line ")),
        "the traceback names the firmware's file: {console:#?}"
    );
    assert_eq!(boots(&on_vm), 1, "{console:#?}");
    assert_no_host_paths(&on_vm);

    // The comparison runtime runs the same copy happily: that is the gap the VM closes.
    let fx = Fixture::new();
    let firmware = zfill_copy(&fx);
    let on_cpython = run(&fx, &firmware, &["--twin-runtime", "cpython"]);
    assert_eq!(on_cpython.code, Some(0), "{}", on_cpython.all);
}

#[test]
fn writing_493_bytes_of_rtc_memory_fails_with_the_chips_error() {
    let fx = Fixture::new();
    let firmware = broken_copy(
        &fx,
        "app.py",
        "    rtc.memory(state.encode())\n    wlan = wifi_up(cfg)\n",
        "    rtc.memory(bytes(493))\n    wlan = wifi_up(cfg)\n",
    );
    let run = run(&fx, &firmware, &[]);
    assert_eq!(run.code, Some(1), "{}", run.all);
    let console = run.console();
    assert!(
        console.contains(&"ValueError: buffer too long"),
        "the chip's exception: {console:#?}"
    );
    assert!(
        console
            .iter()
            .any(|l| l.starts_with("  File \"app.py\", line ")),
        "{console:#?}"
    );
    assert_no_host_paths(&run);
}

#[test]
fn every_wake_reports_its_heap_and_the_app_keeps_the_default_headroom() {
    let fx = Fixture::new();
    let app = project_root().join("firmware").join("app");
    let run = run(&fx, app.to_str().unwrap(), &[]);
    assert_eq!(run.code, Some(0), "{}", run.all);
    let heaps: Vec<&Value> = run
        .events
        .iter()
        .filter(|e| e["kind"] == "board.heap")
        .collect();
    let wakes = run
        .events
        .iter()
        .filter(|e| e["kind"] == "board.wake")
        .count();
    assert!(
        wakes >= 4 && heaps.len() == wakes,
        "one report per wake: {wakes} wakes, {heaps:?}"
    );
    for h in &heaps {
        let (boot, min) = (
            h["free_at_boot"].as_u64().unwrap(),
            h["min_free"].as_u64().unwrap(),
        );
        // The chip's free heap after boot, as the twin leaves it to the firmware (twin/src/runtime.rs).
        assert!((31 * 1024 - 64..=31 * 1024).contains(&boot), "{h}");
        assert!(min < boot && min >= 4096, "{h}");
    }
    assert_eq!(run.check("heap")["pass"], true);
    let html = std::fs::read_to_string(run.report.join("index.html")).unwrap();
    assert!(
        html.contains("lowest free heap"),
        "the report shows each wake's heap"
    );
    assert!(Path::new(&run.report).join("vm").is_dir());
}
