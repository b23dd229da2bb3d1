//! The broker the boards publish to: embedded (rumqttd in-process, no install), a spawned system `mosquitto`
//! with a generated config and password file, or an existing broker given by URL (`mqtts://` over TLS).

use super::error::{BrokerError, BrokerUrlError};
use super::tap::Upstream;
use super::tls::{client_config, TlsTrust};
use crate::secret::Secret;
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use tokio_rustls::rustls::ClientConfig;

/// Which broker to use, as given on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum BrokerSpec {
    Embedded,
    Mosquitto,
    External {
        host: String,
        port: u16,
        username: String,
        /// Some for `mqtts://`: which CAs to trust.
        tls: Option<TlsTrust>,
    },
}

impl BrokerSpec {
    /// Trusts only the CA in `ca_file` (`--broker-ca`); only an `mqtts://` broker takes one.
    pub fn with_ca(self, ca_file: Option<PathBuf>) -> Result<BrokerSpec, BrokerUrlError> {
        match (self, ca_file) {
            (spec, None) => Ok(spec),
            (
                BrokerSpec::External {
                    host,
                    port,
                    username,
                    tls: Some(_),
                },
                Some(ca),
            ) => Ok(BrokerSpec::External {
                host,
                port,
                username,
                tls: Some(TlsTrust::CaFile(ca)),
            }),
            (_, Some(ca)) => Err(BrokerUrlError::CaWithoutTls { ca }),
        }
    }
}

impl FromStr for BrokerSpec {
    type Err = BrokerUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "embedded" => Ok(BrokerSpec::Embedded),
            "mosquitto" => Ok(BrokerSpec::Mosquitto),
            // The field's broker where it is installed: scenarios that need its CONNACK codes then run.
            "auto"
                if find_program("mosquitto").is_some()
                    && find_program("mosquitto_passwd").is_some() =>
            {
                Ok(BrokerSpec::Mosquitto)
            }
            "auto" => Ok(BrokerSpec::Embedded),
            url => parse_url(url),
        }
    }
}

fn parse_url(url: &str) -> Result<BrokerSpec, BrokerUrlError> {
    let url_owned = || url.to_string();
    let (tls, rest) = match (url.strip_prefix("mqtt://"), url.strip_prefix("mqtts://")) {
        (Some(rest), _) => (None, rest),
        (_, Some(rest)) => (Some(TlsTrust::System), rest),
        _ => return Err(BrokerUrlError::UnknownBroker { url: url_owned() }),
    };
    let (user, hostport) = rest
        .split_once('@')
        .ok_or_else(|| BrokerUrlError::NoUser { url: url_owned() })?;
    if user.contains(':') {
        return Err(BrokerUrlError::Password);
    }
    let (host, port) = hostport
        .rsplit_once(':')
        .ok_or_else(|| BrokerUrlError::NoPort { url: url_owned() })?;
    let port = port.parse::<u16>().map_err(|_| BrokerUrlError::BadPort {
        url: url_owned(),
        port: port.into(),
    })?;
    if user.is_empty() || host.is_empty() {
        return Err(BrokerUrlError::Empty { url: url_owned() });
    }
    Ok(BrokerSpec::External {
        host: host.into(),
        port,
        username: user.into(),
        tls,
    })
}

/// A running (or reachable) broker and the credentials boards and monitor use.
pub struct Broker {
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: Secret,
    /// Human description for the run's header, without secrets.
    pub description: String,
    /// Set for an `mqtts://` broker: the monitor and the tap's upstream connections use it.
    pub tls: Option<Arc<ClientConfig>>,
    _keep: Keep,
}

enum Keep {
    /// rumqttd's threads live as long as the process; it has no shutdown call.
    Embedded,
    Mosquitto(Box<SpawnedMosquitto>),
    External,
}

