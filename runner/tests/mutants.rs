//! Broken firmware variants: copies of firmware/app with one known defect each. Every one must fail `hil run`
//! (exit 1) on a short scenario of the library, with the check that targets that defect failing, and with it only
//! the checks the defect also starves (listed), so each check is shown to catch what no other does. The same
//! scenarios pass with the real firmware (tests/scenarios.rs), so each failure is the defect's doing. Each variant
//! is a test of its own: `cargo nextest run -p runner -E 'binary(mutants)'`.

mod common;
use common::*;
use libtest_mimic::{Arguments, Failed, Trial};
use std::collections::BTreeSet;

struct Mutant {
    name: &'static str,
    file: &'static str,
    /// Text of the real firmware that the defect replaces; it must occur exactly once.
    from: &'static str,
    to: &'static str,
    scenario: &'static str,
    /// The check that must fail.
    check: &'static str,
    /// Every other check that fails with it; None where a defect stops the board from doing much at all, and so
    /// starves many checks.
    with: Option<&'static [&'static str]>,
}

const ALONE: Option<&[&str]> = Some(&[]);

const MUTANTS: [Mutant; 26] = [
    Mutant {
        name: "wrong-divider",
        file: "battery.py",
        from: "return counts * full_scale_volts / (1023 * divider)",
        to: "return counts * full_scale_volts / (1023 * divider * 1.1)",
        scenario: "keepalive-fixed",
        check: "readings.accuracy",
        // v no longer follows raw under the deployed calibration either.
        with: Some(&["raw"]),
    },
    Mutant {
        name: "keepalive-zero",
        file: "config.py",
        from: "return 0 if cfg[\"legacy_keepalive_zero\"] else cfg[\"keepalive_s\"]",
        to: "return 0",
        scenario: "keepalive-fixed",
        check: "keepalive",
        with: None,
    },
    Mutant {
        name: "never-sleeps",
        file: "app.py",
        from: "    machine.deepsleep(sleep_ms)\n",
        to: "    time.sleep_ms(sleep_ms)\n",
        scenario: "sleep-drift",
        check: "period",
        with: None,
    },
    Mutant {
        name: "sleeps-twice-as-long",
        file: "app.py",
        from: "    machine.deepsleep(sleep_ms)\n",
        to: "    machine.deepsleep(sleep_ms * 2)\n",
        scenario: "sleep-drift",
        check: "period",
        with: None,
    },
    Mutant {
        name: "drops-the-backlog",
        file: "app.py",
        from: "    topic = \"%s/%s/battery\" % (cfg[\"topic_prefix\"], cfg[\"device_id\"])\n",
        to: "    topic = \"%s/%s/battery\" % (cfg[\"topic_prefix\"], cfg[\"device_id\"])\n    while state.count() > 1:\n        state.sent()\n",
        scenario: "broker-outage",
        check: "no-lost-readings",
        with: Some(&["backlog"]),
    },
    Mutant {
        name: "raw-count-as-volts",
        file: "payload.py",
        from: "'\"v\": ' + volts_text(entry.centivolts),",
        to: "'\"v\": %d' % entry.raw,",
        scenario: "keepalive-fixed",
        check: "readings.accuracy",
        with: Some(&["raw"]),
    },
    Mutant {
        name: "no-disconnect-before-sleep",
        file: "app.py",
        from: "    client.disconnect()\n",
        to: "    client.sock.close()\n",
        scenario: "keepalive-fixed",
        check: "clean-disconnect",
        with: ALONE,
    },
    Mutant {
        name: "topic-misspelt",
        file: "app.py",
        from: "topic = \"%s/%s/battery\"",
        to: "topic = \"%s/%s/Battery\"",
        scenario: "keepalive-fixed",
        check: "topic",
        // The monitor listens on the configured topic: it hears none of the board's readings.
        with: Some(&["readings.count", "readings.accuracy"]),
    },
    Mutant {
        name: "qos-ignored",
        file: "app.py",
        from: "client.publish(topic, message, cfg[\"qos\"])",
        to: "client.publish(topic, message)",
        scenario: "qos1-puback",
        check: "qos",
        with: ALONE,
    },
    Mutant {
        name: "retained",
        file: "mqtt.py",
        from: "first = PUBLISH | (qos << 1) | (DUP_FLAG if dup else 0)",
        to: "first = PUBLISH | (qos << 1) | (DUP_FLAG if dup else 0) | 1",
        scenario: "keepalive-fixed",
        check: "retain",
        with: ALONE,
    },
    Mutant {
        name: "dropped-zero-sent",
        file: "payload.py",
        from: "    if dropped:\n",
        to: "    if dropped is not None:\n",
        scenario: "keepalive-fixed",
        check: "payload",
        with: ALONE,
    },
    Mutant {
        name: "resend-without-dup",
        file: "mqtt.py",
        from: "self.send(publish_packet(topic, message, qos, self.pid, attempt > 0))",
        to: "self.send(publish_packet(topic, message, qos, self.pid, False))",
        scenario: "qos1-puback",
        check: "duplicates",
        with: ALONE,
    },
    Mutant {
        name: "backlog-newest-first",
        file: "backlog.py",
        from: "        self.packed += struct.pack(_ENTRY, self.seq, raw, centivolts, flags)\n",
        to: "        self.packed = struct.pack(_ENTRY, self.seq, raw, centivolts, flags) + self.packed\n",
        scenario: "broker-outage",
        check: "backlog",
        with: ALONE,
    },
    Mutant {
        name: "never-late",
        file: "app.py",
        from: "late = entry.seq != current.seq",
        to: "late = False",
        scenario: "broker-outage",
        check: "late",
        with: ALONE,
    },
    Mutant {
        name: "seq-steps-by-two",
        file: "backlog.py",
        from: "self.seq = (self.seq + 1) & 0xFFFFFFFF",
        to: "self.seq = (self.seq + 2) & 0xFFFFFFFF",
        scenario: "keepalive-fixed",
        check: "seq",
        with: ALONE,
    },
    Mutant {
        name: "raw-in-centivolts",
        file: "payload.py",
        from: "'\"raw\": %d' % entry.raw,",
        to: "'\"raw\": %d' % entry.centivolts,",
        scenario: "keepalive-fixed",
        check: "raw",
        with: ALONE,
    },
    Mutant {
        name: "awake-in-microseconds",
        file: "app.py",
        from: "time.ticks_ms(), rssi,",
        to: "time.ticks_us(), rssi,",
        scenario: "keepalive-fixed",
        check: "awake-ms",
        with: ALONE,
    },
    Mutant {
        name: "reset-always-deepsleep",
        file: "app.py",
        from: "reset_name(entry.cause), FW,",
        to: "\"deepsleep\", FW,",
        scenario: "keepalive-fixed",
        check: "sample-reset",
        with: ALONE,
    },
    Mutant {
        name: "stale-version",
        file: "payload.py",
        from: "'\"fw\": ' + json.dumps(fw),",
        to: "'\"fw\": \"0.0.9\"',",
        scenario: "keepalive-fixed",
        check: "fw",
        with: ALONE,
    },
    Mutant {
        name: "dropped-counts-one",
        file: "backlog.py",
        from: "self.dropped = min(self.dropped + 1, 0xFFFF)",
        to: "self.dropped = 1",
        scenario: "backlog-overflow",
        check: "dropped",
        with: ALONE,
    },
    Mutant {
        name: "rssi-always-null",
        file: "app.py",
        from: "rssi = rssi if rssi < 0 else None",
        to: "rssi = None",
        scenario: "keepalive-fixed",
        check: "rssi",
        with: ALONE,
    },
    Mutant {
        name: "probe-connection-first",
        file: "app.py",
        from: "    client = connect(cfg)\n",
        to: "    client = connect(cfg).disconnect() or connect(cfg)\n",
        scenario: "keepalive-fixed",
        check: "one-connect-per-wake",
        with: ALONE,
    },
    Mutant {
        name: "publishes-after-disconnect",
        file: "app.py",
        from: "    client.disconnect()\n",
        to: "    client.send(mqtt.packet(mqtt.DISCONNECT) + mqtt.publish_packet(topic, message))\n    client.sock.close()\n",
        scenario: "keepalive-fixed",
        check: "after-disconnect",
        with: ALONE,
    },
    Mutant {
        name: "silent-while-waiting",
        file: "mqtt.py",
        from: "                self.send(packet(PINGREQ))\n",
        to: "                pass\n",
        scenario: "qos1-puback",
        check: "keepalive-interval",
        with: ALONE,
    },
    Mutant {
        name: "long-sleep-clamped",
        file: "config.py",
        from: "    _int(cfg, \"sleep_ms\", 1, MAX_SLEEP_MS)\n",
        to: "    cfg[\"sleep_ms\"] = min(cfg[\"sleep_ms\"], DEFAULTS[\"sleep_ms\"])\n",
        scenario: "long-sleep-cap",
        check: "publishes",
        // It never says it refused the config either.
        with: Some(&["console"]),
    },
    Mutant {
        name: "long-sleep-refused-silently",
        file: "app.py",
        from: "            print(\"error %s\" % e)\n",
        to: "            pass\n",
        scenario: "long-sleep-cap",
        check: "console",
        with: ALONE,
    },
];

