//! The MQTT tap: a TCP proxy between the boards and the broker that decodes MQTT 3.1.1 both ways (rumqttc's codec),
//! reports every packet as an event, and injects broker-side faults (the scenario faults README.md lists).

mod connection;
mod faults;
mod framing;

pub use faults::{TapFault, TapFaults};
pub use framing::{next_frame, Frame, MAX_PACKET};

use super::error::TapError;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ClientConfig;

/// Where the tap forwards each connection: the broker, over TLS for an mqtts broker (the boards themselves
/// always speak plain MQTT to the tap).
#[derive(Clone)]
pub struct Upstream {
    pub host: String,
    pub port: u16,
    pub tls: Option<Arc<ClientConfig>>,
}

impl From<(String, u16)> for Upstream {
    fn from((host, port): (String, u16)) -> Upstream {
        Upstream {
            host,
            port,
            tls: None,
        }
    }
}

/// Which side of the tap a packet or a close came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Broker,
    Tap,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Broker => "broker",
            Side::Tap => "tap",
        }
    }
}

/// What the tap saw. `client` is the MQTT client id once the CONNECT arrived, the peer address before; `conn` the
/// tap's number for the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum TapEvent {
    Connect {
        client: String,
        conn: u64,
        username: Option<String>,
        keepalive: u16,
        clean_session: bool,
        will_topic: Option<String>,
    },
    Connack {
        client: String,
        conn: u64,
        code: u8,
        /// The tap answered itself (a fault), the broker never saw the CONNECT.
        by_tap: bool,
    },
    Publish {
        client: String,
        conn: u64,
        topic: String,
        qos: u8,
        retain: bool,
        /// The DUP flag: a QoS 1 resend of a message the client sent before.
        dup: bool,
        /// 0 on QoS 0 messages, which carry none.
        pkid: u16,
        payload: Vec<u8>,
    },
    Puback {
        client: String,
        conn: u64,
        pkid: u16,
        from: Side,
        /// A `puback-drop` fault kept it from the client.
        dropped: bool,
    },
    PingReq {
        client: String,
        conn: u64,
    },
    PingResp {
        client: String,
        conn: u64,
    },
    Disconnect {
        client: String,
        conn: u64,
    },
    Close {
        client: String,
        conn: u64,
        by: Side,
        /// The client sent DISCONNECT before the connection ended.
        clean: bool,
        reason: String,
    },
    Garbage {
        client: String,
        conn: u64,
        from: Side,
        error: String,
    },
}

pub struct Tap {
    pub addr: SocketAddr,
    pub faults: Arc<TapFaults>,
    task: JoinHandle<()>,
}

impl Tap {
    /// Listens on `listen` and forwards each connection to `upstream` (the broker).
    pub async fn start(
        listen: SocketAddr,
        upstream: impl Into<Upstream>,
        events: mpsc::UnboundedSender<TapEvent>,
    ) -> Result<Tap, TapError> {
        let upstream = Arc::new(upstream.into());
        let cannot_listen = |error| TapError::Listen {
            addr: listen,
            error,
        };
        let listener = TcpListener::bind(listen).await.map_err(cannot_listen)?;
        let addr = listener.local_addr().map_err(cannot_listen)?;
        let faults = Arc::new(TapFaults::default());
        let shared = faults.clone();
        let task = tokio::spawn(async move {
            let mut id = 0;
            loop {
                let Ok((socket, peer)) = listener.accept().await else {
                    continue;
                };
                id += 1;
                let conn = connection::Connection {
                    id,
                    peer,
                    upstream: upstream.clone(),
                    faults: shared.clone(),
                    events: events.clone(),
                };
                tokio::spawn(conn.serve(socket));
            }
        });
        Ok(Tap { addr, faults, task })
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.task.abort();
    }
}
