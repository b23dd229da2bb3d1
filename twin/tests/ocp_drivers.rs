//! Over-current protection through each driver, against the twins: armed where the instrument has it (read back
//! from the instrument), a trip switches the output off and is reported where the instrument reports it, limits
//! are checked before anything is sent, and a family without protection has none to offer.

use model::clock::DeviceClock;
use rig::supply::{ChannelLimits, OcpTrip, PowerSupply, Registry, RidenModel};
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::time::Duration;
use twin::{korad_on_pty, riden_on_pty, BenchState, LoadState, Ocp, Physics, ScpiServer};

const LIMITS: ChannelLimits = ChannelLimits {
    max_volts: 16.0,
    max_amps: 1.0,
};
/// Below what one awake board draws at 12 V (about 24 mA), above what it draws asleep.
const TRIP: f64 = 0.01;

/// One line to the twin's SCPI server from a client of its own, as any other tool would ask it.
fn ask(address: &str, line: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address.trim_start_matches("tcp://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(format!("{line}\n").as_bytes()).unwrap();
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply).unwrap();
    reply.trim().to_string()
}

/// Instrument `name`, a `model` of `driver`, through the supply registry as a rig file would name it.
fn open(
    name: &str,
    (driver, model): (&str, &str),
    address: &str,
    limits: ChannelLimits,
) -> Arc<dyn PowerSupply> {
    let kind = Registry::standard().resolve(driver, model).unwrap();
    kind.open(name, address, [(1, limits)]).unwrap()
}

const RIGOL: (&str, &str) = ("scpi", "rigol-dp832");

/// Arms (or disarms, `None`) channel 1's protection, which must succeed.
async fn arm(psu: &dyn PowerSupply, trip_amps: Option<f64>) -> OcpTrip {
    let ocp = psu.over_current().expect("the instrument has protection");
    ocp.set_trip(1, trip_amps).await.unwrap()
}

/// Whether channel 1's protection tripped, as the instrument reports it.
async fn tripped(psu: &dyn PowerSupply) -> Option<bool> {
    let ocp = psu.over_current().expect("the instrument has protection");
    ocp.tripped(1).await.unwrap()
}

/// Why arming `channel`'s protection at `trip_amps` failed.
async fn refusal(psu: &dyn PowerSupply, channel: u8, trip_amps: f64) -> String {
    let ocp = psu.over_current().expect("the instrument has protection");
    let result = ocp.set_trip(channel, Some(trip_amps));
    format!("{:#}", result.await.unwrap_err())
}

/// A bench channel at 12 V behind a 1 A limit, a board on it asleep, through `psu`.
async fn powered(psu: &dyn PowerSupply, bench: &BenchState) -> usize {
    let board = bench.add_board(0, Physics::default());
    bench.set_load(board, LoadState::Asleep);
    psu.set_volts(1, 12.0).await.unwrap();
    psu.set_current_limit(1, 1.0).await.unwrap();
    board
}

#[tokio::test]
async fn rigol_arms_its_level_trips_reports_and_is_cleared_by_arming_again() {
    let bench = Arc::new(BenchState::new(2));
    let server = ScpiServer::start(bench.clone(), DeviceClock::start(100.0))
        .await
        .unwrap();
    let address = server.address();
    let psu = open("psu-o", RIGOL, &address, LIMITS);
    let board = powered(psu.as_ref(), &bench).await;

    assert_eq!(arm(psu.as_ref(), Some(TRIP)).await, OcpTrip::AtLevel(TRIP));
    assert_eq!(ask(&address, ":OUTP:OCP? CH1"), "ON");
    assert_eq!(ask(&address, ":OUTP:OCP:VAL? CH1"), "0.0100");
    assert_eq!(ask(&address, ":OUTP:OCP? CH2"), "OFF", "only its channel");
    psu.set_output(1, true).await.unwrap();
    assert_eq!(tripped(psu.as_ref()).await, Some(false));

    bench.set_load(board, LoadState::Awake);
    assert_eq!(
        ask(&address, ":OUTP? CH1"),
        "OFF",
        "the trip switched it off"
    );
    assert_eq!(tripped(psu.as_ref()).await, Some(true));

    bench.set_load(board, LoadState::Off);
    arm(psu.as_ref(), Some(0.5)).await;
    assert_eq!(tripped(psu.as_ref()).await, Some(false));
    assert_eq!(ask(&address, ":OUTP:OCP:VAL? CH1"), "0.5000");
    assert_eq!(arm(psu.as_ref(), None).await, OcpTrip::Off);
    assert_eq!(ask(&address, ":OUTP:OCP? CH1"), "OFF");
}

