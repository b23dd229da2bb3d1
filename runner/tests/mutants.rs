//! Broken firmware variants: copies of firmware/app with one known defect each. Every one must fail `hil run`
//! (exit 1) on a short scenario of the library, with the check that targets that defect failing. The same
//! scenarios pass with the real firmware (tests/scenarios.rs), so each failure is the defect's doing.

mod common;
use common::*;

struct Mutant {
    name: &'static str,
    file: &'static str,
    /// Text of the real firmware that the defect replaces; it must occur exactly once.
    from: &'static str,
    to: &'static str,
    scenario: &'static str,
    /// The check that must fail.
    check: &'static str,
}

const MUTANTS: [Mutant; 7] = [
    Mutant {
        name: "wrong-divider",
        file: "battery.py",
        from: "return counts * full_scale_volts / (1023 * divider)",
        to: "return counts * full_scale_volts / (1023 * divider * 1.1)",
        scenario: "keepalive-fixed",
        check: "readings.accuracy",
    },
    Mutant {
        name: "keepalive-zero",
        file: "config.py",
        from: "return 0 if cfg[\"legacy_keepalive_zero\"] else cfg[\"keepalive_s\"]",
        to: "return 0",
        scenario: "keepalive-fixed",
        check: "keepalive",
    },
    Mutant {
        name: "never-sleeps",
        file: "app.py",
        from: "    machine.deepsleep(sleep_ms)\n",
        to: "    time.sleep_ms(sleep_ms)\n",
        scenario: "sleep-drift",
        check: "period",
    },
    Mutant {
        name: "sleeps-twice-as-long",
        file: "app.py",
        from: "    machine.deepsleep(sleep_ms)\n",
        to: "    machine.deepsleep(sleep_ms * 2)\n",
        scenario: "sleep-drift",
        check: "period",
    },
    Mutant {
        name: "drops-the-backlog",
        file: "app.py",
        from: "    last_sent = time.ticks_ms()\n    try:\n",
        to: "    last_sent = time.ticks_ms()\n    del state.entries[:-1]\n    try:\n",
        scenario: "broker-outage",
        check: "no-lost-readings",
    },
    Mutant {
        name: "raw-count-as-volts",
        file: "payload.py",
        from: "'\"v\": ' + volts_text(entry.centivolts),",
        to: "'\"v\": %d' % entry.raw,",
        scenario: "keepalive-fixed",
        check: "readings.accuracy",
    },
    Mutant {
        name: "no-disconnect-before-sleep",
        file: "app.py",
        from: "    client.disconnect()\n",
        to: "    client.sock.close()\n",
        scenario: "keepalive-fixed",
        check: "clean-disconnect",
    },
];

/// Runs one variant; Err says how it escaped.
fn catch(m: &Mutant) -> Result<(), String> {
    let fx = Fixture::new();
    let firmware = fx.firmware_copy();
    let path = firmware.join(m.file);
    let source = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    if source.matches(m.from).count() != 1 {
        return Err(format!(
            "{}: {} must contain {:?} exactly once (the firmware changed: update the mutant)",
            m.name, m.file, m.from
        ));
    }
    std::fs::write(&path, source.replace(m.from, m.to)).map_err(|e| e.to_string())?;
    let scenario = project_root()
        .join("scenarios")
        .join(format!("{}.toml", m.scenario));
    let report = fx.path("report");
    let out = run_hil(
        &scenario,
        &report,
        &["--quiet", "--firmware", firmware.to_str().unwrap()],
        &[],
    );
    let all = text(&out);
    if out.status.code() != Some(1) {
        return Err(format!(
            "{} on {}: expected exit 1 (a check failed)\n{all}",
            m.name, m.scenario
        ));
    }
    let events = std::fs::read_to_string(report.join(m.scenario).join("events.jsonl"))
        .map_err(|e| format!("{}: no event log: {e}\n{all}", m.name))?;
    let caught = events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .any(|e| e["kind"] == "check" && e["name"] == m.check && e["pass"] == false);
    if caught {
        Ok(())
    } else {
        Err(format!(
            "{} on {}: the {} check did not fail\n{all}",
            m.name, m.scenario, m.check
        ))
    }
}

#[test]
fn every_broken_firmware_variant_fails_its_check() {
    // In parallel: each is a twin run that mostly waits on device time.
    let escaped: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = MUTANTS.iter().map(|m| s.spawn(move || catch(m))).collect();
        runs.into_iter()
            .filter_map(|r| r.join().unwrap_or_else(|_| Err("panicked".into())).err())
            .collect()
    });
    assert!(
        escaped.is_empty(),
        "{} of {} broken variants escaped:\n{}",
        escaped.len(),
        MUTANTS.len(),
        escaped.join("\n\n")
    );
}
