//! The SCPI driver over a serial port: the twin's SCPI server on a real pty, as an RS-232 supply.

mod common;

use common::set_and_check;
use model::clock::DeviceClock;
use rig::supply::{ChannelLimits, PowerSupply, Registry};
use std::sync::Arc;
use std::time::{Duration, Instant};
use twin::physics::LoadAmps;
use twin::{BenchState, LoadState, Physics, ScpiServer};

const LIMITS: ChannelLimits = ChannelLimits {
    max_volts: 16.0,
    max_amps: 1.0,
};

/// A Rigol DP832 named `name` at `address`, through the supply registry as a rig file would name it.
fn rigol(name: &str, address: &str, limits: ChannelLimits) -> Arc<dyn PowerSupply> {
    let kind = Registry::standard().resolve("scpi", "rigol-dp832").unwrap();
    kind.open(name, address, [(1, limits)]).unwrap()
}

#[tokio::test]
async fn driver_sets_and_measures_the_twin_over_a_pty() {
    let bench = Arc::new(BenchState::new(1));
    let board = bench.add_board(0, Physics::default());
    // Fast device time, so held readings refresh within a few wall milliseconds.
    let server = ScpiServer::start_on_pty(bench.clone(), DeviceClock::start(100.0))
        .await
        .unwrap();
    assert!(server.local_addr().is_none());
    let address = format!("{}?baud=115200", server.address());
    assert!(address.starts_with("serial:///dev/"), "{address}");
    let psu = rigol("psu-s", &address, LIMITS);

    let idn = psu.identify().await.unwrap();
    assert!(idn.starts_with("HIL-TWIN,DP800-TWIN,"), "{idn}");
    set_and_check(psu.as_ref(), &bench).await;
    bench.set_load(board, LoadState::Awake);
    let awake = Physics::default().supply_amps(12.6, LoadAmps::Awake);
    let deadline = Instant::now() + Duration::from_secs(1);
    let amps = loop {
        let amps = psu.measure_amps(1).await.unwrap();
        if amps > 0.0 || Instant::now() > deadline {
            break amps;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!((amps - awake).abs() < 1e-4, "{amps} A vs {awake} A");
    assert_eq!(psu.measure_volts(1).await.unwrap(), 12.6);
}

#[tokio::test]
async fn refusals_and_a_busy_port_name_the_instrument() {
    let bench = Arc::new(BenchState::new(1));
    let server = ScpiServer::start_on_pty(bench.clone(), DeviceClock::start(1.0))
        .await
        .unwrap();
    let wide = ChannelLimits {
        max_volts: 40.0,
        max_amps: 5.0,
    };
    let psu = rigol("psu-r", &server.address(), wide);
    let message = format!("{:#}", psu.set_volts(1, 35.0).await.unwrap_err());
    assert!(
        message.contains("psu-r: `:SOUR1:VOLT 35` was refused: -222"),
        "{message}"
    );
    psu.set_volts(1, 12.0).await.unwrap();
    assert_eq!(bench.channel(0).set_volts, 12.0);

    // The port is held exclusively while the first driver has it open.
    let other = rigol("psu-o", &server.address(), LIMITS);
    let message = format!("{:#}", other.identify().await.unwrap_err());
    assert!(
        message.starts_with("psu-o: connecting to serial:///dev/"),
        "{message}"
    );
    assert!(message.contains("in use"), "{message}");
}