struct SpawnedMosquitto {
    _child: Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

const RIG_USER: &str = "hil-rig";
const START_TIMEOUT: Duration = Duration::from_secs(10);

impl Broker {
    pub async fn start(spec: &BrokerSpec) -> Result<Broker, BrokerError> {
        match spec {
            BrokerSpec::Embedded => start_embedded().await,
            BrokerSpec::Mosquitto => start_mosquitto().await,
            BrokerSpec::External {
                host,
                port,
                username,
                tls,
            } => {
                let password = std::env::var("HIL_MQTT_PASSWORD")
                    .map_err(|error| BrokerError::NoPassword { error })?;
                Broker::external(host, *port, username, Secret::new(password), tls.as_ref())
            }
        }
    }

    /// An existing broker, over TLS when `tls` says which CAs to trust; the password came from the environment
    /// or a rig file's secret reference.
    pub fn external(
        host: &str,
        port: u16,
        username: &str,
        password: Secret,
        tls: Option<&TlsTrust>,
    ) -> Result<Broker, BrokerError> {
        let scheme = if tls.is_some() { "mqtts" } else { "mqtt" };
        let description = format!("external broker {scheme}://{username}@{host}:{port}");
        let tls = tls
            .map(client_config)
            .transpose()
            .map_err(|error| BrokerError::Tls {
                broker: description.clone(),
                error,
            })?;
        Ok(Broker {
            host: host.into(),
            port,
            username: username.into(),
            password,
            description,
            tls,
            _keep: Keep::External,
        })
    }

    /// Where the tap forwards the boards' connections: this broker, over TLS when it is mqtts.
    pub fn upstream(&self) -> Upstream {
        Upstream {
            host: self.host.clone(),
            port: self.port,
            tls: self.tls.clone(),
        }
    }

    /// Mosquitto's own log, where it logs each CONNECT with its keepalive (`k60`); None for other brokers.
    pub fn log_file(&self) -> Option<&Path> {
        match &self._keep {
            Keep::Mosquitto(m) => Some(&m.log),
            _ => None,
        }
    }
}

fn free_loopback_port() -> Result<u16, BrokerError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|error| BrokerError::NoFreePort { error })
}

async fn wait_until_listening(port: u16, what: &'static str) -> Result<(), BrokerError> {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(BrokerError::NotListening {
        what,
        port,
        within: START_TIMEOUT,
    })
}

async fn start_embedded() -> Result<Broker, BrokerError> {
    let port = free_loopback_port()?;
    let password = Secret::generate();
    let config = embedded_config(port, &password);
    std::thread::Builder::new()
        .name("rumqttd".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!("embedded broker stopped: {e}");
            }
        })
        .map_err(|error| BrokerError::EmbeddedThread { error })?;
    wait_until_listening(port, "the embedded broker (rumqttd)").await?;
    Ok(Broker {
        host: "127.0.0.1".into(),
        port,
        username: RIG_USER.into(),
        password,
        description: format!("embedded rumqttd on 127.0.0.1:{port}"),
        tls: None,
        _keep: Keep::Embedded,
    })
}

fn embedded_config(port: u16, password: &Secret) -> rumqttd::Config {
    let connections = rumqttd::ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: 64 * 1024,
        max_inflight_count: 100,
        auth: Some(HashMap::from([(
            RIG_USER.to_string(),
            password.expose().to_string(),
        )])),
        external_auth: None,
        dynamic_filters: true,
    };
    let server = rumqttd::ServerSettings {
        name: "hil-v4".into(),
        listen: SocketAddr::from(([127, 0, 0, 1], port)),
        tls: None,
        next_connection_delay_ms: 0,
        connections,
    };
    rumqttd::Config {
        id: 0,
        router: rumqttd::RouterConfig {
            max_connections: 1024,
            max_outgoing_packet_count: 200,
            max_segment_size: 1024 * 1024,
            max_segment_count: 10,
            ..Default::default()
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Default::default()
    }
}

/// Finds a system program; Debian puts mosquitto in /usr/sbin, which a non-root PATH may lack.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Ports a spawned mosquitto is tried on before giving up: a port found free is released before mosquitto binds
/// it, so another process can take it in between.
const PORT_TRIES: u32 = 5;