/// Runs one variant; Err says how it escaped.
fn catch(m: &Mutant) -> Result<(), Failed> {
    let fx = Fixture::new();
    let firmware = fx.firmware_copy();
    let path = firmware.join(m.file);
    let source = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
    if source.matches(m.from).count() != 1 {
        return Err(format!(
            "{} must contain {:?} exactly once (the firmware changed: update the mutant)",
            m.file, m.from
        )
        .into());
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
        return Err(format!("on {}: expected exit 1 (a check failed)\n{all}", m.scenario).into());
    }
    let events = std::fs::read_to_string(report.join(m.scenario).join("events.jsonl"))
        .map_err(|e| format!("no event log: {e}\n{all}"))?;
    let failed: BTreeSet<String> = events
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["kind"] == "check" && e["pass"] == false)
        .filter_map(|e| Some(e["name"].as_str()?.to_string()))
        .collect();
    if !failed.contains(m.check) {
        return Err(format!(
            "on {}: the {} check did not fail\n{all}",
            m.scenario, m.check
        )
        .into());
    }
    if let Some(with) = m.with {
        let expected: BTreeSet<String> = with
            .iter()
            .chain([&m.check])
            .map(|c| c.to_string())
            .collect();
        if failed != expected {
            return Err(format!(
                "on {}: expected exactly {expected:?} to fail, failed {failed:?}\n{all}",
                m.scenario
            )
            .into());
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let trials = MUTANTS
        .iter()
        .map(|m| Trial::test(m.name, move || catch(m)))
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}
