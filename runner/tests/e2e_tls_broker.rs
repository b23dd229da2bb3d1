//! End to end against a Mosquitto whose only listener speaks TLS, with a CA and server certificate made here
//! (rcgen): `hil run --broker mqtts://… --broker-ca` passes (the monitor and the tap's upstream connections both
//! use TLS; the boards still speak plain MQTT to the tap), and an untrusted certificate, a name mismatch or a
//! refusal fail the run with exit 2 and say which.

mod common;
use common::*;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use std::path::{Path, PathBuf};

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A CA written to `dir/NAME-ca.pem`, and a server certificate for `names` it signed, in `dir/NAME.pem` and
/// `dir/NAME.key`; returns the three paths.
fn write_pki(dir: &Path, name: &str, names: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    let ca = make_ca(&format!("hil test CA {name}"));
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, names[0]);
    let cert = params.signed_by(&key, &ca).unwrap();
    let paths = (
        dir.join(format!("{name}-ca.pem")),
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, cert.pem()).unwrap();
    std::fs::write(&paths.2, key.serialize_pem()).unwrap();
    paths
}

fn scenario(fx: &Fixture) -> PathBuf {
    fx.write("s/tls.toml", &short_scenario("tls", 13.6, 0, ""))
}

/// `hil run` on the short scenario against `url`, with `extra` arguments and environment.
fn run(
    fx: &Fixture,
    url: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Output, PathBuf) {
    let report = fx.path("report");
    let mut args = vec!["--broker", url];
    args.extend_from_slice(extra);
    (run_hil(&scenario(fx), &report, &args, env), report)
}

#[test]
fn a_run_through_an_mqtts_broker_passes_with_its_ca() {
    let fx = Fixture::new();
    let (ca, cert, key) = write_pki(fx.dir.path(), "lab", &["localhost", "127.0.0.1"]);
    let broker = Mosquitto::start_tls(&cert, &key, &ca);
    let (out, report) = run(
        &fx,
        &broker.url(),
        &["--broker-ca", ca.to_str().unwrap()],
        &[("HIL_MQTT_PASSWORD", &broker.password)],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(
        all.contains("external broker mqtts://bench@127.0.0.1"),
        "{all}"
    );

    let events = std::fs::read_to_string(report.join("tls/events.jsonl")).unwrap();
    let readings = events
        .lines()
        .filter(|l| l.contains("\"kind\":\"reading\""))
        .count();
    assert!(readings >= 4, "expected ≥ 4 readings, got {readings}");
    // The board's CONNACK came from the broker through the tap's TLS connection (the only way onto that port).
    assert!(
        events
            .lines()
            .any(|l| l.contains("\"kind\":\"mqtt.connack\"")
                && l.contains("\"code\":0")
                && l.contains("\"source\":\"tap\"")),
        "no CONNACK 0 seen by the tap:\n{events}"
    );
    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    assert!(junit.contains("failures=\"0\" errors=\"0\""), "{junit}");
    let log = broker.log();
    assert!(log.contains("as twin-0"), "mosquitto log:\n{log}");
    assert!(
        !all.contains(&broker.password),
        "the output holds the password"
    );
}

/// Runs against `url`, expects exit 2 with `cause` in the output, no panic and no password.
fn assert_fails_with(fx: &Fixture, url: &str, extra: &[&str], env: &[(&str, &str)], cause: &str) {
    let (out, _) = run(fx, url, extra, env);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains(cause), "expected {cause:?} in:\n{all}");
    assert!(!all.contains("panicked"), "{all}");
    for (_, secret) in env {
        assert!(!all.contains(secret), "the output holds a secret:\n{all}");
    }
}

