//! One board's connection through the tap: CONNECT first (where connect-time faults apply), then both directions
//! pumped packet by packet, each packet reported before it is forwarded.

use super::faults::TapFaults;
use super::framing::{next_frame, Frame, MAX_PACKET};
use super::{Side, TapEvent, Upstream};
use crate::mqtt::error::ConnectError;
use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{ConnAck, ConnectReturnCode, Packet};
use rumqttc::mqttbytes::QoS;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// A client that sends no CONNECT within this time is dropped (Mosquitto does the same).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Connection {
    /// The tap's number for this connection (1, 2, …): its events carry it, so a board's connections can be told
    /// apart however their events interleave.
    pub id: u64,
    pub peer: SocketAddr,
    pub upstream: Arc<Upstream>,
    pub faults: Arc<TapFaults>,
    pub events: mpsc::UnboundedSender<TapEvent>,
}

enum Read {
    Packet(Box<Packet>, bytes::Bytes),
    Closed,
    Garbage(String),
}

/// Reads until one whole packet is in `buf` (or the stream ends or is not MQTT).
async fn read_packet(stream: &mut (impl AsyncRead + Unpin), buf: &mut BytesMut) -> Read {
    loop {
        match next_frame(buf) {
            Frame::Packet(p, raw) => return Read::Packet(p, raw),
            Frame::Invalid(e) => return Read::Garbage(e),
            Frame::Incomplete => {}
        }
        if buf.len() > MAX_PACKET + 8 {
            return Read::Garbage("packet larger than the tap's limit".into());
        }
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return Read::Closed,
            Ok(_) => {}
        }
    }
}

fn code_of(code: ConnectReturnCode) -> u8 {
    match code {
        ConnectReturnCode::Success => 0,
        ConnectReturnCode::RefusedProtocolVersion => 1,
        ConnectReturnCode::BadClientId => 2,
        ConnectReturnCode::ServiceUnavailable => 3,
        ConnectReturnCode::BadUserNamePassword => 4,
        ConnectReturnCode::NotAuthorized => 5,
    }
}

fn return_code(code: u8) -> ConnectReturnCode {
    match code {
        0 => ConnectReturnCode::Success,
        1 => ConnectReturnCode::RefusedProtocolVersion,
        2 => ConnectReturnCode::BadClientId,
        3 => ConnectReturnCode::ServiceUnavailable,
        4 => ConnectReturnCode::BadUserNamePassword,
        _ => ConnectReturnCode::NotAuthorized,
    }
}

fn qos_of(q: QoS) -> u8 {
    match q {
        QoS::AtMostOnce => 0,
        QoS::AtLeastOnce => 1,
        QoS::ExactlyOnce => 2,
    }
}

/// The broker side of a connection: plain TCP, or TLS for an mqtts broker.
trait BrokerStream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<S: AsyncRead + AsyncWrite + Send + Unpin> BrokerStream for S {}

async fn connect_upstream(upstream: &Upstream) -> Result<Box<dyn BrokerStream>, ConnectError> {
    let host = upstream.host.as_str();
    let tcp = TcpStream::connect((host, upstream.port))
        .await
        .map_err(|e| crate::mqtt::tls::cause(&e, host))?;
    let _ = tcp.set_nodelay(true);
    match &upstream.tls {
        None => Ok(Box::new(tcp)),
        Some(config) => Ok(Box::new(
            crate::mqtt::tls::connect(config, host, tcp).await?,
        )),
    }
}

impl Connection {
    fn emit(&self, event: TapEvent) {
        let _ = self.events.send(event);
    }

    fn close(&self, client: &str, by: Side, clean: bool, reason: impl Into<String>) {
        self.emit(TapEvent::Close {
            client: client.into(),
            conn: self.id,
            by,
            clean,
            reason: reason.into(),
        });
    }

