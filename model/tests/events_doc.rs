//! docs/events.md against the code: every kind the log can hold, with every field it is written with, has its
//! row in the kinds table naming each field.

use model::events::{BoardInfo, Body, Event, Tested};
use model::payload::PayloadFormat;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// One arm per kind, without a wildcard: a new kind does not compile until it has an index here, and the test
/// below fails until `every_kind` gives an example of it.
fn index_of(body: &Body) -> usize {
    match body {
        Body::ScenarioStart { .. } => 0,
        Body::ScenarioEnd { .. } => 1,
        Body::SupplySet { .. } => 2,
        Body::SupplySample { .. } => 3,
        Body::SupplyError { .. } => 4,
        Body::SupplyOcp { .. } => 5,
        Body::SupplyOcpTrip { .. } => 6,
        Body::BoardWake { .. } => 7,
        Body::BoardSleep { .. } => 8,
        Body::BoardFlash { .. } => 9,
        Body::BoardDeploy { .. } => 10,
        Body::BoardPort { .. } => 11,
        Body::BoardLost { .. } => 12,
        Body::BoardError { .. } => 13,
        Body::Console { .. } => 14,
        Body::Connack { .. } => 15,
        Body::Publish { .. } => 16,
        Body::Connect { .. } => 17,
        Body::Puback { .. } => 18,
        Body::PingReq { .. } => 19,
        Body::PingResp { .. } => 20,
        Body::Disconnect { .. } => 21,
        Body::Close { .. } => 22,
        Body::Garbage { .. } => 23,
        Body::TwinLoad { .. } => 24,
        Body::TwinLag { .. } => 25,
        Body::BoardHeap { .. } => 26,
        Body::FaultStart { .. } => 27,
        Body::FaultEnd { .. } => 28,
        Body::Reading { .. } => 29,
        Body::ReadingError { .. } => 30,
        Body::Check { .. } => 31,
        Body::BoardConfig { .. } => 32,
        Body::TwinStretch { .. } => 33,
        // Never written: what a reader makes of a kind it does not know.
        Body::Unknown => KINDS,
    }
}

const KINDS: usize = 34;

/// Every kind written, each with every optional field present.
fn every_kind() -> Vec<Body> {
    let board = || "twin-0".to_string();
    vec![
        Body::ScenarioStart {
            scenario: "s".into(),
            speed: 20.0,
            boards: vec![BoardInfo {
                name: board(),
                mac: "m".into(),
                supply: "twin:1".into(),
            }],
            broker: "b".into(),
            payload: Some(PayloadFormat::default()),
            within_volts: Some(0.15),
        },
        Body::ScenarioEnd {
            scenario: "s".into(),
        },
        Body::SupplySet {
            supply: "twin:1".into(),
            volts: Some(1.0),
            amps: Some(1.0),
            output: Some(true),
        },
        Body::SupplySample {
            supply: "twin:1".into(),
            volts: 1.0,
            amps: 1.0,
        },
        Body::SupplyError {
            supply: "twin:1".into(),
            message: "m".into(),
        },
        Body::SupplyOcp {
            supply: "twin:1".into(),
            trip: "level".into(),
            amps: Some(1.0),
        },
        Body::SupplyOcpTrip {
            supply: "twin:1".into(),
        },
        Body::BoardWake {
            board: board(),
            reset: "power-on".into(),
            seq: Some(1),
        },
        Body::BoardSleep {
            board: board(),
            ms: 1,
        },
        Body::BoardFlash {
            board: board(),
            bytes: 1,
            skipped: false,
            seconds: 1.0,
        },
        Body::BoardDeploy {
            board: board(),
            files: 1,
            written: 1,
            skipped: 0,
            seconds: 1.0,
        },
        Body::BoardPort {
            board: board(),
            mac: "m".into(),
            port: "p".into(),
            scanned: true,
            by: "usb".into(),
            usb: Some("u".into()),
        },
        Body::BoardLost {
            board: board(),
            port: "p".into(),
            by: "usb".into(),
        },
        Body::BoardError {
            board: board(),
            step: "find".into(),
            message: "m".into(),
        },
        Body::Console {
            board: board(),
            line: "l".into(),
        },
        Body::Connack {
            board: board(),
            code: 0,
            name: "accepted".into(),
            source: "tap".into(),
            conn: Some(1),
        },
        Body::Publish {
            topic: "t".into(),
            payload: json!({}),
            retain: false,
            source: "tap".into(),
            board: Some(board()),
            qos: Some(1),
            dup: true,
            pkid: Some(1),
            conn: Some(1),
        },
        Body::Connect {
            board: board(),
            username: Some("u".into()),
            keepalive: 60,
            clean_session: true,
            will_topic: Some("w".into()),
            conn: Some(1),
        },
        Body::Puback {
            board: board(),
            pkid: 1,
            from: "broker".into(),
            dropped: true,
            conn: Some(1),
        },
        Body::BoardConfig {
            board: board(),
            topic: "t".into(),
            qos: 1,
            divider: 0.0617,
            full_scale_volts: 1.0,
            fw: Some("0.1.3".into()),
            low_battery_volts: Some(11.8),
        },
        Body::PingReq {
            board: board(),
            conn: Some(1),
        },
        Body::PingResp {
            board: board(),
            conn: Some(1),
        },
        Body::Disconnect {
            board: board(),
            conn: Some(1),
        },
        Body::Close {
            board: board(),
            by: "client".into(),
            clean: true,
            reason: "r".into(),
            conn: Some(1),
        },
        Body::Garbage {
            board: board(),
            from: "client".into(),
            error: "e".into(),
            conn: Some(1),
        },
        Body::TwinLoad {
            board: board(),
            state: "awake".into(),
        },
        Body::TwinLag {
            board: board(),
            seconds: 0.1,
        },
        Body::TwinStretch {
            board: board(),
            seconds: 0.4,
        },
        Body::BoardHeap {
            board: board(),
            free_at_boot: 1,
            min_free: 1,
        },
        Body::FaultStart {
            fault: "broker-down".into(),
            until: 1.0,
        },
        Body::FaultEnd {
            fault: "broker-down".into(),
        },
        Body::Reading {
            board: board(),
            seq: Some(1),
            v: 1.0,
            raw: Some(1),
            late: false,
            low: Some(false),
        },
        Body::ReadingError {
            board: board(),
            topic: "t".into(),
            message: "m".into(),
        },
        Body::Check {
            name: "c".into(),
            board: Some(board()),
            pass: false,
            judged: false,
            message: "m".into(),
        },
    ]
}

