//! An independent client for the twin supply: pyvisa with its pure-Python backend (pyvisa-py) talks to the SCPI
//! server over a raw socket resource, as a lab script would talk to a DP832.

use model::clock::DeviceClock;
use std::sync::Arc;
use std::time::Duration;
use tokio::process::Command;
use twin::physics::LoadAmps;
use twin::{BenchState, LoadState, Physics, ScpiServer};

const INSTALL: &str = "pip install pyvisa pyvisa-py";

const SCRIPT: &str = r#"
import sys, time
import pyvisa

rm = pyvisa.ResourceManager("@py")
psu = rm.open_resource(
    f"TCPIP0::127.0.0.1::{sys.argv[1]}::SOCKET",
    read_termination="\n", write_termination="\n", timeout=2000,
)
print("idn", psu.query("*IDN?"))
psu.write(":SOUR1:VOLT 12.6")
psu.write(":SOUR1:CURR 0.5")
psu.write(":OUTP CH1,ON")
print("err", psu.query("SYST:ERR?"))
print("set", psu.query(":SOUR1:VOLT?"), psu.query(":SOUR1:CURR?"), psu.query(":OUTP? CH1"))
time.sleep(0.6)  # readings refresh a few times a second, like the real supply's
print("meas", psu.query(":MEAS:VOLT? CH1"), psu.query(":MEAS:CURR? CH1"))
psu.write("BOGUS:CMD")
print("bogus", psu.query("SYST:ERR?"))
psu.close()
"#;

fn python() -> String {
    std::env::var("HIL_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs `python` with `args`, bounded in time; returns its stdout, or fails with its stderr.
async fn run_python(args: &[&str]) -> Result<String, String> {
    let child = Command::new(python())
        .args(args)
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(Duration::from_secs(60), child).await {
        Err(_) => Err("still running after 60 s".into()),
        Ok(Err(e)) => Err(format!("could not start {}: {e}", python())),
        Ok(Ok(out)) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).into()),
        Ok(Ok(out)) => Err(format!(
            "{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

#[tokio::test]
async fn pyvisa_sets_and_measures_the_twin_supply() {
    if let Err(e) = run_python(&["-c", "import pyvisa, pyvisa_py"]).await {
        panic!(
            "this test needs pyvisa and pyvisa-py for {}: {INSTALL}\n{e}",
            python()
        );
    }
    let bench = Arc::new(BenchState::new(1));
    let board = bench.add_board(0, Physics::default());
    bench.set_load(board, LoadState::Awake);
    let server = ScpiServer::start(bench.clone(), DeviceClock::start(1.0))
        .await
        .unwrap();
    let port = server
        .local_addr()
        .expect("a TCP server")
        .port()
        .to_string();

    let out = run_python(&["-c", SCRIPT, &port])
        .await
        .unwrap_or_else(|e| panic!("the pyvisa client failed: {e}"));
    let lines: Vec<&str> = out.lines().collect();
    let amps = Physics::default().supply_amps(12.6, LoadAmps::Awake);
    assert_eq!(
        lines,
        [
            format!("idn HIL-TWIN,DP800-TWIN,0,{}", env!("CARGO_PKG_VERSION")),
            "err 0,\"No error\"".into(),
            "set 12.600 0.5000 ON".into(),
            format!("meas 12.600 {amps:.4}"),
            "bogus -113,\"Undefined header\"".into(),
        ],
        "{out}"
    );
    let channel = bench.channel(0);
    assert_eq!(
        (channel.set_volts, channel.limit_amps, channel.output_on),
        (12.6, 0.5, true)
    );
}