    pub async fn serve(self, socket: TcpStream) {
        let conn = self.id;
        let peer = self.peer.to_string();
        if self.faults.broker_down() {
            self.close(
                &peer,
                Side::Tap,
                false,
                "broker-down fault: connection refused",
            );
            return;
        }
        let (mut client_rx, mut client_tx) = socket.into_split();
        let mut client_buf = BytesMut::with_capacity(1024);
        let first = tokio::time::timeout(
            CONNECT_TIMEOUT,
            read_packet(&mut client_rx, &mut client_buf),
        )
        .await;
        let (connect, raw) = match first {
            Err(_) => return self.close(&peer, Side::Tap, false, "no CONNECT within 10 s"),
            Ok(Read::Closed) => {
                return self.close(&peer, Side::Client, false, "closed before CONNECT")
            }
            Ok(Read::Garbage(error)) => {
                self.emit(TapEvent::Garbage {
                    client: peer.clone(),
                    conn: self.id,
                    from: Side::Client,
                    error,
                });
                return self.close(&peer, Side::Tap, false, "not MQTT");
            }
            Ok(Read::Packet(p, raw)) => match *p {
                Packet::Connect(connect) => (connect, raw),
                other => {
                    self.emit(TapEvent::Garbage {
                        client: peer.clone(),
                        conn: self.id,
                        from: Side::Client,
                        error: format!("expected CONNECT first, got {other:?}"),
                    });
                    return self.close(&peer, Side::Tap, false, "no CONNECT first");
                }
            },
        };
        let client = connect.client_id.clone();
        self.emit(TapEvent::Connect {
            client: client.clone(),
            conn,
            username: connect.login.as_ref().map(|l| l.username.clone()),
            keepalive: connect.keep_alive,
            clean_session: connect.clean_session,
            will_topic: connect.last_will.as_ref().map(|w| w.topic.clone()),
        });
        let refusal = if self.faults.strict_keepalive() && connect.keep_alive == 0 {
            Some((
                2,
                "strict-keepalive: keepalive 0 refused as Mosquitto >= 2.0.12 does",
            ))
        } else {
            self.faults
                .refuse_rc()
                .map(|rc| (rc, "refuse-connect fault"))
        };
        if let Some((rc, reason)) = refusal {
            let mut out = BytesMut::new();
            if Packet::ConnAck(ConnAck::new(return_code(rc), false))
                .write(&mut out, MAX_PACKET)
                .is_ok()
            {
                let _ = client_tx.write_all(&out).await;
            }
            self.emit(TapEvent::Connack {
                client: client.clone(),
                conn,
                code: rc,
                by_tap: true,
            });
            let _ = client_tx.shutdown().await;
            return self.close(&client, Side::Tap, false, reason);
        }
        let upstream =
            match tokio::time::timeout(UPSTREAM_TIMEOUT, connect_upstream(&self.upstream)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    return self.close(
                        &client,
                        Side::Broker,
                        false,
                        format!("broker unreachable: {e}"),
                    )
                }
                Err(_) => {
                    return self.close(
                        &client,
                        Side::Broker,
                        false,
                        "broker did not accept within 5 s",
                    )
                }
            };
        let (broker_rx, mut broker_tx) = tokio::io::split(upstream);
        if broker_tx.write_all(&raw).await.is_err() {
            return self.close(&client, Side::Broker, false, "broker closed at once");
        }
        let (ended_tx, mut ended_rx) = mpsc::channel::<(Side, bool, String)>(2);
        // Either side may close first after a DISCONNECT (the broker usually does): both pumps must know it.
        let disconnected = Arc::new(AtomicBool::new(false));
        let up = self.pump(
            Side::Client,
            client.clone(),
            (client_rx, client_buf),
            broker_tx,
            disconnected.clone(),
            ended_tx.clone(),
        );
        let down = self.pump(
            Side::Broker,
            client.clone(),
            (broker_rx, BytesMut::new()),
            client_tx,
            disconnected,
            ended_tx,
        );
        let up = tokio::spawn(up);
        let down = tokio::spawn(down);
        let (by, clean, reason) =
            ended_rx
                .recv()
                .await
                .unwrap_or((Side::Tap, false, "tap stopped".into()));
        up.abort();
        down.abort();
        self.close(&client, by, clean, reason);
    }

    /// Forwards packets from one side to the other, reporting each; tells `ended` who closed and why.
    fn pump(
        &self,
        from: Side,
        client: String,
        (mut rx, mut buf): (impl AsyncRead + Unpin + Send + 'static, BytesMut),
        mut tx: impl AsyncWrite + Unpin + Send + 'static,
        disconnected: Arc<AtomicBool>,
        ended: mpsc::Sender<(Side, bool, String)>,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let events = self.events.clone();
        let faults = self.faults.clone();
        let conn = self.id;
        async move {
            let emit = |e: TapEvent| {
                let _ = events.send(e);
            };
            // Packet ids whose PUBACK a `puback-drop` fault already dropped on this connection.
            let mut dropped_pubacks = HashSet::new();
            let clean = || disconnected.load(Ordering::SeqCst);
            let end = loop {
                if faults.broker_down() {
                    break (
                        Side::Tap,
                        clean(),
                        "broker-down fault: connection dropped".to_string(),
                    );
                }
                let (packet, raw) = match read_packet(&mut rx, &mut buf).await {
                    Read::Packet(p, raw) => (p, raw),
                    Read::Closed => {
                        let why = if clean() {
                            "closed after DISCONNECT"
                        } else {
                            "connection closed"
                        };
                        break (from, clean(), why.to_string());
                    }
                    Read::Garbage(error) => {
                        emit(TapEvent::Garbage {
                            client: client.clone(),
                            conn,
                            from,
                            error,
                        });
                        break (Side::Tap, false, "not MQTT".to_string());
                    }
                };
                let mut drop_after = false;
                match *packet {
                    Packet::ConnAck(ack) => {
                        emit(TapEvent::Connack {
                            client: client.clone(),
                            conn,
                            code: code_of(ack.code),
                            by_tap: false,
                        });
                        drop_after = faults.drop_after_connect();
                    }
                    Packet::Publish(p) => emit(TapEvent::Publish {
                        client: client.clone(),
                        conn,
                        topic: p.topic.clone(),
                        qos: qos_of(p.qos),
                        retain: p.retain,
                        dup: p.dup,
                        pkid: p.pkid,
                        payload: p.payload.to_vec(),
                    }),
                    Packet::PubAck(ack) => {
                        let from_broker = from == Side::Broker;
                        let dropped =
                            from_broker && faults.puback_drop() && dropped_pubacks.insert(ack.pkid);
                        let hold = if from_broker && !dropped {
                            faults.puback_delay_ms()
                        } else {
                            0
                        };
                        if hold > 0 {
                            // Reported once it goes on: a client that closes meanwhile never got it.
                            tokio::time::sleep(Duration::from_millis(hold)).await;
                        }
                        emit(TapEvent::Puback {
                            client: client.clone(),
                            conn,
                            pkid: ack.pkid,
                            from,
                            dropped,
                        });
                        if dropped {
                            continue;
                        }
                    }
                    Packet::PingReq => emit(TapEvent::PingReq {
                        client: client.clone(),
                        conn,
                    }),
                    Packet::PingResp => emit(TapEvent::PingResp {
                        client: client.clone(),
                        conn,
                    }),
                    Packet::Disconnect => {
                        disconnected.store(true, Ordering::SeqCst);
                        emit(TapEvent::Disconnect {
                            client: client.clone(),
                            conn,
                        });
                    }
                    _ => {}
                }
                let delay = faults.delay_ms();
                if delay > 0 {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                }
                if tx.write_all(&raw).await.is_err() {
                    if from == Side::Broker {
                        // The client closed. What it sent before closing (its DISCONNECT) may still wait to be
                        // read: the client's pump reads it and reports the end.
                        return;
                    }
                    break (Side::Broker, clean(), "connection closed".to_string());
                }
                if drop_after {
                    break (Side::Tap, false, "drop-after-connect fault".to_string());
                }
            };
            let _ = tx.shutdown().await;
            let _ = ended.send(end).await;
        }
    }
}
