//! `hil import-trace`: a capture of the firmware's own readings becomes a `time_s,volts` CSV that a scenario
//! replays with `profile = { csv = "traces/x.csv", speedup = N }`.
//!
//! A capture is either what `mosquitto_sub -F '%U %t %p' -t '<prefix>/+/battery'` prints (Unix time, topic,
//! payload per line) or a run's `events.jsonl` (its `reading` events). Late readings are left out: they arrive
//! when a backlog drains, long after the voltage they carry was sampled.

use crate::scenario::TRACE_CSV_HEADER;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write;

/// One reading found in a capture.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    t: f64,
    device: String,
    seq: Option<u64>,
    v: f64,
    late: bool,
}

/// The CSV and what went into it.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub csv: String,
    pub device: String,
    pub rows: usize,
    /// Seconds from the first row to the last.
    pub span: f64,
    pub late: usize,
    pub repeated: usize,
    /// Lines that carry no reading (other topics, other events, comments).
    pub other: usize,
}

const FORMATS: &str =
    "expected `<unix time> <topic> <payload>` lines as `mosquitto_sub -F '%U %t %p'` \
                       prints them, or an events.jsonl written by `hil run`";

/// Why a capture gives no CSV. Each message starts with the capture's name (and line, for a bad line).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{name}:{line}: {problem}")]
    BadLine {
        name: String,
        line: usize,
        problem: LineError,
    },
    #[error("{name}: no readings of device {device:?}; devices in the capture: {}", .devices.join(", "))]
    NoSuchDevice {
        name: String,
        device: String,
        devices: Vec<String>,
    },
    #[error("{name}: no readings found; {FORMATS}")]
    NoReadings { name: String },
    #[error("{name}: readings of several devices ({}): choose one with --device", .devices.join(", "))]
    SeveralDevices { name: String, devices: Vec<String> },
    #[error("{name}: every reading of {device} was late or repeated: nothing to replay")]
    NothingToReplay { name: String, device: String },
}

/// What is wrong with one line of a capture.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("not a JSON event: {0}")]
    NotJson(serde_json::Error),
    #[error("{0:?} is not a Unix time; {FORMATS} (plain `mosquitto_sub -v` has no times)")]
    NotUnixTime(String),
}

/// Reads `text` (the capture called `name`) into a CSV of one device's readings; `device` chooses it when the
/// capture holds several.
pub fn import(name: &str, text: &str, device: Option<&str>) -> Result<Imported, ImportError> {
    let mut found = Vec::new();
    let mut other = 0;
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.trim();
        let at = |problem| ImportError::BadLine {
            name: name.into(),
            line: i + 1,
            problem,
        };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let reading = if line.starts_with('{') {
            match serde_json::from_str::<Value>(line) {
                Ok(event) => from_event(&event),
                // A run killed mid-write leaves a torn last line.
                Err(_) if i + 1 == lines.len() => None,
                Err(e) => return Err(at(LineError::NotJson(e))),
            }
        } else {
            from_subscriber_line(line).map_err(at)?
        };
        match reading {
            Some(r) => found.push(r),
            None => other += 1,
        }
    }
    let devices: BTreeSet<&str> = found.iter().map(|f| f.device.as_str()).collect();
    let listed = || devices.iter().map(|d| d.to_string()).collect();
    let device = match (device, devices.len()) {
        (Some(d), _) if devices.contains(d) => d.to_string(),
        (Some(d), _) => {
            return Err(ImportError::NoSuchDevice {
                name: name.into(),
                device: d.into(),
                devices: listed(),
            })
        }
        (None, 0) => return Err(ImportError::NoReadings { name: name.into() }),
        (None, 1) => devices
            .iter()
            .next()
            .map_or_else(String::new, |d| d.to_string()),
        (None, _) => {
            return Err(ImportError::SeveralDevices {
                name: name.into(),
                devices: listed(),
            })
        }
    };
    let mine: Vec<&Found> = found.iter().filter(|f| f.device == device).collect();
    let (mut late, mut repeated) = (0, 0);
    let mut kept: Vec<(f64, f64)> = Vec::new();
    let mut last_seq = None;
    for f in mine {
        if f.late {
            late += 1;
            continue;
        }
        // A QoS 1 resend repeats the seq just delivered; seq 0 again after a power loss is a new sample.
        let resend = f.seq.is_some() && f.seq == last_seq;
        if resend || kept.last().is_some_and(|(t, _)| f.t <= *t) {
            repeated += 1;
            continue;
        }
        last_seq = f.seq;
        kept.push((f.t, f.v));
    }
    let Some(&(t0, _)) = kept.first() else {
        return Err(ImportError::NothingToReplay {
            name: name.into(),
            device,
        });
    };
    let mut csv = format!(
        "# from {name} by hil import-trace: {} readings of {device}\n{TRACE_CSV_HEADER}\n",
        kept.len()
    );
    for (t, v) in &kept {
        let _ = writeln!(csv, "{:.3},{v}", t - t0);
    }
    Ok(Imported {
        csv,
        device,
        rows: kept.len(),
        span: kept.last().map_or(0.0, |(t, _)| t - t0),
        late,
        repeated,
        other,
    })
}

