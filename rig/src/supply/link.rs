//! The connection to an instrument, shared by the drivers: one exchange at a time, opened on first use, kept
//! only while it is in step (a call cut short or answered wrongly may leave a late reply on the line), reopened
//! once when a used connection turns out dead, and every call bounded in time. A driver supplies the wire
//! protocol: how a fresh port is readied and how one request is exchanged.

use super::address::Address;
use super::error::SupplyError;
use super::port::Port;
use async_trait::async_trait;
use std::fmt::Display;
use std::future::Future;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Every driver call, connecting and reading back included, answers within this (wall-clock) time.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// The instrument at the other end, as errors name it.
pub(crate) struct Endpoint {
    pub instrument: String,
    pub address: Address,
}

impl Endpoint {
    /// Instrument `instrument` at `address`; a `serial://` address without `?baud=` gets `default_baud`.
    pub fn parse(instrument: &str, address: &str, default_baud: u32) -> Result<Self, SupplyError> {
        let address = Address::parse(address, default_baud).map_err(|e| SupplyError::Address {
            instrument: instrument.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Endpoint {
            instrument: instrument.to_string(),
            address,
        })
    }

    /// The link failed under `command`.
    pub fn dropped(&self, command: impl Display, error: std::io::Error) -> SupplyError {
        SupplyError::LinkDropped {
            instrument: self.instrument.clone(),
            command: command.to_string(),
            address: self.address.clone(),
            error,
        }
    }

    /// `command` was answered with something else than it asks for.
    pub fn bad_reply(&self, command: impl Display, answer: impl Into<String>) -> SupplyError {
        SupplyError::BadReply {
            instrument: self.instrument.clone(),
            command: command.to_string(),
            after: None,
            answer: answer.into(),
        }
    }
}

/// Keeps commands apart by at least the instrument's gap, across reconnections too.
pub(crate) struct Pacer {
    gap: Duration,
    last: Option<Instant>,
}

impl Pacer {
    /// Waits until `gap` has passed since the last [`Pacer::mark`].
    pub async fn wait(&self) {
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + self.gap).await;
        }
    }

    pub fn mark(&mut self) {
        self.last = Some(Instant::now());
    }
}

/// A driver's wire protocol.
#[async_trait]
pub(crate) trait Protocol: Send + Sync {
    type Connection: Send;
    /// Shown as the command in errors.
    type Request: Display + Sync;
    type Reply: Send;

    /// Readies a freshly opened port (an SCPI error queue emptied, a Riden's model checked).
    async fn dial(
        &self,
        at: &Endpoint,
        port: Port,
        pacer: &mut Pacer,
    ) -> Result<Self::Connection, SupplyError>;

    /// One request over a ready connection.
    async fn exchange(
        &self,
        at: &Endpoint,
        connection: &mut Self::Connection,
        pacer: &mut Pacer,
        request: &Self::Request,
    ) -> Result<Self::Reply, SupplyError>;
}

pub(crate) struct Link<P: Protocol> {
    at: Endpoint,
    protocol: P,
    state: Mutex<State<P::Connection>>,
}

struct State<C> {
    /// Taken out for the length of an exchange: a call cut short drops it, so it is never reused.
    connection: Option<C>,
    pacer: Pacer,
}

impl<P: Protocol> Link<P> {
    /// A link to `at` speaking `protocol`, commands at least `gap` apart. Nothing is opened until the first call.
    pub fn new(at: Endpoint, protocol: P, gap: Duration) -> Self {
        Link {
            at,
            protocol,
            state: Mutex::new(State {
                connection: None,
                pacer: Pacer { gap, last: None },
            }),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.at
    }

    /// One bounded call: connects if needed and exchanges; when a used connection turns out dead, reconnects once
    /// and exchanges again.
    pub async fn call(&self, request: &P::Request) -> Result<P::Reply, SupplyError> {
        let command = request.to_string();
        let attempt = async {
            let mut state = self.state.lock().await;
            let state = &mut *state;
            let connection = match state.connection.take() {
                Some(used) => match self.exchange(used, state, request).await {
                    Err(e) if e.is_link_failure() => {
                        tracing::warn!("{e}; reconnecting once");
                        self.connect(&mut state.pacer).await.map_err(|error| {
                            SupplyError::Reconnect {
                                instrument: self.at.instrument.clone(),
                                command: command.clone(),
                                error: Box::new(error),
                            }
                        })?
                    }
                    answered => return answered,
                },
                None => self.connect(&mut state.pacer).await?,
            };
            self.exchange(connection, state, request).await
        };
        bounded(&self.at, &command, attempt).await
    }

    async fn connect(&self, pacer: &mut Pacer) -> Result<P::Connection, SupplyError> {
        let port = Port::open(&self.at.address)
            .await
            .map_err(|error| SupplyError::Connect {
                instrument: self.at.instrument.clone(),
                address: self.at.address.clone(),
                error,
            })?;
        self.protocol.dial(&self.at, port, pacer).await
    }

    /// Exchanges over `connection`, which is kept for the next call only if it is still in step.
    async fn exchange(
        &self,
        mut connection: P::Connection,
        state: &mut State<P::Connection>,
        request: &P::Request,
    ) -> Result<P::Reply, SupplyError> {
        let reply = self
            .protocol
            .exchange(&self.at, &mut connection, &mut state.pacer, request)
            .await;
        if reply
            .as_ref()
            .err()
            .is_none_or(SupplyError::leaves_link_in_step)
        {
            state.connection = Some(connection);
        }
        reply
    }
}

/// Runs `call` within [`CALL_TIMEOUT`]; a call that takes longer is an error naming the instrument, the command
/// and where it was sent.
async fn bounded<T>(
    at: &Endpoint,
    command: &str,
    call: impl Future<Output = Result<T, SupplyError>>,
) -> Result<T, SupplyError> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(SupplyError::Timeout {
                instrument: at.instrument.clone(),
                command: command.to_string(),
                address: at.address.clone(),
                secs: CALL_TIMEOUT.as_secs_f64(),
            })
        })
}
