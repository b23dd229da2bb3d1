//! The Korad KA3005P driver over real ptys: against the twin Korad (bench physics behind it), and against
//! scripted units that answer garbage, stay silent or ignore settings.

mod common;

use common::{scripted, set_and_check};
use rig::supply::{ChannelLimits, PowerSupply, Registry, SupplyError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use twin::physics::LoadAmps;
use twin::{korad_on_pty, BenchState, LoadState, Physics};

const LIMITS: ChannelLimits = ChannelLimits {
    max_volts: 16.0,
    max_amps: 1.0,
};
/// The twin frames a command by 20 ms of quiet; the scripted units do the same.
const GAP: Duration = Duration::from_millis(20);

/// A KA3005P named `name` at `address` with `limits` on its channel, through the supply registry as a rig file
/// would name it.
fn korad_with(
    name: &str,
    address: &str,
    channels: impl IntoIterator<Item = (u8, ChannelLimits)>,
) -> Result<Arc<dyn PowerSupply>, SupplyError> {
    let kind = Registry::standard()
        .resolve("korad", "korad-ka3005p")
        .unwrap();
    kind.open(name, address, channels)
}

fn korad(name: &str, address: &str) -> Arc<dyn PowerSupply> {
    korad_with(name, address, [(1, LIMITS)]).unwrap()
}

#[tokio::test]
async fn driver_sets_verifies_and_measures_the_twin_korad_on_a_pty() {
    let bench = Arc::new(BenchState::new(1));
    let board = bench.add_board(0, Physics::default());
    let twin = korad_on_pty(bench.clone(), 0).await.unwrap();
    assert!(twin.address().starts_with("serial:///dev/"));
    let psu = korad("psu-k", &twin.address());

    let idn = psu.identify().await.unwrap();
    assert!(idn.starts_with("KORAD KA3005P-TWIN"), "{idn}");
    set_and_check(psu.as_ref(), &bench).await;
    assert_eq!(psu.measure_volts(1).await.unwrap(), 12.6);
    assert_eq!(psu.measure_amps(1).await.unwrap(), 0.0, "the board is off");
    bench.set_load(board, LoadState::Awake);
    let awake = Physics::default().supply_amps(12.6, LoadAmps::Awake);
    let amps = psu.measure_amps(1).await.unwrap();
    assert!(
        (amps - awake).abs() <= 0.0005,
        "{amps} A vs the buck model's {awake} A, to the unit's 1 mA"
    );
    psu.set_output(1, false).await.unwrap();
    assert!(!bench.channel(0).output_on);
    assert_eq!(psu.measure_volts(1).await.unwrap(), 0.0);
}

/// A well-behaved unit: replies to the read-backs with what was set.
fn obliging(_: usize, request: &[u8]) -> Vec<u8> {
    match request {
        b"VSET1?" | b"VOUT1?" => b"12.60".to_vec(),
        b"ISET1?" | b"IOUT1?" => b"0.500".to_vec(),
        b"STATUS?" => vec![0x41],
        b"*IDN?" => b"KORAD KA3005P V5.8 SN:03379314".to_vec(),
        _ => Vec::new(),
    }
}

#[tokio::test]
async fn limits_are_enforced_before_anything_is_sent() {
    let unit = scripted(9600, GAP, obliging).await;
    let psu = korad("psu-l", &unit.address);
    for (result, words) in [
        (psu.set_volts(1, 16.5).await, "voltage 16.5 V on channel 1"),
        (psu.set_volts(1, f64::NAN).await, "voltage NaN V"),
        (psu.set_current_limit(1, 1.2).await, "current limit 1.2 A"),
        (psu.set_output(2, true).await, "channel 2 is not set up"),
        (
            psu.measure_volts(3).await.map(drop),
            "channel 3 is not set up",
        ),
    ] {
        let message = format!("{:#}", result.unwrap_err());
        assert!(message.starts_with("psu-l: "), "{message}");
        assert!(message.contains(words), "{message}");
    }
    // A value within a limit that is not on the unit's 10 mV grid, but that rounds past it, is refused too.
    let odd = ChannelLimits {
        max_volts: 15.996,
        max_amps: 1.0,
    };
    let narrow = korad_with("psu-n", &unit.address, [(1, odd)]).unwrap();
    let message = format!("{:#}", narrow.set_volts(1, 15.996).await.unwrap_err());
    assert!(
        message.contains("voltage 16 V on channel 1 is outside its limit 0..=15.996 V"),
        "{message}"
    );
    tokio::time::sleep(GAP * 2).await;
    assert!(unit.requests().is_empty(), "{:?}", unit.requests());
    let e = korad_with("x", &unit.address, [(2, LIMITS)]).err();
    assert!(
        matches!(&e, Some(e @ SupplyError::Channel { .. })
            if e.to_string().contains("channel 2 does not exist on a KA3005P")),
        "{e:?}"
    );
}

#[tokio::test]
async fn commands_are_paced_unterminated_and_sets_read_back() {
    let unit = scripted(9600, GAP, obliging).await;
    let psu = korad("psu-p", &unit.address);
    assert_eq!(
        psu.identify().await.unwrap(),
        "KORAD KA3005P V5.8 SN:03379314"
    );
    psu.set_volts(1, 12.6).await.unwrap();
    psu.set_current_limit(1, 0.5).await.unwrap();
    psu.set_output(1, true).await.unwrap();
    assert_eq!(psu.measure_volts(1).await.unwrap(), 12.6);
    assert_eq!(psu.measure_amps(1).await.unwrap(), 0.5);
    assert_eq!(
        unit.requests(),
        [
            "*IDN?",
            "VSET1:12.60",
            "VSET1?",
            "ISET1:0.500",
            "ISET1?",
            "OUT1",
            "STATUS?",
            "VOUT1?",
            "IOUT1?"
        ]
    );
    for pair in unit.times().windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(80), "{gap:?} between commands");
    }
}