async fn start_mosquitto() -> Result<Broker, BrokerError> {
    start_mosquitto_on(free_loopback_port).await
}

/// Starts mosquitto on the port `pick` gives, and on a new one each time another process took it first.
async fn start_mosquitto_on(
    mut pick: impl FnMut() -> Result<u16, BrokerError>,
) -> Result<Broker, BrokerError> {
    let installed = |program| find_program(program).ok_or(BrokerError::NotInstalled { program });
    let mosquitto = installed("mosquitto")?;
    let passwd = installed("mosquitto_passwd")?;
    let dir = crate::scratch::tempdir("mosquitto-").map_err(|error| BrokerError::Files {
        step: "making mosquitto's folder".into(),
        error,
    })?;
    let password = Secret::generate();
    let password_file = dir.path().join("passwd");
    // Written in clear, then hashed in place by mosquitto_passwd -U, so the password is never on a command line.
    std::fs::write(
        &password_file,
        format!("{RIG_USER}:{}\n", password.expose()),
    )
    .map_err(|error| files(format!("writing {}", password_file.display()), error))?;
    let mut hash = Command::new(&passwd);
    hash.arg("-U")
        .arg(&password_file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let hashed = crate::process::spawn(hash)
        .await
        .map_err(|error| BrokerError::Spawn {
            step: "running",
            program: passwd.clone(),
            error,
        })?;
    let out = tokio::time::timeout(START_TIMEOUT, hashed.wait_with_output())
        .await
        .map_err(|error| BrokerError::PasswdTimeout {
            program: passwd.clone(),
            within: START_TIMEOUT,
            error,
        })?
        .map_err(|error| files(format!("waiting for {}", passwd.display()), error))?;
    if !out.status.success() {
        return Err(BrokerError::PasswdFailed {
            status: out.status,
            file: password_file,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let log = dir.path().join("mosquitto.log");
    for attempt in 1..=PORT_TRIES {
        let port = pick()?;
        let Some(child) = spawn_mosquitto(&mosquitto, dir.path(), &password_file, port).await?
        else {
            tracing::warn!(
                "mosquitto could not bind 127.0.0.1:{port}: another process took it after it was found free; \
                 trying another port ({attempt} of {PORT_TRIES})"
            );
            continue;
        };
        return Ok(Broker {
            host: "127.0.0.1".into(),
            port,
            username: RIG_USER.into(),
            password,
            description: format!("mosquitto ({}) on 127.0.0.1:{port}", mosquitto.display()),
            tls: None,
            _keep: Keep::Mosquitto(Box::new(SpawnedMosquitto {
                _child: child,
                _dir: dir,
                log,
            })),
        });
    }
    Err(BrokerError::PortsTaken {
        tries: PORT_TRIES,
        log,
    })
}

fn files(step: String, error: std::io::Error) -> BrokerError {
    BrokerError::Files { step, error }
}

/// Mosquitto on `port` with the config and password file in `dir`, once it says it is running; None when the
/// port was taken and it exited.
async fn spawn_mosquitto(
    mosquitto: &Path,
    dir: &Path,
    password_file: &Path,
    port: u16,
) -> Result<Option<Child>, BrokerError> {
    let log = dir.join("mosquitto.log");
    let log_file = std::fs::File::create(&log)
        .map_err(|error| files(format!("creating {}", log.display()), error))?;
    let config = dir.join("mosquitto.conf");
    std::fs::write(
        &config,
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\npersistence false\n\
             log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\n\
             connection_messages true\n{}",
            password_file.display(),
            // As root, mosquitto would switch to its own user, which clears the parent-death signal (and could
            // not read our folder): stay root, so it dies with the run.
            if unsafe { libc::geteuid() } == 0 { "user root\n" } else { "" },
        ),
    )
    .map_err(|error| files(format!("writing {}", config.display()), error))?;
    let mut command = Command::new(mosquitto);
    crate::process::die_with_parent(&mut command)
        .arg("-c")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // Run as root, mosquitto drops to its own user and could not open a log file in our folder itself.
        .stderr(log_file)
        .kill_on_drop(true);
    let mut child = crate::process::spawn(command)
        .await
        .map_err(|error| BrokerError::Spawn {
            step: "starting",
            program: mosquitto.to_path_buf(),
            error,
        })?;
    // Its log, not a connection, says it is up: a connection could reach whoever took the port instead.
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        let exited = child
            .try_wait()
            .map_err(|error| files("waiting for mosquitto".into(), error))?;
        if let Some(status) = exited {
            if said.contains("Address already in use") {
                return Ok(None);
            }
            return Err(BrokerError::MosquittoExited { status, port, log });
        }
        if said.lines().any(|line| line.ends_with(" running")) {
            return Ok(Some(child));
        }
        if Instant::now() >= deadline {
            return Err(BrokerError::MosquittoSlow {
                port,
                within: START_TIMEOUT,
                log,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn mosquitto_moves_to_another_port_when_its_port_is_taken() {
        // Another process's listener on the port the broker picks first, as if it took the port in between.
        let thief = TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = thief.local_addr().unwrap().port();
        let mut picked = Vec::new();
        let broker = start_mosquitto_on(|| {
            let port = if picked.is_empty() {
                taken
            } else {
                free_loopback_port()?
            };
            picked.push(port);
            Ok(port)
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            picked.len(),
            2,
            "one more try after the taken port: {picked:?}"
        );
        assert_eq!(broker.port, picked[1]);
        assert_ne!(broker.port, taken);
        // It is mosquitto that listens there, with the generated password.
        let (_monitor, _rx) = crate::mqtt::Monitor::start(&broker, "port-retry", "x/#")
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let log = std::fs::read_to_string(broker.log_file().unwrap()).unwrap();
        assert!(log.contains(&format!("port {}", broker.port)), "{log}");
    }

    #[test]
    fn parses_broker_choices() {
        assert_eq!("embedded".parse(), Ok(BrokerSpec::Embedded));
        assert_eq!("mosquitto".parse(), Ok(BrokerSpec::Mosquitto));
        assert_eq!(
            "mqtt://rig@127.0.0.1:1883".parse(),
            Ok(BrokerSpec::External {
                host: "127.0.0.1".into(),
                port: 1883,
                username: "rig".into(),
                tls: None,
            })
        );
        let tls = "mqtts://rig@broker.lab:8883".parse::<BrokerSpec>().unwrap();
        assert!(matches!(
            &tls,
            BrokerSpec::External {
                tls: Some(TlsTrust::System),
                port: 8883,
                ..
            }
        ));
        let ca = tls.with_ca(Some("lab-ca.pem".into())).unwrap();
        assert!(matches!(
            ca,
            BrokerSpec::External {
                tls: Some(TlsTrust::CaFile(_)),
                ..
            }
        ));
    }

    #[test]
    fn a_ca_file_needs_an_mqtts_broker() {
        let plain = "mqtt://rig@h:1883".parse::<BrokerSpec>().unwrap();
        let err = plain.with_ca(Some("ca.pem".into())).unwrap_err();
        assert!(err.to_string().contains("mqtts://"), "{err}");
        assert!(BrokerSpec::Embedded.with_ca(Some("ca.pem".into())).is_err());
    }

    #[test]
    fn refuses_passwords_in_urls_and_bad_ports() {
        for url in ["mqtt://rig:pw@h:1", "mqtts://rig:pw@h:1"] {
            let err = url.parse::<BrokerSpec>().unwrap_err().to_string();
            assert!(err.contains("HIL_MQTT_PASSWORD"), "{err}");
            assert!(
                !err.contains("pw@"),
                "the password must not be echoed: {err}"
            );
        }
        assert!("mqtt://rig@h:99999".parse::<BrokerSpec>().is_err());
        assert!("tcp://h:1".parse::<BrokerSpec>().is_err());
    }
}
