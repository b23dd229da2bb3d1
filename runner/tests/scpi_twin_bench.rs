//! The twin bench's supply is reached only over SCPI: the runner's driver and any other client talk to the same
//! server, which goes away with the bench.

use model::clock::DeviceClock;
use model::diagnostic::UserTomlFile;
use model::scenario::Scenario;
use runner::exec::{Bench, TwinBench, TwinRuntime};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[tokio::test]
async fn the_twin_supply_is_an_scpi_server_that_lives_as_long_as_the_bench() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/step-change.toml");
    let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e:?}"));
    let runtime = runner::paths::firmware_runtime(TwinRuntime::Micropython, Default::default())
        .await
        .unwrap();
    let bench = TwinBench::process(&scenario, DeviceClock::start(20.0), &runtime)
        .await
        .unwrap();
    let idn = bench.channels()[0].supply.identify().await.unwrap();
    assert!(idn.starts_with("HIL-TWIN,DP800-TWIN,"), "{idn}");
    bench.channels()[0].supply.set_volts(1, 12.5).await.unwrap();

    let addr = bench.supply_server().local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    let mut other = BufReader::new(TcpStream::connect(addr).await.unwrap());
    other.write_all(b":SOUR1:VOLT?\n").await.unwrap();
    let mut reply = String::new();
    let read = other.read_line(&mut reply);
    tokio::time::timeout(Duration::from_secs(2), read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        reply, "12.500\n",
        "the driver's setting, seen by another client"
    );

    drop(bench);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), other.read_to_end(&mut rest)).await;
    assert!(
        matches!(closed, Ok(Ok(0))),
        "connection still open: {closed:?}"
    );
    assert!(TcpStream::connect(addr).await.is_err(), "still listening");
}
