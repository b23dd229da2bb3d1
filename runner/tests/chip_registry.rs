//! A chip the rig does not ship, added through the chip registry alone: an ESP8285 (an ESP8266 with its flash in
//! the package), driven by the ESP8266's board, whose rig-file MAC must be Espressif's and whose twins are flashed
//! with a stand-in image of its own. The rig-file validator takes it by name (and checks its MACs its way), and a
//! run on a rig provisions a twin pty board through it: found by MAC, flashed with its image, deployed to, its
//! console read.

use model::diagnostic::UserTomlFile;
use rig::board::esp8266::{image, Esp8266};
use rig::board::remote_lines::LinesServer;
use rig::board::{AppFile, Chip, ChipMacError, ChipRegistry, Mac, WireBoard, Wiring};
use runner::exec::{run_scenario, Apps, RigSource, RunContext};
use runner::plan::rig_channels;
use runner::rigfile::RigFile;
use runner::schedule::pack;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use twin::pty_board::{PtyBoard, PtyBoardSpec};
use twin::{BenchState, FirmwareRuntime, ImageVariant, ScpiServer};

/// Espressif's OUIs, the first three bytes of every ESP8285's MAC.
const ESPRESSIF: [[u8; 3]; 3] = [[0x5c, 0xcf, 0x7f], [0x18, 0xfe, 0x34], [0xac, 0xd0, 0x74]];

#[derive(Debug, Default)]
struct Esp8285 {
    /// Boards opened, and the stand-in images made: what the run asked of this chip.
    opened: Arc<AtomicUsize>,
    stand_ins: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Chip for Esp8285 {
    fn name(&self) -> &str {
        "esp8285"
    }

    fn parse_mac(&self, text: &str) -> Result<Mac, ChipMacError> {
        let mac = Esp8266.parse_mac(text)?;
        if ESPRESSIF.iter().any(|oui| mac.0.starts_with(oui)) {
            Ok(mac)
        } else {
            Err(ChipMacError::Refused {
                mac,
                reason:
                    "is not Espressif's: an ESP8285's MAC starts 5c:cf:7f, 18:fe:34 or ac:d0:74"
                        .into(),
            })
        }
    }

    fn open(&self, wiring: Wiring) -> Box<dyn WireBoard> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        Esp8266.open(wiring)
    }

    fn stand_in_image(&self, bytes: usize) -> Vec<u8> {
        let made = image::synthetic(bytes, 8285);
        self.stand_ins.lock().unwrap().push(made.clone());
        made
    }
}

const RIG: &str = r#"[supply.psu]
driver = "scpi"
model = "rigol-dp832"
address = "tcp://127.0.0.1:5555"
channels = { 1 = { max_volts = 16.0, max_amps = 1.0 } }

[boards]
scan = []

[[board]]
name = "twin-0"
chip = "esp8285"
mac = "5c:cf:7f:00:82:85"
port = "/dev/ttyUSB0"
supply = "psu:1"
lines = "tcp://127.0.0.1:7000"
"#;

fn parse(text: &str, chips: &ChipRegistry) -> Result<RigFile, String> {
    RigFile::parse_with(Path::new("/lab/rig.toml"), text, chips).map_err(|d| d.message)
}

#[test]
fn the_validator_takes_a_registered_chip_by_name_and_checks_its_macs_its_way() {
    let refused = parse(RIG, &ChipRegistry::default()).unwrap_err();
    assert_eq!(
        refused,
        "chip \"esp8285\" is not one this rig drives: chip must be \"esp8266\""
    );

    let chips = ChipRegistry::default().with(Esp8285::default());
    let rig = parse(RIG, &chips).unwrap();
    assert_eq!(rig.boards[0].chip.name(), "esp8285");
    assert_eq!(rig.boards[0].mac, "5c:cf:7f:00:82:85");
    // A board that names no chip has the registry's first.
    let unnamed = parse(&RIG.replace("chip = \"esp8285\"\n", ""), &chips).unwrap();
    assert_eq!(unnamed.boards[0].chip.name(), "esp8266");

    // Its MAC rule is the new chip's own: a MAC the ESP8266 takes is refused for an ESP8285.
    let foreign = RIG.replace("5c:cf:7f:00:82:85", "02:00:00:00:82:85");
    assert_eq!(
        parse(&foreign, &chips).unwrap_err(),
        "02:00:00:00:82:85 is not Espressif's: an ESP8285's MAC starts 5c:cf:7f, 18:fe:34 or ac:d0:74"
    );
    parse(
        &foreign.replace("chip = \"esp8285\"", "chip = \"esp8266\""),
        &chips,
    )
    .unwrap();
    assert_eq!(
        parse(&RIG.replace("5c:cf:7f:00:82:85", "5c:cf:7f"), &chips).unwrap_err(),
        "\"5c:cf:7f\" is not a MAC like 5c:cf:7f:12:34:56"
    );
}