#[test]
fn an_untrusted_certificate_fails_the_run_and_says_so() {
    let fx = Fixture::new();
    let (ca, cert, key) = write_pki(fx.dir.path(), "lab", &["localhost", "127.0.0.1"]);
    let (other_ca, _, _) = write_pki(fx.dir.path(), "other", &["localhost"]);
    let broker = Mosquitto::start_tls(&cert, &key, &ca);
    let password = ("HIL_MQTT_PASSWORD", broker.password.as_str());
    // A CA file that did not sign the broker's certificate.
    assert_fails_with(
        &fx,
        &broker.url(),
        &["--broker-ca", other_ca.to_str().unwrap()],
        &[password],
        "certificate not trusted",
    );
    // No CA file: the system's store, here pointed (as rustls-native-certs allows) at a store without the lab CA.
    assert_fails_with(
        &fx,
        &broker.url(),
        &[],
        &[password, ("SSL_CERT_FILE", other_ca.to_str().unwrap())],
        "certificate not trusted",
    );
}

#[test]
fn a_name_mismatch_and_a_refusal_are_named() {
    let fx = Fixture::new();
    let (ca, cert, key) = write_pki(fx.dir.path(), "lab", &["broker.lab.invalid"]);
    let broker = Mosquitto::start_tls(&cert, &key, &ca);
    let password = ("HIL_MQTT_PASSWORD", broker.password.as_str());
    let ca_arg = ["--broker-ca", ca.to_str().unwrap()];
    assert_fails_with(
        &fx,
        &broker.url(),
        &ca_arg,
        &[password],
        "certificate name mismatch",
    );
    let closed = closed_port();
    assert_fails_with(
        &fx,
        &format!("mqtts://bench@127.0.0.1:{closed}"),
        &ca_arg,
        &[password],
        "refused",
    );
}

/// A rig file whose `[broker]` is `url` with `ca_file`, and whose supply is a closed loopback port.
fn rig_file(fx: &Fixture, url: &str, ca: &Path) -> PathBuf {
    let closed = closed_port();
    fx.write(
        "rig.toml",
        &format!(
            r#"[supply.psu1]
driver = "scpi"
model = "rigol-dp832"
address = "tcp://127.0.0.1:{closed}"
channels = {{ 1 = {{ max_volts = 15.0, max_amps = 1.0 }} }}

[[board]]
name = "esp-a"
chip = "esp8266"
mac = "5c:cf:7f:12:34:56"
port = "/dev/null"
supply = "psu1:1"

[broker]
url = "{url}"
username = "bench"
password_env = "HIL_MQTT_PASSWORD"
ca_file = "{}"
"#,
            ca.display()
        ),
    )
}

/// `hil run --rig` with a rig file naming `url` and `ca`: it must fail with exit 2 (the rig has no supply);
/// returns its output.
fn run_rig(fx: &Fixture, url: &str, ca: &Path, password: &str) -> String {
    let rig = rig_file(fx, url, ca);
    // No --speed: a rig runs in real time, and hil refuses a speed with --rig.
    let (scenario, report) = (scenario(fx), fx.path("report"));
    let out = hil(
        &rig_run_args(&rig, &scenario, &report),
        &[("HIL_MQTT_PASSWORD", password)],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        !all.contains(password),
        "the output holds the password:\n{all}"
    );
    all
}

#[test]
fn a_rig_files_mqtts_broker_uses_its_ca_file() {
    let fx = Fixture::new();
    let (ca, cert, key) = write_pki(fx.dir.path(), "lab", &["localhost", "127.0.0.1"]);
    let (other_ca, _, _) = write_pki(fx.dir.path(), "other", &["localhost"]);
    let broker = Mosquitto::start_tls(&cert, &key, &ca);
    let url = format!("mqtts://127.0.0.1:{}", broker.port);

    let all = run_rig(&fx, &url, &other_ca, &broker.password);
    assert!(all.contains("certificate not trusted"), "{all}");

    // With the right CA the monitor connects over TLS and the run gets as far as the (absent) supply.
    let all = run_rig(&fx, &url, &ca, &broker.password);
    assert!(!all.contains("monitor could not connect"), "{all}");
    assert!(all.contains("psu1: connecting to tcp://127.0.0.1"), "{all}");
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
