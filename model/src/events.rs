//! The run's event log: one JSON object per line, appended and flushed as events happen, so a killed run still
//! leaves what it saw. Schema: docs/events.md.

use crate::clock::DeviceClock;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Device seconds since the scenario started.
    pub t: f64,
    #[serde(flatten)]
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BoardInfo {
    pub name: String,
    pub mac: String,
    /// `supply:channel`, e.g. `twin:1`.
    pub supply: String,
}

/// What a run tested, written into its `scenario.start` line beside the start's own fields: kept out of
/// `Body::ScenarioStart` so that logs without it, and code that builds a start by hand, read as before.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tested {
    /// `git describe --always --dirty` of the firmware's repository, or `unknown` outside one.
    pub commit: String,
    /// The hil version that ran it.
    pub hil: String,
    /// When the run started, RFC 3339 in UTC.
    pub date: String,
    /// The firmware folder deployed to the boards.
    pub firmware: String,
    /// sha256 over the folder's files: each relative path and its contents, in path order.
    pub firmware_sha256: String,
    /// The firmware's own version (`FW` in its app.py), when it declares one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fw: Option<String>,
    /// The rig file's path, or `twin bench`.
    pub rig: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum Body {
    #[serde(rename = "scenario.start")]
    ScenarioStart {
        scenario: String,
        speed: f64,
        boards: Vec<BoardInfo>,
        broker: String,
        /// How the boards' payloads were read (absent in logs from before payload formats: JSON).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payload: Option<crate::payload::PayloadFormat>,
        /// The readings check's tolerance (`[expect.readings] within_volts`), so that a report rebuilt from the
        /// log alone (`hil report merge`) draws its band; absent when the scenario judges no readings.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        within_volts: Option<f64>,
    },
    #[serde(rename = "scenario.end")]
    ScenarioEnd { scenario: String },
    #[serde(rename = "supply.set")]
    SupplySet {
        supply: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        volts: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        amps: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        output: Option<bool>,
    },
    #[serde(rename = "supply.sample")]
    SupplySample {
        supply: String,
        volts: f64,
        amps: f64,
    },
    #[serde(rename = "supply.error")]
    SupplyError { supply: String, message: String },
    /// The channel's over-current protection, armed before its output went on: it trips at `amps` (`trip` =
    /// `level`), at the channel's current limit `amps` (`current-limit`: the instrument has no level of its own),
    /// or the instrument has none (`none`) and the current limit alone bounds the current.
    #[serde(rename = "supply.ocp")]
    SupplyOcp {
        supply: String,
        trip: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        amps: Option<f64>,
    },
    /// The channel's over-current protection switched its output off, as the supply reported when asked.
    #[serde(rename = "supply.ocp_trip")]
    SupplyOcpTrip { supply: String },
    #[serde(rename = "board.wake")]
    BoardWake {
        board: String,
        reset: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    #[serde(rename = "board.sleep")]
    BoardSleep { board: String, ms: u64 },
    /// Provisioning, before the timeline (`t` < 0): the MicroPython image went to the board through its ROM
    /// loader, or was already there (`skipped`). `seconds` is wall-clock time.
    #[serde(rename = "board.flash")]
    BoardFlash {
        board: String,
        bytes: usize,
        skipped: bool,
        seconds: f64,
    },
    /// Provisioning, before the timeline (`t` < 0): the app files and config went over the raw REPL; `skipped`
    /// counts files the board already held. `seconds` is wall-clock time.
    #[serde(rename = "board.deploy")]
    BoardDeploy {
        board: String,
        files: usize,
        written: usize,
        skipped: usize,
        seconds: f64,
    },
    /// The board was found on `port`: it answered with its MAC there (`by` `mac`; on its port hint when `scanned`
    /// is false), or the port shows the USB identity of the adapter it was found on before (`by` `usb`, the chip
    /// untouched). Before the timeline when provisioning looked for it, during it when it was found again.
    #[serde(rename = "board.port")]
    BoardPort {
        board: String,
        mac: String,
        port: String,
        scanned: bool,
        #[serde(default = "by_mac")]
        by: String,
        /// The port's USB identity (its by-id name), when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        usb: Option<String>,
    },
    /// The board's port went away (unplugged, re-enumerated); it is looked for (`by` `usb` or `mac`) until found.
    #[serde(rename = "board.lost")]
    BoardLost {
        board: String,
        port: String,
        #[serde(default = "by_mac")]
        by: String,
    },
    /// A provisioning step failed for this board (`find`, `flash` or `deploy`): the run goes on without it and its
    /// checks fail with `message`.
    #[serde(rename = "board.error")]
    BoardError {
        board: String,
        step: String,
        message: String,
    },
    /// What the board was given for the run, as its checks need it: the topic and QoS of its config.json, its
    /// ADC calibration, and the version the deployed app declares (`FW` in its app module; absent when it
    /// declares none). Never its passwords.
    #[serde(rename = "board.config")]
    BoardConfig {
        board: String,
        topic: String,
        qos: u8,
        divider: f64,
        full_scale_volts: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fw: Option<String>,
        /// The supply volts below which the firmware flags its readings low (its config's `low_battery_volts`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        low_battery_volts: Option<f64>,
    },
    #[serde(rename = "console")]
    Console { board: String, line: String },
    #[serde(rename = "mqtt.connack")]
    Connack {
        board: String,
        code: u8,
        name: String,
        /// Where it was seen: `console` (the firmware's own report) or `tap`.
        source: String,
        /// The tap's number for the connection (absent from the console and the monitor, and in logs from
        /// before the tap numbered them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
    },
    /// A message on the firmware's topic: as the monitor received it from the broker (`source` = `monitor`), or
    /// as the tap saw the board send it (`source` = `tap`, with `board` and `qos`).
    #[serde(rename = "mqtt.publish")]
    Publish {
        topic: String,
        payload: Value,
        retain: bool,
        #[serde(default = "monitor_source")]
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        board: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qos: Option<u8>,
        /// The tap's: the DUP flag (a QoS 1 resend).
        #[serde(default, skip_serializing_if = "is_false")]
        dup: bool,
        /// The tap's: the packet id of a QoS 1 message.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pkid: Option<u16>,
        /// The tap's number for the connection (absent from the console and the monitor, and in logs from
        /// before the tap numbered them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
    },
    #[serde(rename = "mqtt.connect")]
    Connect {
        board: String,
        /// Never the password.
        username: Option<String>,
        keepalive: u16,
        clean_session: bool,
        will_topic: Option<String>,
        /// The tap's number for the connection (absent in logs from before it numbered them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
    },
    #[serde(rename = "mqtt.puback")]
    Puback {
        board: String,
        pkid: u16,
        from: String,
        /// A `puback-drop` fault kept it from the board.
        #[serde(default, skip_serializing_if = "is_false")]
        dropped: bool,
        /// The tap's number for the connection (absent in logs from before it numbered them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
    },
    #[serde(rename = "mqtt.pingreq")]
    PingReq {
        board: String,
        /// The tap's number for the connection (absent in logs from before it numbered them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
    },
    #[serde(rename = "mqtt.pingresp")]
    PingResp {
        board: String,
        /// The tap's number for the connection (absent in logs from before it numbered them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
    },
    #[serde(rename = "mqtt.disconnect")]
    Disconnect {
        board: String,
        /// The tap's number for the connection (absent in logs from before it numbered them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
    },
    #[serde(rename = "mqtt.close")]
    Close {
        board: String,
        /// `client`, `broker` or `tap`.
        by: String,
        clean: bool,
        reason: String,
        /// The tap's number for the connection (absent in logs from before it numbered them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
    },
    #[serde(rename = "mqtt.garbage")]
    Garbage {
        board: String,
        from: String,
        error: String,
        /// The tap's number for the connection (absent in logs from before it numbered them).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        conn: Option<u64>,
    },
    /// The twin's ground truth: a board's load changed (`awake`, `asleep`, `off`). Never on hardware; used to
    /// measure how precisely the rig's own observations time things.
    #[serde(rename = "twin.load")]
    TwinLoad { board: String, state: String },
    /// How many device seconds after its scheduled time a twin board woke from deep sleep: the host's lag.
    #[serde(rename = "twin.lag")]
    TwinLag { board: String, seconds: f64 },
    /// How many device seconds the host added to a twin board's wake that ended in deep sleep: its process's CPU
    /// and run-queue time, times the speed.
    #[serde(rename = "twin.stretch")]
    TwinStretch { board: String, seconds: f64 },
    /// A twin board's heap during the wake that just ended, in the chip's bytes: free when boot.py started and
    /// the least free seen (after a collection) at the firmware's calls into the chip. Twin on the VM only.
    #[serde(rename = "board.heap")]
    BoardHeap {
        board: String,
        free_at_boot: u64,
        min_free: u64,
    },
    #[serde(rename = "fault.start")]
    FaultStart { fault: String, until: f64 },
    #[serde(rename = "fault.end")]
    FaultEnd { fault: String },
    /// A payload's reading; what the payload does not carry (a plain number has no seq) is absent.
    #[serde(rename = "reading")]
    Reading {
        board: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
        v: f64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        raw: Option<u64>,
        #[serde(default)]
        late: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        low: Option<bool>,
    },
    /// A payload on a board's topic that is not a reading in the run's payload format.
    #[serde(rename = "reading.error")]
    ReadingError {
        board: String,
        topic: String,
        message: String,
    },
    #[serde(rename = "check")]
    Check {
        name: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        board: Option<String>,
        pass: bool,
        /// False: there was nothing to judge by (`pass` is then false and `message` says why).
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        judged: bool,
        message: String,
    },
    /// Kinds this version does not know (from a newer rig) are kept out of the checks, not fatal.
    #[serde(other)]
    Unknown,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn monitor_source() -> String {
    "monitor".into()
}

/// Logs from before boards were found by USB identity found them by MAC.
fn by_mac() -> String {
    "mac".into()
}

/// Appends events to a JSONL file as they happen and keeps them for the checks.
#[derive(Clone)]
pub struct EventLog {
    inner: Arc<Mutex<LogInner>>,
    clock: DeviceClock,
}

struct LogInner {
    file: Option<File>,
    events: Vec<Event>,
    write_error: Option<String>,
}

impl EventLog {
    pub fn create(path: Option<&Path>, clock: DeviceClock) -> std::io::Result<Self> {
        let file = match path {
            Some(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                Some(File::create(p)?)
            }
            None => None,
        };
        Ok(EventLog {
            inner: Arc::new(Mutex::new(LogInner {
                file,
                events: Vec::new(),
                write_error: None,
            })),
            clock,
        })
    }

    /// Stamps the event with the device time now and appends it. Stamping under the lock keeps the file in
    /// time order.
    pub fn record(&self, body: Body) -> Event {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let event = Event {
            t: (self.clock.now() * 1000.0).round() / 1000.0,
            body,
        };
        inner.append(&event);
        event
    }

    /// Stamps and appends the scenario's start with what the run tested in the same line.
    pub fn record_start(&self, start: Body, tested: &Tested) -> Event {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let event = Event {
            t: (self.clock.now() * 1000.0).round() / 1000.0,
            body: start,
        };
        let line = match (serde_json::to_value(&event), serde_json::to_value(tested)) {
            (Ok(Value::Object(mut fields)), Ok(Value::Object(extra))) => {
                fields.extend(extra);
                Value::Object(fields).to_string()
            }
            (Err(e), _) | (_, Err(e)) => error_line(event.t, &e.to_string()),
            _ => error_line(event.t, "the start or what was tested is not a JSON object"),
        };
        inner.append_line(&event, line);
        event
    }

    /// Appends an event whose time was decided elsewhere (check verdicts at the end of a run).
    pub fn record_at(&self, event: Event) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.append(&event);
    }

    pub fn events(&self) -> Vec<Event> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .events
            .clone()
    }

    /// The first error writing the file, if any: the run reports it rather than losing events silently.
    pub fn write_error(&self) -> Option<String> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_error
            .clone()
    }
}

