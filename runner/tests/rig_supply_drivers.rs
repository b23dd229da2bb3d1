//! A rig file's `[supply.NAME]` chooses the driver: `hil run --rig`'s bench reaches a Korad, a Riden and an RS-232
//! SCPI supply (twins on real ptys) through the driver and address the rig file gives.

use model::clock::DeviceClock;
use model::diagnostic::UserTomlFile;
use model::scenario::Scenario;
use rig::supply::RidenModel;
use runner::exec::{Bench, RigBench};
use runner::plan::RigChannel;
use runner::rigfile::RigFile;
use std::path::Path;
use std::sync::Arc;
use twin::{korad_on_pty, riden_on_pty, BenchState, ScpiServer};

fn rig_file(driver: &str, model: &str, address: &str) -> RigFile {
    let text = format!(
        "[supply.psu]\ndriver = \"{driver}\"\nmodel = \"{model}\"\naddress = \"{address}\"\n\
         channels = {{ 1 = {{ max_volts = 15.0, max_amps = 1.0 }} }}\n\n\
         [[board]]\nname = \"esp-a\"\nmac = \"5c:cf:7f:00:00:01\"\nport = \"/dev/null\"\nsupply = \"psu:1\"\n"
    );
    RigFile::parse(Path::new("rig.toml"), &text).unwrap_or_else(|e| panic!("{e:?}"))
}

#[tokio::test]
async fn the_rig_bench_drives_korad_riden_and_serial_scpi_supplies() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/step-change.toml");
    let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e:?}"));
    let bench = Arc::new(BenchState::new(1));

    let korad = korad_on_pty(bench.clone(), 0).await.unwrap();
    let riden = riden_on_pty(bench.clone(), 0, RidenModel::Rd6018)
        .await
        .unwrap();
    let scpi = ScpiServer::start_on_pty(bench.clone(), DeviceClock::start(1.0))
        .await
        .unwrap();
    for (driver, model, address, identity, volts) in [
        (
            "korad",
            "tenma-72-2540",
            korad.address(),
            "KORAD KA3005P-TWIN",
            12.3,
        ),
        (
            "riden",
            "riden-rd6018",
            riden.address(),
            "RIDEN RD6018,",
            12.4,
        ),
        (
            "scpi",
            "rigol-dp832",
            scpi.address(),
            "HIL-TWIN,DP800-TWIN,",
            12.5,
        ),
    ] {
        let rig = rig_file(driver, model, &address);
        let psu1: RigChannel = "psu:1".parse().unwrap();
        let on = RigBench::new(&rig, &scenario, &[psu1]).unwrap();
        let on = &on.channels()[0];
        assert_eq!(on.label(), "psu:1");
        let idn = on.supply.identify().await.unwrap();
        assert!(idn.starts_with(identity), "{driver}: {idn}");
        on.supply.set_volts(on.channel, volts).await.unwrap();
        assert_eq!(bench.channel(0).set_volts, volts, "{driver}");
        let message = format!("{:#}", on.supply.set_volts(1, 15.5).await.unwrap_err());
        assert!(
            message.contains("psu: voltage 15.5 V"),
            "{driver}: {message}"
        );
        assert_eq!(bench.channel(0).set_volts, volts, "{driver}: nothing sent");
    }
}
