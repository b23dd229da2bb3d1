//! What goes wrong with MQTT on the bench, by kind: the `--broker` choice ([`BrokerUrlError`]), starting or reaching
//! a broker ([`BrokerError`], with its TLS set-up in [`TlsError`]), a connection to it ([`ConnectError`]: the cause
//! in words a bench user can act on), the monitor ([`MonitorError`]) and the tap ([`TapError`]). Each message names
//! the broker or the step; the cause of a failure is part of the message, so `{:#}` does not repeat it.

use rumqttc::ConnectReturnCode;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;
use thiserror::Error;
use tokio::time::error::Elapsed;
use tokio_rustls::rustls::{self, pki_types::pem, AlertDescription, CertificateError};

const USAGE: &str =
    "expected `auto`, `embedded`, `mosquitto`, `mqtt://USER@HOST:PORT` or `mqtts://USER@HOST:PORT` \
     (password from HIL_MQTT_PASSWORD)";

/// Where a connection failure asks the user for a CA.
const CA_HINT: &str = "give the broker's CA with --broker-ca FILE or the rig file's ca_file";

/// Why `--broker` (or `--broker-ca` with it) names no broker; the message says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BrokerUrlError {
    #[error("unknown broker {url:?}: {}", USAGE)]
    UnknownBroker { url: String },
    #[error("{url:?} names no user: {}", USAGE)]
    NoUser { url: String },
    /// The URL is not echoed: it holds the password.
    #[error(
        "the broker URL carries a password; put it in HIL_MQTT_PASSWORD instead, never on the command line"
    )]
    Password,
    #[error("{url:?} names no port: {}", USAGE)]
    NoPort { url: String },
    #[error("{url:?}: port {port:?} is not a number 1-65535")]
    BadPort { url: String, port: String },
    #[error("{url:?}: {}", USAGE)]
    Empty { url: String },
    #[error("--broker-ca {} applies to an mqtts:// broker only", ca.display())]
    CaWithoutTls { ca: PathBuf },
}

/// Why a broker could not be started or set up.
#[derive(Debug, Error)]
pub enum BrokerError {
    #[error(
        "--broker with a URL takes its password from HIL_MQTT_PASSWORD, which is not set: {error}"
    )]
    NoPassword { error: std::env::VarError },
    #[error("{broker}: setting up TLS: {error}")]
    Tls { broker: String, error: TlsError },
    #[error("finding a free loopback port: {error}")]
    NoFreePort { error: io::Error },
    #[error("starting the embedded broker's thread: {error}")]
    EmbeddedThread { error: io::Error },
    #[error("{what} did not listen on 127.0.0.1:{port} within {within:?}")]
    NotListening {
        what: &'static str,
        port: u16,
        within: Duration,
    },
    #[error("{program} not found; install it with: apt-get install -y mosquitto")]
    NotInstalled { program: &'static str },
    /// A file of a spawned mosquitto's (its folder, config, password file or log) could not be made or read.
    #[error("{step}: {error}")]
    Files { step: String, error: io::Error },
    #[error("{step} {}: {error}", program.display())]
    Spawn {
        /// `running` (mosquitto_passwd) or `starting` (mosquitto).
        step: &'static str,
        program: PathBuf,
        error: io::Error,
    },
    #[error("{} ran past {within:?}: {error}", program.display())]
    PasswdTimeout {
        program: PathBuf,
        within: Duration,
        error: Elapsed,
    },
    #[error("mosquitto_passwd -U failed ({status}) on {}: {stderr}", file.display())]
    PasswdFailed {
        status: ExitStatus,
        file: PathBuf,
        stderr: String,
    },
    #[error(
        "mosquitto found each of {tries} free loopback ports taken by the time it bound it; see its log {}",
        log.display()
    )]
    PortsTaken { tries: u32, log: PathBuf },
    #[error("mosquitto exited ({status}) before listening on 127.0.0.1:{port}; see its log {}", log.display())]
    MosquittoExited {
        status: ExitStatus,
        port: u16,
        log: PathBuf,
    },
    #[error("mosquitto did not start on 127.0.0.1:{port} within {within:?}; see its log {}", log.display())]
    MosquittoSlow {
        port: u16,
        within: Duration,
        log: PathBuf,
    },
}

/// Why the TLS client configuration for an `mqtts://` broker could not be made: which CAs to trust.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("rustls has no TLS version in common with its ring provider: {error}")]
    NoProtocolVersion { error: rustls::Error },
    #[error(
        "no CA certificate found in the system's store (install ca-certificates, or give the broker's CA \
         with --broker-ca FILE or the rig file's ca_file){}",
        first_error.as_ref().map(|e| format!("; first error: {e}")).unwrap_or_default()
    )]
    NoSystemCa {
        first_error: Option<rustls_native_certs::Error>,
    },
    #[error("the broker's CA file {}: {error}", path.display())]
    CaFileUnreadable { path: PathBuf, error: pem::Error },
    #[error("the broker's CA file {} holds no PEM certificate", path.display())]
    CaFileEmpty { path: PathBuf },
    #[error("certificate {number} in the broker's CA file {} is not a usable CA: {error}", path.display())]
    NotACa {
        path: PathBuf,
        /// Counted from 1, in the file's order.
        number: usize,
        error: rustls::Error,
    },
}

/// Why a connection to the broker failed: the certificate, the name, a refusal, the protocol.
#[derive(Debug, Error)]
pub enum ConnectError {
    #[error("the connection was refused (nothing listens on that port?)")]
    Refused,
    #[error("{host:?} is neither a DNS name nor an IP address")]
    BadHostName { host: String },
    #[error(
        "certificate not trusted: the broker's certificate is not signed by a trusted CA; {}",
        CA_HINT
    )]
    Untrusted,
    #[error("certificate name mismatch: the broker's certificate is not valid for {host:?}")]
    NameMismatch { host: String },
    #[error("certificate expired: the broker's certificate is past its validity")]
    Expired,
    #[error("certificate not yet valid (is this machine's clock right?)")]
    NotYetValid,
    #[error("certificate rejected: {0:?}")]
    CertificateRejected(CertificateError),
    #[error("the broker ended the TLS handshake with the alert {0:?}")]
    Alert(AlertDescription),
    #[error(
        "the broker closed the connection during the TLS handshake (is that port a TLS listener?)"
    )]
    ClosedInHandshake,
    #[error("the broker does not speak TLS on that port (a plain mqtt:// listener?)")]
    NotTls,
    #[error("TLS: {0}")]
    Tls(rustls::Error),
    /// None of those: the failure's own words. Its error (rumqttc's or the socket's) is only lent to us, so its
    /// text is kept.
    #[error("{0}")]
    Other(String),
}

/// Why the monitor did not start.
#[derive(Debug, Error)]
pub enum MonitorError {
    #[error("queueing the monitor's subscription: {error}")]
    Subscribe { error: rumqttc::ClientError },
    #[error("the monitor got no SUBACK from {broker} within {within:?}: {error}")]
    NoSuback {
        broker: String,
        within: Duration,
        error: Elapsed,
    },
    #[error("{broker} refused the monitor: {code:?}")]
    Refused {
        broker: String,
        code: ConnectReturnCode,
    },
    #[error("the monitor could not connect to {broker}: {cause}")]
    Connect { broker: String, cause: ConnectError },
}

/// Why the tap did not start.
#[derive(Debug, Error)]
pub enum TapError {
    #[error("the MQTT tap cannot listen on {addr}: {error}")]
    Listen { addr: SocketAddr, error: io::Error },
}