/// The kinds table's rows: kind → the rest of its row.
fn documented() -> BTreeMap<String, String> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/events.md"))
        .expect("docs/events.md");
    // Only the kinds table: the checks table below it has rows named like kinds (`console`).
    doc.lines()
        .skip_while(|line| !line.starts_with("| kind |"))
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let rest = line.strip_prefix("| `")?;
            let (kind, row) = rest.split_once("` |")?;
            Some((kind.to_string(), row.to_string()))
        })
        .collect()
}

/// The kind and the fields of one written line, but `t` and `kind`, which every line has.
fn kind_and_fields(line: &Value) -> (String, Vec<String>) {
    let object = line.as_object().expect("an event is a JSON object");
    let kind = object["kind"].as_str().expect("a kind").to_string();
    let fields = object
        .keys()
        .filter(|k| *k != "t" && *k != "kind")
        .cloned()
        .collect();
    (kind, fields)
}

#[test]
fn every_kind_and_field_written_is_documented() {
    let examples = every_kind();
    let mut indexes: Vec<usize> = examples.iter().map(index_of).collect();
    indexes.sort();
    assert_eq!(
        indexes,
        (0..KINDS).collect::<Vec<_>>(),
        "every_kind gives one example of each kind"
    );
    let rows = documented();
    let mut lines: Vec<Value> = examples
        .into_iter()
        .map(|body| serde_json::to_value(Event { t: 1.0, body }).unwrap())
        .collect();
    // The start's line also says what the run tested.
    let tested = serde_json::to_value(Tested {
        fw: Some("0.1.0".into()),
        ..Tested::default()
    })
    .unwrap();
    lines[0]
        .as_object_mut()
        .unwrap()
        .extend(tested.as_object().unwrap().clone());
    let mut missing = Vec::new();
    for line in &lines {
        let (kind, fields) = kind_and_fields(line);
        let Some(row) = rows.get(&kind) else {
            missing.push(format!("kind `{kind}`"));
            continue;
        };
        for field in fields {
            if !row.contains(&format!("`{field}`")) {
                missing.push(format!("`{kind}` field `{field}`"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in docs/events.md's kinds table:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_doc_finds_an_undocumented_field() {
    let rows = documented();
    assert!(rows.contains_key("board.sleep"), "the table is read");
    assert!(!rows["board.sleep"].contains("`volts`"));
}