impl LogInner {
    fn append(&mut self, event: &Event) {
        let line =
            serde_json::to_string(event).unwrap_or_else(|e| error_line(event.t, &e.to_string()));
        self.append_line(event, line);
    }

    fn append_line(&mut self, event: &Event, mut line: String) {
        if let Some(file) = &mut self.file {
            line.push('\n');
            // One write per line, straight to the file: a crash loses nothing already recorded.
            if let Err(e) = file.write_all(line.as_bytes()).and_then(|_| file.flush()) {
                self.write_error.get_or_insert_with(|| e.to_string());
            }
        }
        self.events.push(event.clone());
    }
}

/// The line that stands in for an event that could not be serialised: JSON too, whatever the message holds.
fn error_line(t: f64, message: &str) -> String {
    serde_json::json!({ "t": t, "kind": "log.error", "message": message }).to_string()
}

/// Why an event log cannot be read. The cause is part of the message rather than a `source()`: callers print
/// error chains (`{:#}`), which would say it twice.
#[derive(Debug, thiserror::Error)]
pub enum ReadLogError {
    #[error("{}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}:{line}: not an event: {cause}", path.display())]
    NotAnEvent {
        path: PathBuf,
        line: usize,
        cause: serde_json::Error,
    },
}

/// Reads an event log. A torn last line (the writer was killed mid-write) is skipped; any other bad line is an
/// error naming its line number.
pub fn read_log(path: &Path) -> Result<Vec<Event>, ReadLogError> {
    let io = |cause| ReadLogError::Io {
        path: path.to_path_buf(),
        cause,
    };
    let file = File::open(path).map_err(io)?;
    let lines: Vec<String> = BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io)?;
    let mut events = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(e) => events.push(e),
            Err(_) if i + 1 == lines.len() => {}
            Err(cause) => {
                return Err(ReadLogError::NotAnEvent {
                    path: path.to_path_buf(),
                    line: i + 1,
                    cause,
                })
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_through_the_file_flat_with_kind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let log = EventLog::create(Some(&path), DeviceClock::start(1.0)).unwrap();
        log.record(Body::BoardSleep {
            board: "twin-0".into(),
            ms: 60000,
        });
        log.record(Body::Reading {
            board: "twin-0".into(),
            seq: Some(3),
            v: 12.61,
            raw: Some(797),
            late: false,
            low: Some(false),
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["kind"], "board.sleep");
        assert_eq!(first["board"], "twin-0");
        assert_eq!(first["ms"], 60000);
        assert!(first["t"].is_f64());
        assert_eq!(read_log(&path).unwrap(), log.events());
    }

    #[test]
    fn a_reading_without_seq_leaves_it_out_and_old_readings_still_read() {
        let plain = Event {
            t: 4.0,
            body: Body::Reading {
                board: "twin-0".into(),
                seq: None,
                v: 12.61,
                raw: None,
                late: false,
                low: None,
            },
        };
        let line = serde_json::to_string(&plain).unwrap();
        assert_eq!(
            line,
            r#"{"t":4.0,"kind":"reading","board":"twin-0","v":12.61,"late":false}"#
        );
        assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), plain);
        let old = r#"{"t":4.8,"kind":"reading","board":"twin-0","seq":0,"v":12.4,"raw":783,"late":false,"low":false}"#;
        match serde_json::from_str::<Event>(old).unwrap().body {
            Body::Reading { seq, raw, low, .. } => {
                assert_eq!((seq, raw, low), (Some(0), Some(783), Some(false)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_unjudged_check_says_so_and_a_judged_one_stays_as_before() {
        let check = |judged| Body::Check {
            name: "no-lost-readings".into(),
            board: Some("b".into()),
            pass: false,
            judged,
            message: "m".into(),
        };
        let text = serde_json::to_string(&check(false)).unwrap();
        assert!(text.contains(r#""judged":false"#), "{text}");
        let text = serde_json::to_string(&check(true)).unwrap();
        assert!(!text.contains("judged"), "{text}");
        let back: Body = serde_json::from_str(&text).unwrap();
        assert_eq!(back, check(true));
    }

    #[test]
    fn a_torn_last_line_is_skipped_but_a_bad_middle_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(
            &path,
            "{\"t\":1.0,\"kind\":\"board.sleep\",\"board\":\"a\",\"ms\":5}\n{\"t\":2.0,\"ki",
        )
        .unwrap();
        assert_eq!(read_log(&path).unwrap().len(), 1);
        std::fs::write(
            &path,
            "garbage\n{\"t\":1.0,\"kind\":\"board.sleep\",\"board\":\"a\",\"ms\":5}\n",
        )
        .unwrap();
        match read_log(&path) {
            Err(ReadLogError::NotAnEvent { line: 1, .. }) => {}
            other => panic!("line 1 is not an event: {other:?}"),
        }
    }

    #[test]
    fn the_stand_in_for_an_unserialisable_event_is_valid_json_whatever_its_message() {
        let message = "key \"v\" is not a number\\n\tline two\n";
        let line = error_line(2.5, message);
        let parsed: Value = serde_json::from_str(&line).expect("the stand-in line is JSON");
        assert_eq!(parsed["kind"], "log.error");
        assert_eq!(parsed["t"], 2.5);
        assert_eq!(parsed["message"], message);
        assert!(!line.contains('\n'), "one event, one line: {line:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, format!("{line}\n{line}\n")).unwrap();
        assert_eq!(read_log(&path).unwrap().len(), 2, "hil check reads it");
    }

    #[test]
    fn the_start_line_carries_what_was_tested_and_still_reads_as_a_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let log = EventLog::create(Some(&path), DeviceClock::start(1.0)).unwrap();
        let start = Body::ScenarioStart {
            scenario: "s".into(),
            speed: 1.0,
            boards: Vec::new(),
            broker: "embedded".into(),
            payload: None,
            within_volts: None,
        };
        let tested = Tested {
            commit: "v1-3-gabc-dirty".into(),
            firmware_sha256: "ab12".into(),
            fw: Some("0.1.0".into()),
            ..Tested::default()
        };
        log.record_start(start.clone(), &tested);
        let text = std::fs::read_to_string(&path).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["kind"], "scenario.start");
        assert_eq!(line["broker"], "embedded");
        assert_eq!(line["commit"], "v1-3-gabc-dirty");
        assert_eq!(line["firmware_sha256"], "ab12");
        assert_eq!(line["fw"], "0.1.0");
        assert_eq!(serde_json::from_value::<Tested>(line).unwrap(), tested);
        assert_eq!(read_log(&path).unwrap()[0].body, start);
    }

    #[test]
    fn unknown_kinds_are_kept_apart() {
        let e: Event = serde_json::from_str(r#"{"t":1.0,"kind":"future.thing","x":1}"#).unwrap();
        assert_eq!(e.body, Body::Unknown);
    }
}
