//! The rig's broker and the tap in front of it, checked: the broker accepts the rig's credentials, and so does
//! it through a tap started as a run starts it (the path the boards take).

use super::finding::{Checkup, Finding};
use crate::rigfile::{BrokerEntry, RigFile, SecretRef};
use rig::mqtt::{Broker, Monitor, MonitorError, Tap};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Bound on one connection and subscription, over the monitor's own.
const CONNECT_LIMIT: Duration = Duration::from_secs(20);

/// Where a secret is read from, as a fix names it.
pub fn secret_source(secret: &SecretRef) -> String {
    match secret {
        SecretRef::Env(var) => format!("the environment variable {var}"),
        SecretRef::File(path) => format!("the file {}", path.display()),
    }
}

pub async fn check_broker_and_tap(rig: &RigFile, checkup: &mut Checkup) {
    let Some(entry) = &rig.broker else {
        checkup.say(Finding::ok(
            "broker",
            "the rig file names none: `hil run --rig` starts its own (--broker)",
        ));
        return;
    };
    let broker = match open(entry) {
        Ok(broker) => broker,
        Err(finding) => {
            checkup.say(finding);
            checkup.say(Finding::not_tried("tap", "the broker's settings are wrong"));
            return;
        }
    };
    let direct = subscribe(&broker).await;
    let accepted = direct.is_ok();
    checkup.say(verdict("broker", &broker, entry, direct));
    if !accepted {
        checkup.say(Finding::not_tried(
            "tap",
            "the broker did not accept the rig's credentials",
        ));
        return;
    }
    checkup.say(check_tap(rig, &broker, entry).await);
}

/// The rig's broker, its password read from where the rig file says.
fn open(entry: &BrokerEntry) -> Result<Broker, Finding> {
    let password = entry.password.resolve().map_err(|e| {
        Finding::wrong(
            "broker",
            format_args!("its password: {e}"),
            format!(
                "put the broker's password in {}",
                secret_source(&entry.password)
            ),
        )
    })?;
    Broker::external(
        &entry.host,
        entry.port,
        &entry.username,
        password,
        entry.tls.as_ref(),
    )
    .map_err(|e| {
        Finding::wrong(
            "broker",
            e,
            "check [broker] url and ca_file in the rig file",
        )
    })
}

/// Connects and subscribes as the run's monitor does, and lets go.
async fn subscribe(broker: &Broker) -> Result<(), String> {
    let client_id = format!("hil-doctor-{}", std::process::id());
    match tokio::time::timeout(
        CONNECT_LIMIT,
        Monitor::start(broker, &client_id, "hil/doctor"),
    )
    .await
    {
        Ok(Ok(_monitor)) => Ok(()),
        Ok(Err(MonitorError::Refused { code, .. })) => {
            Err(format!("refused the rig's credentials ({code:?})"))
        }
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(_) => Err(format!("no answer within {CONNECT_LIMIT:?}")),
    }
}

fn verdict(
    part: &str,
    broker: &Broker,
    entry: &BrokerEntry,
    result: Result<(), String>,
) -> Finding {
    match result {
        Ok(()) => Finding::ok(part, format!("{} accepts the rig's credentials", broker.description)),
        Err(e) => Finding::wrong(
            part,
            e,
            format!(
                "is the broker running there, and are [broker] username = {:?} and the password in {} the broker's?",
                entry.username,
                secret_source(&entry.password)
            ),
        ),
    }
}

/// Starts a tap as a run does (on the rig's `[tap] listen`, else a free loopback port) and subscribes through it.
async fn check_tap(rig: &RigFile, broker: &Broker, entry: &BrokerEntry) -> Finding {
    let listen = rig
        .tap_listen
        .as_deref()
        .and_then(|l| l.parse::<SocketAddr>().ok())
        .unwrap_or_else(|| (Ipv4Addr::LOCALHOST, 0).into());
    let (events, _unread) = tokio::sync::mpsc::unbounded_channel();
    let tap = match Tap::start(listen, broker.upstream(), events).await {
        Ok(tap) => tap,
        Err(e) => {
            return Finding::wrong(
                "tap",
                e,
                "free that port, or change [tap] listen in the rig file",
            )
        }
    };
    let host = match tap.addr.ip() {
        ip if ip.is_unspecified() => Ipv4Addr::LOCALHOST.to_string(),
        ip => ip.to_string(),
    };
    let through = Broker::external(
        &host,
        tap.addr.port(),
        &broker.username,
        broker.password.clone(),
        None,
    );
    let result = match through {
        Ok(through) => subscribe(&through).await,
        Err(e) => Err(format!("{e:#}")),
    };
    match result {
        Ok(()) => Finding::ok(
            "tap",
            format!(
                "on {}, forwards the rig's credentials to the broker, which accepts them",
                tap.addr
            ),
        ),
        Err(e) => verdict(
            "tap",
            broker,
            entry,
            Err(format!("through the tap on {}: {e}", tap.addr)),
        ),
    }
}
