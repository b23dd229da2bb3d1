//! The SCPI driver over real TCP: against the twin's SCPI server, and against scripted instruments that drop the
//! link, answer garbage, stay silent or need pacing.

use model::clock::DeviceClock;
use rig::supply::{ChannelLimits, Dialect, PowerSupply, ScpiSupply};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use twin::physics::LoadAmps;
use twin::{BenchState, LoadState, Physics, ScpiServer};

const LIMITS: ChannelLimits = ChannelLimits {
    max_volts: 16.0,
    max_amps: 1.0,
};

async fn twin(channels: usize) -> (Arc<BenchState>, ScpiServer) {
    let bench = Arc::new(BenchState::new(channels));
    // Fast device time, so held readings refresh within a few wall milliseconds.
    let server = ScpiServer::start(bench.clone(), DeviceClock::start(100.0))
        .await
        .unwrap();
    (bench, server)
}

/// Measures until `want` holds (readings refresh a few times a second), within a second.
async fn measured(supply: &ScpiSupply, amps: bool, want: impl Fn(f64) -> bool) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let value = if amps {
            supply.measure_amps(1).await.unwrap()
        } else {
            supply.measure_volts(1).await.unwrap()
        };
        if want(value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn driver_sets_and_measures_the_twin_over_tcp() {
    let (bench, server) = twin(1).await;
    let board = bench.add_board(0, Physics::default());
    let supply = ScpiSupply::new(
        "psu-t",
        &server.address(),
        Dialect::RigolDp800,
        [(1, LIMITS)],
    )
    .unwrap();

    assert!(supply
        .identify()
        .await
        .unwrap()
        .starts_with("HIL-TWIN,DP800-TWIN,"));
    supply.set_volts(1, 12.6).await.unwrap();
    supply.set_current_limit(1, 0.5).await.unwrap();
    supply.set_output(1, true).await.unwrap();
    let channel = bench.channel(0);
    assert_eq!(
        (channel.set_volts, channel.limit_amps, channel.output_on),
        (12.6, 0.5, true)
    );

    assert_eq!(measured(&supply, false, |v| v == 12.6).await, 12.6);
    assert_eq!(
        measured(&supply, true, |a| a == 0.0).await,
        0.0,
        "the board is off"
    );
    bench.set_load(board, LoadState::Awake);
    let awake = Physics::default().supply_amps(12.6, LoadAmps::Awake);
    let amps = measured(&supply, true, |a| a > 0.0).await;
    assert!(
        (amps - awake).abs() < 1e-4,
        "{amps} A vs the buck model's {awake} A"
    );

    supply.set_output(1, false).await.unwrap();
    assert!(!bench.channel(0).output_on);
    assert_eq!(measured(&supply, false, |v| v == 0.0).await, 0.0);
}

#[tokio::test]
async fn limits_are_enforced_before_anything_is_sent() {
    let (bench, server) = twin(2).await;
    let supply = ScpiSupply::new(
        "psu-l",
        &server.address(),
        Dialect::RigolDp800,
        [(1, LIMITS)],
    )
    .unwrap();
    for (result, words) in [
        (
            supply.set_volts(1, 16.5).await,
            "voltage 16.5 V on channel 1",
        ),
        (supply.set_volts(1, f64::NAN).await, "voltage NaN V"),
        (
            supply.set_current_limit(1, -0.1).await,
            "current limit -0.1 A",
        ),
        (supply.set_output(2, true).await, "channel 2 is not set up"),
    ] {
        let message = format!("{:#}", result.unwrap_err());
        assert!(message.starts_with("psu-l: "), "{message}");
        assert!(message.contains(words), "{message}");
    }
    assert_eq!(bench.channel(0), Default::default());
    assert_eq!(bench.channel(1), Default::default());
    assert!(ScpiSupply::new("x", &server.address(), Dialect::Generic, [(2, LIMITS)]).is_err());
    assert!(ScpiSupply::new("x", "127.0.0.1:5025", Dialect::Generic, [(1, LIMITS)]).is_err());
}

#[tokio::test]
async fn an_instrument_refusal_names_the_command_and_its_error() {
    let (bench, server) = twin(1).await;
    // Wider than the twin's 32 V range, so the instrument is the one to refuse.
    let wide = ChannelLimits {
        max_volts: 40.0,
        max_amps: 5.0,
    };
    let supply =
        ScpiSupply::new("psu-r", &server.address(), Dialect::RigolDp800, [(1, wide)]).unwrap();
    let message = format!("{:#}", supply.set_volts(1, 35.0).await.unwrap_err());
    assert!(message.contains("psu-r"), "{message}");
    assert!(message.contains("`:SOUR1:VOLT 35`"), "{message}");
    assert!(message.contains("-222,\"Data out of range\""), "{message}");
    assert_eq!(bench.channel(0).set_volts, 0.0);
    supply.set_volts(1, 12.0).await.unwrap();
    assert_eq!(
        bench.channel(0).set_volts,
        12.0,
        "the error queue was emptied"
    );
}

#[tokio::test]
async fn several_clients_at_once_and_the_server_stops_when_dropped() {
    let (bench, server) = twin(2).await;
    let a = ScpiSupply::new("a", &server.address(), Dialect::RigolDp800, [(1, LIMITS)]).unwrap();
    let b = ScpiSupply::new("b", &server.address(), Dialect::RigolDp800, [(2, LIMITS)]).unwrap();
    let (ra, rb) = tokio::join!(a.set_volts(1, 5.0), b.set_volts(2, 7.0));
    ra.unwrap();
    rb.unwrap();
    assert_eq!(bench.channel(0).set_volts, 5.0);
    assert_eq!(bench.channel(1).set_volts, 7.0);

    drop(server);
    let started = Instant::now();
    let message = format!("{:#}", a.identify().await.unwrap_err());
    assert!(message.starts_with("a: "), "{message}");
    assert!(message.contains("*IDN?"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// What a scripted instrument does with one line.
enum Act {
    Reply(&'static str),
    Nothing,
    Hang,
    Close,
}

/// A scripted instrument on a loopback port: `script(connection number, line)` decides; every line is logged with
/// its arrival time.
async fn scripted(
    script: impl Fn(usize, &str) -> Act + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<(Instant, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("tcp://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(script);
    let seen = log.clone();
    tokio::spawn(async move {
        for connection in 0.. {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let (script, seen) = (script.clone(), seen.clone());
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                let mut line = String::new();
                while stream.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let text = line.trim_end().to_string();
                    seen.lock().unwrap().push((Instant::now(), text.clone()));
                    match script(connection, &text) {
                        Act::Reply(reply) => {
                            let _ = stream.write_all(format!("{reply}\n").as_bytes()).await;
                        }
                        Act::Nothing => {}
                        Act::Hang => std::future::pending::<()>().await,
                        Act::Close => return,
                    }
                    line.clear();
                }
            });
        }
    });
    (address, log)
}

fn no_error_or(line: &str, reply: &'static str) -> Act {
    if line == "SYST:ERR?" {
        Act::Reply("0,\"No error\"")
    } else if line.ends_with('?') || line.contains("? ") {
        Act::Reply(reply)
    } else {
        Act::Nothing
    }
}

#[tokio::test]
async fn a_dropped_link_is_reconnected_once() {
    // The first connection dies at the first measurement; the second works.
    let (address, log) = scripted(|connection, line| match (connection, line) {
        (0, l) if l.starts_with(":MEAS") => Act::Close,
        (_, l) => no_error_or(l, "12.500"),
    })
    .await;
    let supply = ScpiSupply::new("psu-d", &address, Dialect::RigolDp800, [(1, LIMITS)]).unwrap();
    supply.set_volts(1, 12.5).await.unwrap();
    assert_eq!(supply.measure_volts(1).await.unwrap(), 12.5);
    let lines: Vec<String> = log.lock().unwrap().iter().map(|(_, l)| l.clone()).collect();
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with(":MEAS:VOLT? CH1"))
            .count(),
        2,
        "{lines:?}"
    );

    // A link that drops on every connection is reported, not retried forever.
    let (address, _) = scripted(|_, line| {
        if line.starts_with(":MEAS") {
            Act::Close
        } else {
            no_error_or(line, "")
        }
    })
    .await;
    let supply = ScpiSupply::new("psu-e", &address, Dialect::RigolDp800, [(1, LIMITS)]).unwrap();
    supply.set_output(1, true).await.unwrap();
    let message = format!("{:#}", supply.measure_volts(1).await.unwrap_err());
    assert!(message.contains("psu-e"), "{message}");
    assert!(message.contains("`:MEAS:VOLT? CH1`"), "{message}");
}

#[tokio::test]
async fn garbage_and_silence_are_errors_naming_instrument_and_command() {
    let (address, _) = scripted(|_, line| no_error_or(line, "\u{1b}[31mOVERLOAD")).await;
    let supply =
        ScpiSupply::new("psu-g", &address, Dialect::KeysightE36300, [(2, LIMITS)]).unwrap();
    let message = format!("{:#}", supply.measure_amps(2).await.unwrap_err());
    assert!(message.contains("psu-g"), "{message}");
    assert!(message.contains("`MEAS:CURR? (@2)`"), "{message}");
    assert!(message.contains("not a number"), "{message}");

    let (address, _) = scripted(|_, line| {
        if line == "SYST:ERR?" {
            Act::Reply("maybe")
        } else {
            Act::Nothing
        }
    })
    .await;
    let supply = ScpiSupply::new("psu-q", &address, Dialect::Generic, [(1, LIMITS)]).unwrap();
    let message = format!("{:#}", supply.set_volts(1, 1.0).await.unwrap_err());
    assert!(message.contains("psu-q"), "{message}");
    assert!(message.contains("not an error code"), "{message}");

    let (address, _) = scripted(|_, line| {
        if line.starts_with("MEAS") {
            Act::Hang
        } else {
            no_error_or(line, "")
        }
    })
    .await;
    let supply =
        ScpiSupply::new("psu-s", &address, Dialect::SiglentSpd3000x, [(1, LIMITS)]).unwrap();
    let started = Instant::now();
    let message = format!("{:#}", supply.measure_volts(1).await.unwrap_err());
    let took = started.elapsed();
    assert!(
        message.contains("psu-s: no answer to `MEAS:VOLT? CH1`"),
        "{message}"
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn siglent_commands_are_paced_and_hmc_selects_its_channel_first() {
    let (address, log) = scripted(|_, line| no_error_or(line, "1.000")).await;
    let supply = ScpiSupply::new("spd", &address, Dialect::SiglentSpd3000x, [(1, LIMITS)]).unwrap();
    supply.set_volts(1, 12.6).await.unwrap();
    supply.measure_volts(1).await.unwrap();
    let times: Vec<Instant> = log.lock().unwrap().iter().map(|(t, _)| *t).collect();
    assert!(times.len() >= 4, "connect drain, set, check, measure");
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(95), "{gap:?} between commands");
    }

    let (address, log) = scripted(|_, line| no_error_or(line, "0.025")).await;
    let supply = ScpiSupply::new("hmc", &address, Dialect::RohdeHmc804x, [(2, LIMITS)]).unwrap();
    supply.set_output(2, true).await.unwrap();
    assert_eq!(supply.measure_amps(2).await.unwrap(), 0.025);
    let lines: Vec<String> = log.lock().unwrap().iter().map(|(_, l)| l.clone()).collect();
    assert_eq!(
        lines,
        [
            "SYST:ERR?",
            "INST:NSEL 2",
            "OUTP:CHAN ON",
            "OUTP:MAST ON",
            "SYST:ERR?",
            "INST:NSEL 2",
            "MEAS:CURR?"
        ]
    );
}