/// A `reading` event of an events.jsonl; other kinds carry none.
fn from_event(event: &Value) -> Option<Found> {
    if event.get("kind")?.as_str()? != "reading" {
        return None;
    }
    Some(Found {
        t: event.get("t")?.as_f64()?,
        device: event.get("board")?.as_str()?.to_string(),
        seq: event.get("seq").and_then(Value::as_u64),
        v: event.get("v")?.as_f64()?,
        late: event.get("late").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// `1700000000.123456789 hil/site/esp-1/battery {"v": 12.63, …}`. Messages on other topics, or whose payload
/// carries no reading, are not errors: a capture of `hil/#` holds them too.
fn from_subscriber_line(line: &str) -> Result<Option<Found>, LineError> {
    let (time, rest) = line.split_once(' ').unwrap_or((line, ""));
    let t: f64 = match time.parse() {
        Ok(t) if f64::is_finite(t) => t,
        _ => return Err(LineError::NotUnixTime(time.into())),
    };
    let (topic, payload) = rest.split_once(' ').unwrap_or((rest, ""));
    let Some(device) = topic
        .strip_suffix("/battery")
        .and_then(|t| t.rsplit('/').next())
        .filter(|d| !d.is_empty())
    else {
        return Ok(None);
    };
    let Ok(payload) = serde_json::from_str::<Value>(payload) else {
        return Ok(None);
    };
    let Some(v) = payload.get("v").and_then(Value::as_f64) else {
        return Ok(None);
    };
    Ok(Some(Found {
        t,
        device: device.to_string(),
        seq: payload.get("seq").and_then(Value::as_u64),
        v,
        late: payload
            .get("late")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "\
1700000000.100000000 hil/site/esp-1/battery {\"v\": 12.63, \"raw\": 797, \"seq\": 4, \"late\": false}
1700000000.200000000 hil/site/status online
1700000060.350000000 hil/site/esp-1/battery {\"v\": 12.61, \"seq\": 5, \"late\": false}
1700000060.400000000 hil/site/esp-1/battery {\"v\": 12.61, \"seq\": 5, \"late\": false}
1700000240.000000000 hil/site/esp-1/battery {\"v\": 12.40, \"seq\": 6, \"late\": true}
1700000240.010000000 hil/site/esp-1/battery {\"v\": 12.20, \"seq\": 9, \"late\": false}
1700000300.000000000 hil/site/esp-1/battery {\"v\": 12.90, \"seq\": 0, \"late\": false}
";

    #[test]
    fn a_subscriber_capture_becomes_relative_times_without_late_or_resent_readings() {
        let got = import("cap.txt", SUB, None).unwrap();
        let rows: Vec<&str> = got.csv.lines().skip(1).collect();
        assert_eq!(
            rows,
            [
                "time_s,volts",
                "0.000,12.63",
                "60.250,12.61",
                "239.910,12.2",
                "299.900,12.9"
            ]
        );
        assert_eq!((got.rows, got.late, got.repeated, got.other), (4, 1, 1, 1));
        assert_eq!(got.device, "esp-1");
        assert!((got.span - 299.9).abs() < 1e-6);
    }

    #[test]
    fn an_event_log_gives_its_readings_and_several_devices_need_a_choice() {
        let log = "\
{\"t\":0.0,\"kind\":\"scenario.start\",\"scenario\":\"x\",\"speed\":20.0,\"boards\":[],\"broker\":\"b\"}
{\"t\":6.2,\"kind\":\"reading\",\"board\":\"twin-0\",\"seq\":0,\"v\":12.5,\"raw\":790,\"late\":false,\"low\":false}
{\"t\":6.9,\"kind\":\"reading\",\"board\":\"twin-1\",\"seq\":0,\"v\":12.4,\"raw\":785,\"late\":false,\"low\":false}
{\"t\":38.3,\"kind\":\"reading\",\"board\":\"twin-0\",\"seq\":1,\"v\":12.3,\"raw\":778,\"late\":false,\"low\":false}
{\"t\":40.0,\"kind\":\"rea";
        let e = import("events.jsonl", log, None).unwrap_err().to_string();
        assert!(e.contains("several devices (twin-0, twin-1)"), "{e}");
        let got = import("events.jsonl", log, Some("twin-0")).unwrap();
        assert!(
            got.csv.ends_with("time_s,volts\n0.000,12.5\n32.100,12.3\n"),
            "{}",
            got.csv
        );
        let e = import("events.jsonl", log, Some("esp-9"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("devices in the capture: twin-0, twin-1"), "{e}");
    }

    #[test]
    fn lines_in_no_known_format_are_errors_naming_the_line() {
        let e = import("cap.txt", "hil/site/esp-1/battery {\"v\": 12.6}\n", None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cap.txt:1: "), "{e}");
        assert!(e.contains("mosquitto_sub -F '%U %t %p'"), "{e}");
        let e = import("e.jsonl", "{bad\n{\"t\":1.0,\"kind\":\"x\"}\n", None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("e.jsonl:1: not a JSON event"), "{e}");
        let e = import("cap.txt", "1700000000.1 hil/x/status up\n", None).unwrap_err();
        assert!(matches!(e, ImportError::NoReadings { .. }), "{e}");
    }
}
