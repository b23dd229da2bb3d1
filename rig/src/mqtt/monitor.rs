//! The runner's subscriber on the firmware's topics, through the broker (rumqttc).

use super::broker::Broker;
use super::error::MonitorError;
use rumqttc::{
    AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS, TlsConfiguration, Transport,
};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A message the monitor received.
#[derive(Debug, Clone)]
pub struct Received {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

pub struct Monitor {
    _client: AsyncClient,
    task: JoinHandle<()>,
}

const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

impl Monitor {
    /// Connects, subscribes to `filter` and returns once the broker has acknowledged the subscription, so no
    /// message published afterwards is missed.
    pub async fn start(
        broker: &Broker,
        client_id: &str,
        filter: &str,
    ) -> Result<(Monitor, mpsc::Receiver<Received>), MonitorError> {
        let mut options = MqttOptions::new(client_id, broker.host.clone(), broker.port);
        options
            .set_credentials(
                broker.username.clone(),
                broker.password.expose().to_string(),
            )
            .set_keep_alive(Duration::from_secs(30))
            .set_clean_session(true)
            .set_max_packet_size(256 * 1024, 256 * 1024);
        if let Some(tls) = &broker.tls {
            options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                tls.clone(),
            )));
        }
        let (client, mut events) = AsyncClient::new(options, 64);
        client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .map_err(|error| MonitorError::Subscribe { error })?;
        tokio::time::timeout(SUBSCRIBE_TIMEOUT, wait_for_suback(&mut events, broker))
            .await
            .map_err(|error| MonitorError::NoSuback {
                broker: broker.description.clone(),
                within: SUBSCRIBE_TIMEOUT,
                error,
            })??;
        let (tx, rx) = mpsc::channel(1024);
        let resubscribe = client.clone();
        let filter = filter.to_string();
        let task = tokio::spawn(async move {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let received = Received {
                            topic: p.topic.clone(),
                            payload: p.payload.to_vec(),
                            retain: p.retain,
                        };
                        if tx.send(received).await.is_err() {
                            return;
                        }
                    }
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        // A reconnect with a clean session has lost the subscription.
                        let _ = resubscribe.try_subscribe(filter.clone(), QoS::AtLeastOnce);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!("monitor connection: {e}; reconnecting");
                        // Short: every wall-clock millisecond away is `speed` device milliseconds of readings missed.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok((
            Monitor {
                _client: client,
                task,
            },
            rx,
        ))
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn wait_for_suback(events: &mut EventLoop, broker: &Broker) -> Result<(), MonitorError> {
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::SubAck(_))) => return Ok(()),
            Ok(Event::Incoming(Packet::ConnAck(ack)))
                if ack.code != rumqttc::ConnectReturnCode::Success =>
            {
                return Err(MonitorError::Refused {
                    broker: broker.description.clone(),
                    code: ack.code,
                })
            }
            Ok(_) => {}
            Err(e) => {
                return Err(MonitorError::Connect {
                    broker: broker.description.clone(),
                    cause: super::tls::cause(&e, &broker.host),
                })
            }
        }
    }
}
