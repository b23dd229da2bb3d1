//! The Riden RD60xx driver (Modbus RTU through tokio-modbus) over real ptys: against the twin Riden of each model,
//! and against scripted units that answer with the wrong model, exceptions, mismatched frames or noise.

mod common;

use common::{scripted, set_and_check};
use rig::supply::riden::register;
use rig::supply::{ChannelLimits, PowerSupply, Registry, RidenModel};
use std::sync::Arc;
use std::time::{Duration, Instant};
use twin::physics::LoadAmps;
use twin::{riden_on_pty, BenchState, LoadState, Physics};

const LIMITS: ChannelLimits = ChannelLimits {
    max_volts: 16.0,
    max_amps: 1.0,
};
const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);
/// A request on a pty arrives in one piece; a few quiet milliseconds end it.
const GAP: Duration = Duration::from_millis(5);

/// An RD60xx of `model` named `name` at `address`, through the supply registry as a rig file would name it.
fn riden(name: &str, model: RidenModel, address: &str) -> Arc<dyn PowerSupply> {
    let model = format!("riden-{}", model.name().to_ascii_lowercase());
    let kind = Registry::standard().resolve("riden", &model).unwrap();
    kind.open(name, address, [(1, LIMITS)]).unwrap()
}

fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut frame = bytes.to_vec();
    frame.extend_from_slice(&CRC.checksum(bytes).to_le_bytes());
    frame
}

/// Register a read request asks for, if it is one.
fn read_of(request: &[u8]) -> Option<u16> {
    (request.len() == 8 && request[1] == 0x03).then(|| u16::from_be_bytes([request[2], request[3]]))
}

/// A one-register read reply.
fn one_register(value: u16) -> Vec<u8> {
    let [hi, lo] = value.to_be_bytes();
    frame(&[1, 0x03, 2, hi, lo])
}

#[tokio::test]
async fn driver_sets_and_measures_the_twin_riden_with_each_model_s_scale() {
    for model in [RidenModel::Rd6006, RidenModel::Rd6006p, RidenModel::Rd6018] {
        let bench = Arc::new(BenchState::new(1));
        let board = bench.add_board(0, Physics::default());
        let twin = riden_on_pty(bench.clone(), 0, model).await.unwrap();
        let psu = riden("psu-r", model, &twin.address());

        let idn = psu.identify().await.unwrap();
        assert!(idn.starts_with(&format!("RIDEN {model},")), "{idn}");
        set_and_check(psu.as_ref(), &bench).await;
        assert_eq!(psu.measure_volts(1).await.unwrap(), 12.6, "{model}");
        bench.set_load(board, LoadState::Awake);
        let awake = Physics::default().supply_amps(12.6, LoadAmps::Awake);
        let amps = psu.measure_amps(1).await.unwrap();
        let count = 1.0 / model.scale().1;
        assert!(
            (amps - awake).abs() <= count / 2.0 + 1e-9,
            "{model}: {amps} A vs the buck model's {awake} A, to one count"
        );
        psu.set_output(1, false).await.unwrap();
        assert!(!bench.channel(0).output_on);
    }
}

#[tokio::test]
async fn a_unit_of_another_model_is_refused_before_any_write() {
    let bench = Arc::new(BenchState::new(1));
    let twin = riden_on_pty(bench.clone(), 0, RidenModel::Rd6006p)
        .await
        .unwrap();
    let psu = riden("psu-m", RidenModel::Rd6006, &twin.address());
    let message = format!("{:#}", psu.set_volts(1, 12.6).await.unwrap_err());
    assert!(
        message.contains(
            "psu-m: the model register reads 60065, an RD6006P, but the rig file says RD6006"
        ),
        "{message}"
    );
    assert_eq!(bench.channel(0), Default::default(), "nothing was written");
}

