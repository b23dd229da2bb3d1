//! A supply driver added from outside the crate, through the registry's API alone: a plain-text "line" supply on
//! a real TCP port (`V2 5\n`, `V2?\n`), named, resolved, listed in errors, opened and driven like the built-in
//! drivers, its limits checked with the same check they use.

use async_trait::async_trait;
use rig::supply::{
    Address, ChannelError, ChannelLimits, ModelInfo, OverCurrentProtection, PowerSupply, Registry,
    Setting, SupplyDriver, SupplyError,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Every call of the line supply answers within this, as every driver's must.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

const LIMITS: ChannelLimits = ChannelLimits {
    max_volts: 16.0,
    max_amps: 1.0,
};

/// `driver = "line"`, models `line-1ch` and `line-2ch`.
struct LineDriver;

impl SupplyDriver for LineDriver {
    fn name(&self) -> &'static str {
        "line"
    }

    fn models(&self) -> String {
        "line-1ch, line-2ch".into()
    }

    fn model(&self, model: &str) -> Option<ModelInfo> {
        let max_channel = match model {
            "line-1ch" => 1,
            "line-2ch" => 2,
            _ => return None,
        };
        Some(ModelInfo {
            family: format!("LINE-{max_channel}"),
            max_channel,
        })
    }

    fn serial_baud(&self) -> u32 {
        19_200
    }

    fn open(
        &self,
        name: &str,
        model: &str,
        address: &str,
        channels: &[(u8, ChannelLimits)],
    ) -> Result<Arc<dyn PowerSupply>, SupplyError> {
        let info = self.model(model).ok_or_else(|| SupplyError::Driver {
            instrument: name.into(),
            error: self.unknown_model(model),
        })?;
        let refused = |reason: String| SupplyError::Address {
            instrument: name.into(),
            reason,
        };
        let address =
            Address::parse(address, self.serial_baud()).map_err(|e| refused(e.to_string()))?;
        let Address::Tcp(socket) = &address else {
            return Err(refused(format!(
                "{address} is not tcp://: the line supply has no serial port"
            )));
        };
        for (channel, limits) in channels {
            limits
                .check_setup(*channel, &info.family, info.max_channel)
                .map_err(|error| SupplyError::Channel {
                    instrument: name.into(),
                    error,
                })?;
        }
        Ok(Arc::new(LineSupply {
            name: name.into(),
            socket: socket.clone(),
            address,
            channels: channels.iter().copied().collect(),
        }))
    }
}

struct LineSupply {
    name: String,
    /// `host:port`, as `address` gives it.
    socket: String,
    address: Address,
    channels: BTreeMap<u8, ChannelLimits>,
}

impl LineSupply {
    /// One line out, one line back, on a connection of its own, within [`CALL_TIMEOUT`].
    async fn ask(&self, line: String) -> Result<String, SupplyError> {
        tokio::time::timeout(CALL_TIMEOUT, self.exchange(&line))
            .await
            .unwrap_or_else(|_| {
                Err(SupplyError::Timeout {
                    instrument: self.name.clone(),
                    command: line,
                    address: self.address.clone(),
                    secs: CALL_TIMEOUT.as_secs_f64(),
                })
            })
    }

    async fn exchange(&self, line: &str) -> Result<String, SupplyError> {
        let dropped = |error| SupplyError::LinkDropped {
            instrument: self.name.clone(),
            command: line.to_string(),
            address: self.address.clone(),
            error,
        };
        let stream =
            TcpStream::connect(&self.socket)
                .await
                .map_err(|error| SupplyError::Connect {
                    instrument: self.name.clone(),
                    address: self.address.clone(),
                    error,
                })?;
        let mut stream = BufReader::new(stream);
        stream
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(dropped)?;
        let mut reply = String::new();
        stream.read_line(&mut reply).await.map_err(dropped)?;
        Ok(reply.trim_end().to_string())
    }

    fn refused(&self, error: ChannelError) -> SupplyError {
        SupplyError::Channel {
            instrument: self.name.clone(),
            error,
        }
    }

    /// The channel's limits, or an error if it is not set up.
    fn limits(&self, channel: u8) -> Result<&ChannelLimits, SupplyError> {
        self.channels.get(&channel).ok_or_else(|| {
            self.refused(ChannelError::NotSetUp {
                channel,
                set_up: self.channels.keys().copied().collect(),
            })
        })
    }

    /// Refuses a setting outside the channel's limits before anything is sent.
    fn check(&self, channel: u8, setting: Setting, value: f64) -> Result<(), SupplyError> {
        self.limits(channel)?
            .check(channel, setting, value)
            .map_err(|error| self.refused(error))
    }

    /// A setting (`V2 12.5`), which the instrument acknowledges with `OK`.
    async fn set(&self, command: String) -> Result<(), SupplyError> {
        match self.ask(command.clone()).await?.as_str() {
            "OK" => Ok(()),
            other => Err(SupplyError::Refused {
                instrument: self.name.clone(),
                command,
                reason: other.into(),
            }),
        }
    }

    async fn number(&self, command: String) -> Result<f64, SupplyError> {
        let reply = self.ask(command.clone()).await?;
        reply.parse().map_err(|_| SupplyError::BadReply {
            instrument: self.name.clone(),
            command,
            after: None,
            answer: format!("{reply:?}, not a number"),
        })
    }
}

#[async_trait]
impl PowerSupply for LineSupply {
    fn name(&self) -> &str {
        &self.name
    }

    async fn identify(&self) -> Result<String, SupplyError> {
        self.ask("*IDN?".into()).await
    }

    async fn set_volts(&self, channel: u8, volts: f64) -> Result<(), SupplyError> {
        self.check(channel, Setting::Volts, volts)?;
        self.set(format!("V{channel} {volts}")).await
    }