#[tokio::test]
async fn garbage_silence_and_ignored_settings_are_errors_naming_instrument_and_command() {
    // A number that is not one; then the next call works again.
    let unit = scripted(9600, GAP, |n, request| match (n, request) {
        (0, b"VOUT1?") => b"ab.cd".to_vec(),
        _ => obliging(n, request),
    })
    .await;
    let psu = korad("psu-g", &unit.address);
    let message = format!("{:#}", psu.measure_volts(1).await.unwrap_err());
    assert!(message.starts_with("psu-g: "), "{message}");
    assert!(
        message.contains("`VOUT1?` answered \"ab.cd\", not a number"),
        "{message}"
    );
    assert_eq!(psu.measure_volts(1).await.unwrap(), 12.6);

    // A unit that ignores its settings, and one whose output will not switch.
    let unit = scripted(9600, GAP, |_, request| match request {
        b"VSET1?" => b"00.00".to_vec(),
        b"STATUS?" => vec![0x01],
        _ => Vec::new(),
    })
    .await;
    let psu = korad("psu-i", &unit.address);
    let message = format!("{:#}", psu.set_volts(1, 12.6).await.unwrap_err());
    assert!(
        message.contains("`VSET1:12.60` was not taken: `VSET1?` reads \"00.00\""),
        "{message}"
    );
    let message = format!("{:#}", psu.set_output(1, true).await.unwrap_err());
    assert!(message.contains("`OUT1` was not taken"), "{message}");

    // Bytes that are no identity, a reply cut short, and silence: bounded, and naming the command.
    let unit = scripted(9600, GAP, |_, request| match request {
        b"*IDN?" => vec![0xff, 0x00, 0x1b],
        b"IOUT1?" => b"0.".to_vec(),
        _ => Vec::new(),
    })
    .await;
    let psu = korad("psu-s", &unit.address);
    let message = format!("{:#}", psu.identify().await.unwrap_err());
    assert!(message.contains("psu-s: `*IDN?` answered"), "{message}");
    for command in ["IOUT1?", "VOUT1?"] {
        let started = Instant::now();
        let result = if command == "IOUT1?" {
            psu.measure_amps(1).await
        } else {
            psu.measure_volts(1).await
        };
        let took = started.elapsed();
        let message = format!("{:#}", result.unwrap_err());
        assert!(
            message.contains(&format!("psu-s: no answer to `{command}`")),
            "{message}"
        );
        assert!(took < Duration::from_secs(3), "{took:?}");
    }
}