#[tokio::test]
async fn requests_are_paced_and_limits_checked_before_sending() {
    let unit = scripted(115_200, GAP, |_, request| match read_of(request) {
        Some(register::MODEL_ID) => one_register(RidenModel::Rd6006.id()),
        Some(_) => one_register(1260),
        // Writes are echoed.
        None => request.to_vec(),
    })
    .await;
    let psu = riden("psu-p", RidenModel::Rd6006, &unit.address);
    let message = format!("{:#}", psu.set_volts(1, 16.5).await.unwrap_err());
    assert!(
        message.contains("psu-p: voltage 16.5 V on channel 1"),
        "{message}"
    );
    assert!(unit.requests().is_empty());

    psu.set_volts(1, 12.6).await.unwrap();
    psu.set_output(1, true).await.unwrap();
    assert_eq!(psu.measure_volts(1).await.unwrap(), 12.6);
    let requests: Vec<Vec<u8>> = unit
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|(_, r)| r.clone())
        .collect();
    assert_eq!(
        requests,
        [
            frame(&[1, 0x03, 0, 0, 0, 1]),
            frame(&[1, 0x06, 0, 8, 0x04, 0xec]),
            frame(&[1, 0x06, 0, 18, 0, 1]),
            frame(&[1, 0x03, 0, 10, 0, 1]),
        ]
    );
    for pair in unit.times().windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(95), "{gap:?} between requests");
    }
}

/// A unit that identifies as an RD6006 and then answers every other request with `bad`.
async fn misbehaving(bad: Vec<u8>) -> common::Scripted {
    scripted(115_200, GAP, move |_, request| match read_of(request) {
        Some(register::MODEL_ID) => one_register(RidenModel::Rd6006.id()),
        _ => bad.clone(),
    })
    .await
}

#[tokio::test]
async fn garbage_replies_are_errors_naming_instrument_and_request() {
    for (bad, words) in [
        // The unit refuses: an exception, with the link left open.
        (
            frame(&[1, 0x83, 0x02]),
            "`read register 10` was refused: Modbus exception",
        ),
        // A valid frame with two registers where one was asked for.
        (frame(&[1, 0x03, 4, 0, 1, 0, 2]), "`read register 10`"),
        // Another slave's reply.
        (frame(&[2, 0x03, 2, 0x04, 0xec]), "`read register 10`"),
        // Another function's reply.
        (frame(&[1, 0x06, 0, 10, 0, 1]), "`read register 10`"),
    ] {
        let unit = misbehaving(bad.clone()).await;
        let psu = riden("psu-g", RidenModel::Rd6006, &unit.address);
        let message = format!("{:#}", psu.measure_volts(1).await.unwrap_err());
        assert!(message.starts_with("psu-g: "), "{bad:02x?}: {message}");
        assert!(message.contains(words), "{bad:02x?}: {message}");
    }

    // A write whose echo is not the write.
    let unit = scripted(115_200, GAP, |_, request| match read_of(request) {
        Some(_) => one_register(RidenModel::Rd6006.id()),
        None => frame(&[1, 0x06, 0, 8, 0, 0]),
    })
    .await;
    let psu = riden("psu-e", RidenModel::Rd6006, &unit.address);
    let message = format!("{:#}", psu.set_volts(1, 12.6).await.unwrap_err());
    assert!(
        message.contains("psu-e: `write 1260 to register 8` answered"),
        "{message}"
    );

    // Noise that never makes a frame (tokio-modbus gives up on it), and silence: bounded, naming the request.
    for (bad, words) in [
        (vec![0x55; 300], "psu-n: `read register 11` on serial://"),
        (Vec::new(), "psu-n: no answer to `read register 11`"),
    ] {
        let unit = misbehaving(bad).await;
        let psu = riden("psu-n", RidenModel::Rd6006, &unit.address);
        let started = Instant::now();
        let message = format!("{:#}", psu.measure_amps(1).await.unwrap_err());
        assert!(message.contains(words), "{message}");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    // A model register naming no Riden this driver knows.
    let unit = scripted(115_200, GAP, |_, _| one_register(12345)).await;
    let psu = riden("psu-u", RidenModel::Rd6006, &unit.address);
    let message = format!("{:#}", psu.identify().await.unwrap_err());
    assert!(
        message.contains("psu-u: the model register reads 12345, not a Riden"),
        "{message}"
    );
}