    async fn set_current_limit(&self, channel: u8, amps: f64) -> Result<(), SupplyError> {
        self.check(channel, Setting::CurrentLimit, amps)?;
        self.set(format!("I{channel} {amps}")).await
    }

    async fn set_output(&self, channel: u8, on: bool) -> Result<(), SupplyError> {
        self.limits(channel)?;
        self.set(format!("O{channel} {}", u8::from(on))).await
    }

    async fn measure_volts(&self, channel: u8) -> Result<f64, SupplyError> {
        self.limits(channel)?;
        self.number(format!("V{channel}?")).await
    }

    async fn measure_amps(&self, channel: u8) -> Result<f64, SupplyError> {
        self.limits(channel)?;
        self.number(format!("I{channel}?")).await
    }

    fn over_current(&self) -> Option<&dyn OverCurrentProtection> {
        None
    }
}

/// The line instrument on a loopback port: its settings by command (`V2`), and every line it was sent.
struct LineInstrument {
    address: String,
    settings: Arc<Mutex<BTreeMap<String, f64>>>,
    heard: Arc<Mutex<Vec<String>>>,
}

async fn line_instrument() -> LineInstrument {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("tcp://{}", listener.local_addr().unwrap());
    let settings = Arc::new(Mutex::new(BTreeMap::new()));
    let heard = Arc::new(Mutex::new(Vec::new()));
    let (kept, log) = (settings.clone(), heard.clone());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let mut stream = BufReader::new(stream);
            let mut line = String::new();
            if stream.read_line(&mut line).await.is_err() {
                continue;
            }
            let line = line.trim_end().to_string();
            log.lock().unwrap().push(line.clone());
            let reply = match line.split_once(' ') {
                _ if line == "*IDN?" => "LINE-BENCH,2CH".to_string(),
                Some((what, value)) => match value.parse::<f64>() {
                    Ok(value) => {
                        kept.lock().unwrap().insert(what.to_string(), value);
                        "OK".into()
                    }
                    Err(_) => "ERR value".into(),
                },
                None => {
                    let what = line.trim_end_matches('?');
                    let value = kept.lock().unwrap().get(what).copied().unwrap_or(0.0);
                    value.to_string()
                }
            };
            let _ = stream.write_all(format!("{reply}\n").as_bytes()).await;
        }
    });
    LineInstrument {
        address,
        settings,
        heard,
    }
}

#[test]
fn an_added_driver_is_resolved_and_listed_like_the_built_in_ones() {
    let registry = Registry::standard().with(LineDriver);
    assert_eq!(registry.names(), "scpi, korad, riden, line");
    assert_eq!(
        registry.clone().with(LineDriver).names(),
        "scpi, korad, riden, line",
        "a driver of the same name replaces it"
    );
    let kind = registry.resolve("line", "line-2ch").unwrap();
    assert_eq!(
        (
            kind.driver(),
            kind.model(),
            kind.family(),
            kind.max_channel()
        ),
        ("line", "line-2ch", "LINE-2", 2)
    );
    assert_eq!(kind.serial_baud(), 19_200);
    assert!(
        registry.resolve("scpi", "rigol-dp832").is_ok(),
        "the built-in drivers stay"
    );

    let e = registry
        .resolve("line", "line-9ch")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "unknown model \"line-9ch\" for driver \"line\"; valid: line-1ch, line-2ch"
    );
    let e = registry.resolve("visa", "x").unwrap_err().to_string();
    assert!(
        e.ends_with("valid drivers: scpi, korad, riden, line"),
        "{e}"
    );
    let e = Registry::standard()
        .resolve("line", "line-2ch")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("driver \"line\" is not supported"),
        "the standard registry is left alone: {e}"
    );
}

#[tokio::test]
async fn an_added_driver_opens_and_drives_its_instrument_over_tcp() {
    let instrument = line_instrument().await;
    let kind = Registry::standard()
        .with(LineDriver)
        .resolve("line", "line-2ch")
        .unwrap();
    let psu = kind
        .open("psu-line", &instrument.address, [(1, LIMITS), (2, LIMITS)])
        .unwrap();

    assert_eq!(psu.identify().await.unwrap(), "LINE-BENCH,2CH");
    psu.set_volts(2, 12.5).await.unwrap();
    psu.set_current_limit(2, 0.5).await.unwrap();
    psu.set_output(2, true).await.unwrap();
    assert_eq!(psu.measure_volts(2).await.unwrap(), 12.5);
    assert_eq!(psu.measure_amps(2).await.unwrap(), 0.5);
    assert_eq!(
        instrument.settings.lock().unwrap().clone(),
        BTreeMap::from([("I2".into(), 0.5), ("O2".into(), 1.0), ("V2".into(), 12.5)])
    );
    assert!(
        psu.over_current().is_none(),
        "the line supply has no protection"
    );

    let heard = instrument.heard.lock().unwrap().len();
    let refused = psu.set_volts(1, 16.5).await.unwrap_err();
    assert!(
        matches!(refused, SupplyError::Channel { .. }),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        "psu-line: voltage 16.5 V on channel 1 is outside its limit 0..=16 V; nothing was sent"
    );
    assert_eq!(
        instrument.heard.lock().unwrap().len(),
        heard,
        "nothing was sent"
    );
}

#[test]
fn an_added_driver_refuses_a_channel_its_model_lacks() {
    let kind = Registry::standard()
        .with(LineDriver)
        .resolve("line", "line-1ch")
        .unwrap();
    let e = kind
        .open("psu-line", "tcp://127.0.0.1:9", [(2, LIMITS)])
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("psu-line: channel 2 does not exist on a LINE-1 (channels 1..=1)")
    );
}
