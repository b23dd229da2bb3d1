//! `--twin-transport pty`: twin boards on ptys go through the hardware path (ROM-loader flash, raw-REPL deploy,
//! console read from the port), and the scenario passes as on the process twin.

mod common;
use common::*;
use serde_json::Value;

#[test]
fn pty_boards_are_flashed_deployed_and_read_over_their_ports() {
    let fx = Fixture::new();
    let scenario = fx.write("pty.toml", &short_scenario("pty-transport", 12.6, 0, ""));
    let report = fx.path("report");
    let out = run_hil(&scenario, &report, &["--twin-transport", "pty"], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");

    let log = std::fs::read_to_string(report.join("pty-transport/events.jsonl")).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let index = |kind: &str| events.iter().position(|e| e["kind"] == kind);
    let event = |kind: &str| &events[index(kind).unwrap_or_else(|| panic!("no {kind}\n{log}"))];

    // Provisioning comes before the timeline: flash, then deploy, then t = 0.
    let flash = event("board.flash");
    assert_eq!(flash["board"], "twin-0");
    assert_eq!(
        flash["skipped"], false,
        "a new twin holds no MicroPython yet"
    );
    assert!(flash["bytes"].as_u64().unwrap() > 0, "{flash}");
    assert!(flash["t"].as_f64().unwrap() < 0.0, "{flash}");
    let deploy = event("board.deploy");
    let files = deploy["files"].as_u64().unwrap();
    assert!(files >= 2, "the app and its config.json: {deploy}");
    assert_eq!(deploy["written"].as_u64(), Some(files), "{deploy}");
    assert_eq!(deploy["skipped"].as_u64(), Some(0), "{deploy}");
    assert!(deploy["t"].as_f64().unwrap() <= 0.0, "{deploy}");
    assert!(index("board.flash") < index("board.deploy"));
    assert!(index("board.deploy") < index("scenario.start"));
    assert!(event("scenario.start")["t"].as_f64().unwrap() >= 0.0);

    // The console is the port: the ROM banner of each boot is on it, before the app's lines.
    assert!(
        log.contains("rst cause:2, boot mode:(3,6)"),
        "no deep-sleep wake's ROM banner on the console\n{log}"
    );
    // Provisioning leaves the supply off: the timeline starts with a power-on, as on the process twin.
    assert!(log.contains("rst cause:1, boot mode:(3,6)"), "{log}");
    assert!(log.contains("boot reset=power-on seq=0"), "{log}");
    assert!(log.contains("boot reset=deepsleep"), "{log}");
    let readings = events.iter().filter(|e| e["kind"] == "reading").count();
    assert!(readings >= 4, "{readings} readings\n{all}");
}