fn vm_runtime() -> FirmwareRuntime {
    let host_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware/host");
    FirmwareRuntime::installed_vm(Path::new("python3"), &host_dir, ImageVariant::Generic)
        .unwrap_or_else(|e| panic!("{e:#}"))
}

#[test]
fn a_run_provisions_a_board_through_the_registered_chip() {
    let state_dir = tempfile::tempdir().unwrap();
    // Flash records go here, not to the user's state folder (set before any thread starts).
    std::env::set_var("HIL_STATE_DIR", state_dir.path());
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(provisions_through_the_registered_chip());
}

async fn provisions_through_the_registered_chip() {
    let runtime = vm_runtime();
    let clock = model::clock::DeviceClock::start(1.0);
    let bench = Arc::new(BenchState::new(1));
    let supply = ScpiServer::start(bench.clone(), clock).await.unwrap();
    let mut spec = PtyBoardSpec::new("twin-0", "5c:cf:7f:00:82:85", &runtime);
    // Quiet in its loader until it is provisioned, as a board fresh from the factory.
    spec.start_in_loader = true;
    let board = PtyBoard::spawn(spec, bench.clone(), clock).await.unwrap();
    let lines = LinesServer::start(board.lines()).await.unwrap();

    let chip = Esp8285::default();
    let (opened, stand_ins) = (chip.opened.clone(), chip.stand_ins.clone());
    let chips = ChipRegistry::default().with(chip);
    let text = RIG
        .replace("tcp://127.0.0.1:5555", &supply.address())
        .replace("/dev/ttyUSB0", &board.port().display().to_string())
        .replace("tcp://127.0.0.1:7000", &lines.address);
    let rig = parse(&text, &chips).unwrap();

    let report = tempfile::tempdir().unwrap();
    let scenario = model::scenario::Scenario::parse(
        Path::new("esp8285.toml"),
        "name = \"esp8285\"\nboards = 1\nduration = \"2s\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n",
    )
    .unwrap_or_else(|d| panic!("{}", d.render()));
    let app = vec![AppFile {
        path: "main.py".into(),
        contents: b"print('esp8285 app up')\n".to_vec(),
    }];
    let (_keep_running, interrupt) = tokio::sync::watch::channel(false);
    let plan = pack(&rig, &rig_channels(&rig), std::slice::from_ref(&scenario))
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let ctx = RunContext {
        broker: Arc::new(
            rig::mqtt::Broker::start(&rig::mqtt::BrokerSpec::Embedded)
                .await
                .unwrap(),
        ),
        app: Arc::new(Apps::only(app)),
        speed: 1.0,
        report_dir: report.path().to_path_buf(),
        run_id: "chip-registry".into(),
        interrupt,
        wifi_password: rig::secret::Secret::generate(),
        progress: false,
        bench: Arc::new(RigSource::new(Arc::new(rig), &plan, false)),
        tested: Arc::new(model::events::Tested::default()),
        baseline: None,
    };
    let outcome = tokio::time::timeout(Duration::from_secs(60), run_scenario(&scenario, &ctx))
        .await
        .expect("the run ends");
    assert_eq!(outcome.error, None);
    let log = std::fs::read_to_string(&outcome.events_path).unwrap();
    let events: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let one = |kind: &str| -> &Value {
        let found: Vec<&Value> = events.iter().filter(|e| e["kind"] == kind).collect();
        assert_eq!(found.len(), 1, "{kind} events:\n{log}");
        found[0]
    };

    // Opened by the new chip, found by its MAC on its port, flashed with the new chip's stand-in image.
    assert_eq!(opened.load(Ordering::SeqCst), 1);
    let port = one("board.port");
    assert_eq!(port["mac"], "5c:cf:7f:00:82:85", "{port}");
    assert_eq!(port["by"], "mac", "{port}");
    let flash = one("board.flash");
    assert_eq!(flash["skipped"], false, "{flash}");
    let made = stand_ins.lock().unwrap().clone();
    assert_eq!(made.len(), 1);
    assert_eq!(flash["bytes"], made[0].len(), "{flash}");
    assert_eq!(board.read_flash(0, made[0].len()), made[0]);
    // Deployed (the app and its config), then started: the app's line is on the console.
    assert_eq!(one("board.deploy")["files"], 2);
    assert!(
        events
            .iter()
            .any(|e| e["kind"] == "console" && e["line"] == "esp8285 app up"),
        "{log}"
    );
    board.stop().await;
}
