//! Publish round-trip latency through the MQTT tap versus straight to the broker, measured in one run.

use anyhow::{bail, Context, Result};
use rig::mqtt::{Broker, BrokerSpec, Tap};
use rumqttc::{
    AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS, TlsConfiguration, Transport,
};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Round trips for one path, in microseconds, sorted.
struct Samples(Vec<u64>);

impl Samples {
    fn percentile(&self, p: f64) -> u64 {
        let i = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        self.0.get(i).copied().unwrap_or(0)
    }
}

async fn drive(mut events: EventLoop, tx: mpsc::UnboundedSender<Instant>) {
    while let Ok(event) = events.poll().await {
        if let Event::Incoming(Packet::Publish(_)) = event {
            let _ = tx.send(Instant::now());
        }
    }
}

fn client(id: &str, host: &str, port: u16, broker: &Broker) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(id, host, port);
    options
        .set_credentials(
            broker.username.clone(),
            broker.password.expose().to_string(),
        )
        .set_keep_alive(Duration::from_secs(30));
    // Straight to an mqtts broker is over TLS; the tap's listener is plain, as for the boards.
    if let Some(tls) = broker.tls.clone().filter(|_| port == broker.port) {
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
    }
    AsyncClient::new(options, 16)
}

/// Publishes `messages` QoS 0 messages one at a time from a client connected at `port` and times each until the
/// subscriber (connected straight to the broker) receives it.
async fn round_trips(broker: &Broker, port: u16, label: &str, messages: usize) -> Result<Samples> {
    let topic = format!("hil/bench/{label}");
    let (sub, sub_events) = client(
        &format!("bench-sub-{label}"),
        &broker.host,
        broker.port,
        broker,
    );
    let (arrived_tx, mut arrived) = mpsc::unbounded_channel();
    let sub_task = tokio::spawn(drive(sub_events, arrived_tx));
    sub.subscribe(&topic, QoS::AtMostOnce).await?;
    let (publisher, pub_events) = client(&format!("bench-pub-{label}"), &broker.host, port, broker);
    let (ignored_tx, _ignored) = mpsc::unbounded_channel();
    let pub_task = tokio::spawn(drive(pub_events, ignored_tx));
    // Let both connect and the subscription settle before timing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut samples = Vec::with_capacity(messages);
    for i in 0..messages {
        let sent = Instant::now();
        publisher
            .publish(&topic, QoS::AtMostOnce, false, format!("{{\"seq\":{i}}}"))
            .await?;
        let at = tokio::time::timeout(Duration::from_secs(5), arrived.recv())
            .await
            .with_context(|| format!("{label}: message {i} not received within 5 s"))?;
        match at {
            Some(at) => samples.push(at.duration_since(sent).as_micros() as u64),
            None => bail!("{label}: the subscriber stopped"),
        }
    }
    sub_task.abort();
    pub_task.abort();
    samples.sort_unstable();
    Ok(Samples(samples))
}

/// `hil bench tap`: prints p50/p99 publish round trips direct and through the tap, and returns their ratios
/// (tap / direct) at p50 and p99.
pub async fn tap_latency(spec: &BrokerSpec, messages: usize) -> Result<(f64, f64)> {
    let broker = Broker::start(spec).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let tap = Tap::start("127.0.0.1:0".parse()?, broker.upstream(), tx).await?;
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let direct = round_trips(&broker, broker.port, "direct", messages).await?;
    let tapped = round_trips(&broker, tap.addr.port(), "tap", messages).await?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "publish round trip, QoS 0, {messages} messages each, {} ({cores} cores)",
        broker.description
    );
    println!("{:<8} {:>10} {:>10}", "path", "p50 µs", "p99 µs");
    for (name, s) in [("direct", &direct), ("tap", &tapped)] {
        println!(
            "{name:<8} {:>10} {:>10}",
            s.percentile(0.5),
            s.percentile(0.99)
        );
    }
    let ratio = |p| tapped.percentile(p) as f64 / direct.percentile(p).max(1) as f64;
    println!(
        "tap/direct ratio: p50 {:.2}x, p99 {:.2}x",
        ratio(0.5),
        ratio(0.99)
    );
    Ok((ratio(0.5), ratio(0.99)))
}