#[tokio::test]
async fn trip_levels_beyond_the_channel_are_refused_before_sending_and_refusals_name_the_command() {
    let bench = Arc::new(BenchState::new(1));
    let server = ScpiServer::start(bench.clone(), DeviceClock::start(100.0))
        .await
        .unwrap();
    let psu = open("psu-l", RIGOL, &server.address(), LIMITS);
    for (trip, channel, words) in [
        (1.5, 1, "over-current trip level 1.5 A on channel 1"),
        (f64::NAN, 1, "over-current trip level NaN A"),
        (0.5, 2, "channel 2 is not set up"),
    ] {
        let e = refusal(psu.as_ref(), channel, trip).await;
        assert!(e.starts_with("psu-l: ") && e.contains(words), "{e}");
    }
    assert_eq!(bench.channel(0).ocp, Ocp::Off, "nothing was sent");

    // Wider than the twin's 3.3 A protection range, so the instrument is the one to refuse.
    let wide = ChannelLimits {
        max_volts: 16.0,
        max_amps: 5.0,
    };
    let psu = open("psu-w", RIGOL, &server.address(), wide);
    let e = refusal(psu.as_ref(), 1, 4.0).await;
    assert!(e.contains(":OUTP:OCP:VAL CH1,4"), "{e}");
    assert!(e.contains("-222,\"Data out of range\""), "{e}");
}

#[tokio::test]
async fn families_without_protection_offer_none_and_are_not_spoken_to() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = format!("tcp://{}", listener.local_addr().unwrap());
    for model in ["siglent-spd3303x", "generic"] {
        let psu = open("psu-n", ("scpi", model), &address, LIMITS);
        assert!(psu.over_current().is_none(), "{model}");
    }
    let accepted = listener.accept().map(|_| ());
    assert_eq!(
        accepted.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "the instrument was never connected to"
    );
}

#[tokio::test]
async fn korad_trips_at_its_current_setting_and_cannot_report_it() {
    let bench = Arc::new(BenchState::new(1));
    let twin = korad_on_pty(bench.clone(), 0).await.unwrap();
    let psu = open("psu-k", ("korad", "korad-ka3005p"), &twin.address(), LIMITS);
    let board = powered(psu.as_ref(), &bench).await;
    psu.set_current_limit(1, TRIP).await.unwrap();

    assert_eq!(
        arm(psu.as_ref(), Some(LIMITS.max_amps)).await,
        OcpTrip::AtCurrentLimit
    );
    assert_eq!(bench.channel(0).ocp, Ocp::AtCurrentLimit);
    psu.set_output(1, true).await.unwrap();
    bench.set_load(board, LoadState::Awake);
    assert_eq!(
        psu.measure_volts(1).await.unwrap(),
        0.0,
        "off, not limiting"
    );
    assert_eq!(tripped(psu.as_ref()).await, None);
    assert_eq!(arm(psu.as_ref(), None).await, OcpTrip::Off);
    assert_eq!(bench.channel(0).ocp, Ocp::Off);
}

#[tokio::test]
async fn riden_arms_its_level_and_reports_the_trip() {
    let bench = Arc::new(BenchState::new(1));
    let twin = riden_on_pty(bench.clone(), 0, RidenModel::Rd6006)
        .await
        .unwrap();
    let psu = open("psu-r", ("riden", "riden-rd6006"), &twin.address(), LIMITS);
    let board = powered(psu.as_ref(), &bench).await;

    assert_eq!(arm(psu.as_ref(), Some(TRIP)).await, OcpTrip::AtLevel(TRIP));
    assert_eq!(bench.channel(0).ocp, Ocp::Level(TRIP));
    psu.set_output(1, true).await.unwrap();
    assert_eq!(tripped(psu.as_ref()).await, Some(false));
    bench.set_load(board, LoadState::Awake);
    assert_eq!(tripped(psu.as_ref()).await, Some(true));
    assert!(!bench.channel(0).output_on);
    let e = refusal(psu.as_ref(), 1, 1.2).await;
    assert!(e.contains("psu-r: over-current trip level 1.2 A"), "{e}");
    assert_eq!(arm(psu.as_ref(), None).await, OcpTrip::Off);
    assert_eq!(
        bench.channel(0).ocp,
        Ocp::Level(6.0),
        "the model's full current"
    );
}
