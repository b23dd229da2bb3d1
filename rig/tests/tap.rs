//! The tap between a raw MQTT client and a real broker (the embedded one): packets become events, faults change
//! what the client gets, and garbage or silent clients neither crash the tap nor block others.

use bytes::BytesMut;
use rig::mqtt::tap::{next_frame, Frame, MAX_PACKET};
use rig::mqtt::{Broker, BrokerSpec, Side, Tap, TapEvent, TapFault};
use rumqttc::mqttbytes::v4::{Connect, ConnectReturnCode, Login, Packet, Publish};
use rumqttc::mqttbytes::QoS;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

async fn setup() -> (Broker, Tap, mpsc::UnboundedReceiver<TapEvent>) {
    let broker = Broker::start(&BrokerSpec::Embedded).await.unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let tap = Tap::start(
        "127.0.0.1:0".parse().unwrap(),
        (broker.host.clone(), broker.port),
        tx,
    )
    .await
    .unwrap();
    (broker, tap, rx)
}

fn connect_packet(broker: &Broker, client: &str, keepalive: u16) -> BytesMut {
    let mut connect = Connect::new(client);
    connect.keep_alive = keepalive;
    connect.login = Some(Login::new(
        broker.username.clone(),
        broker.password.expose().to_string(),
    ));
    let mut buf = BytesMut::new();
    Packet::Connect(connect)
        .write(&mut buf, MAX_PACKET)
        .unwrap();
    buf
}

async fn read_packet(stream: &mut TcpStream) -> Option<Packet> {
    let mut buf = BytesMut::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Frame::Packet(p, _) = next_frame(&mut buf) {
                return Some(*p);
            }
            if stream.read_buf(&mut buf).await.ok()? == 0 {
                return None;
            }
        }
    })
    .await
    .expect("no answer within 5 s")
}

async fn next_event(
    rx: &mut mpsc::UnboundedReceiver<TapEvent>,
    want: impl Fn(&TapEvent) -> bool,
) -> TapEvent {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let e = rx.recv().await.expect("tap event channel closed");
            if want(&e) {
                return e;
            }
        }
    })
    .await
    .expect("expected tap event did not come within 5 s")
}

#[tokio::test]
async fn forwards_a_session_and_reports_each_packet() {
    let (broker, tap, mut rx) = setup().await;
    let mut client = TcpStream::connect(tap.addr).await.unwrap();
    client
        .write_all(&connect_packet(&broker, "board-a", 60))
        .await
        .unwrap();
    match read_packet(&mut client).await {
        Some(Packet::ConnAck(ack)) => assert_eq!(ack.code, ConnectReturnCode::Success),
        other => panic!("expected CONNACK, got {other:?}"),
    }
    let mut buf = BytesMut::new();
    Packet::Publish(Publish::new(
        "hil/x/board-a/battery",
        QoS::AtMostOnce,
        br#"{"seq":1}"#.to_vec(),
    ))
    .write(&mut buf, MAX_PACKET)
    .unwrap();
    Packet::Disconnect.write(&mut buf, MAX_PACKET).unwrap();
    client.write_all(&buf).await.unwrap();

    let connect = next_event(&mut rx, |e| matches!(e, TapEvent::Connect { .. })).await;
    assert_eq!(
        connect,
        TapEvent::Connect {
            client: "board-a".into(),
            conn: 1,
            username: Some(broker.username.clone()),
            keepalive: 60,
            clean_session: true,
            will_topic: None
        }
    );
    let ack = next_event(&mut rx, |e| matches!(e, TapEvent::Connack { .. })).await;
    assert_eq!(
        ack,
        TapEvent::Connack {
            client: "board-a".into(),
            conn: 1,
            code: 0,
            by_tap: false
        }
    );
    let publish = next_event(&mut rx, |e| matches!(e, TapEvent::Publish { .. })).await;
    assert!(
        matches!(publish, TapEvent::Publish { ref topic, .. } if topic == "hil/x/board-a/battery")
    );
    next_event(&mut rx, |e| matches!(e, TapEvent::Disconnect { .. })).await;
    let close = next_event(&mut rx, |e| matches!(e, TapEvent::Close { .. })).await;
    assert!(
        matches!(close, TapEvent::Close { clean: true, .. }),
        "{close:?}"
    );
}

#[tokio::test]
async fn strict_keepalive_refuses_keepalive_zero_with_connack_2() {
    let (broker, tap, mut rx) = setup().await;
    tap.faults.set(TapFault::StrictKeepalive, true);
    let mut client = TcpStream::connect(tap.addr).await.unwrap();
    client
        .write_all(&connect_packet(&broker, "legacy", 0))
        .await
        .unwrap();
    match read_packet(&mut client).await {
        Some(Packet::ConnAck(ack)) => assert_eq!(ack.code, ConnectReturnCode::BadClientId),
        other => panic!("expected CONNACK 2, got {other:?}"),
    }
    let ack = next_event(&mut rx, |e| matches!(e, TapEvent::Connack { .. })).await;
    assert_eq!(
        ack,
        TapEvent::Connack {
            client: "legacy".into(),
            conn: 1,
            code: 2,
            by_tap: true
        }
    );

    // A non-zero keepalive passes the same rule; the tap numbers the second connection 2.
    let mut fixed = TcpStream::connect(tap.addr).await.unwrap();
    fixed
        .write_all(&connect_packet(&broker, "fixed", 60))
        .await
        .unwrap();
    assert!(
        matches!(read_packet(&mut fixed).await, Some(Packet::ConnAck(a)) if a.code == ConnectReturnCode::Success)
    );
    let second = next_event(&mut rx, |e| matches!(e, TapEvent::Connect { .. })).await;
    assert!(
        matches!(second, TapEvent::Connect { conn: 2, ref client, .. } if client == "fixed"),
        "{second:?}"
    );
}

#[tokio::test]
async fn refuse_connect_and_broker_down() {
    let (broker, tap, mut rx) = setup().await;
    tap.faults.set(TapFault::RefuseConnect(5), true);
    let mut client = TcpStream::connect(tap.addr).await.unwrap();
    client
        .write_all(&connect_packet(&broker, "refused", 60))
        .await
        .unwrap();
    assert!(
        matches!(read_packet(&mut client).await, Some(Packet::ConnAck(a)) if a.code == ConnectReturnCode::NotAuthorized)
    );
    tap.faults.set(TapFault::RefuseConnect(5), false);

    tap.faults.set(TapFault::BrokerDown, true);
    let mut down = TcpStream::connect(tap.addr).await.unwrap();
    let _ = down.write_all(&connect_packet(&broker, "down", 60)).await;
    assert_eq!(
        read_packet(&mut down).await,
        None,
        "broker-down closes new connections"
    );
    let close = next_event(&mut rx, |e| matches!(e, TapEvent::Close { by: Side::Tap, reason, .. } if reason.contains("broker-down"))).await;
    assert!(matches!(close, TapEvent::Close { clean: false, .. }));
}

#[tokio::test]
async fn garbage_and_silent_clients_do_not_stop_the_tap() {
    let (broker, tap, mut rx) = setup().await;
    let _silent = TcpStream::connect(tap.addr).await.unwrap();
    let mut garbage = TcpStream::connect(tap.addr).await.unwrap();
    // Type 0 is reserved: not MQTT from the first byte.
    garbage.write_all(b"\x00\x02hi").await.unwrap();
    let mut oversized = TcpStream::connect(tap.addr).await.unwrap();
    oversized
        .write_all(&[0x10, 0xFF, 0xFF, 0xFF, 0x7F])
        .await
        .unwrap();
    let e = next_event(&mut rx, |e| matches!(e, TapEvent::Garbage { .. })).await;
    assert!(matches!(
        e,
        TapEvent::Garbage {
            from: Side::Client,
            ..
        }
    ));
    next_event(&mut rx, |e| matches!(e, TapEvent::Garbage { .. })).await;

    let mut good = TcpStream::connect(tap.addr).await.unwrap();
    good.write_all(&connect_packet(&broker, "after-garbage", 30))
        .await
        .unwrap();
    assert!(
        matches!(read_packet(&mut good).await, Some(Packet::ConnAck(a)) if a.code == ConnectReturnCode::Success)
    );
}

/// A connected client of the tap: CONNECT sent and its CONNACK read.
async fn connected(broker: &Broker, tap: &Tap, client: &str) -> TcpStream {
    let mut stream = TcpStream::connect(tap.addr).await.unwrap();
    stream
        .write_all(&connect_packet(broker, client, 60))
        .await
        .unwrap();
    assert!(
        matches!(read_packet(&mut stream).await, Some(Packet::ConnAck(a)) if a.code == ConnectReturnCode::Success)
    );
    stream
}

fn qos1_publish(pkid: u16, dup: bool) -> BytesMut {
    let mut publish = Publish::new(
        "hil/x/q/battery",
        QoS::AtLeastOnce,
        br#"{"seq":7}"#.to_vec(),
    );
    publish.pkid = pkid;
    publish.dup = dup;
    let mut buf = BytesMut::new();
    Packet::Publish(publish)
        .write(&mut buf, MAX_PACKET)
        .unwrap();
    buf
}

#[tokio::test]
async fn puback_drop_loses_the_first_puback_of_each_packet_id_and_the_resend_gets_one() {
    let (broker, tap, mut rx) = setup().await;
    tap.faults.set(TapFault::PubackDrop, true);
    let mut client = connected(&broker, &tap, "lossy").await;
    client.write_all(&qos1_publish(3, false)).await.unwrap();
    let original = next_event(&mut rx, |e| matches!(e, TapEvent::Publish { .. })).await;
    assert!(
        matches!(
            original,
            TapEvent::Publish {
                pkid: 3,
                dup: false,
                qos: 1,
                ..
            }
        ),
        "{original:?}"
    );
    let first = next_event(&mut rx, |e| {
        matches!(
            e,
            TapEvent::Puback {
                from: Side::Broker,
                ..
            }
        )
    })
    .await;
    assert!(
        matches!(
            first,
            TapEvent::Puback {
                pkid: 3,
                dropped: true,
                ..
            }
        ),
        "{first:?}"
    );
    let mut nothing = BytesMut::new();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), client.read_buf(&mut nothing))
            .await
            .is_err(),
        "the dropped PUBACK reached the client: {nothing:?}"
    );
    client.write_all(&qos1_publish(3, true)).await.unwrap();
    let resend = next_event(&mut rx, |e| matches!(e, TapEvent::Publish { .. })).await;
    assert!(
        matches!(
            resend,
            TapEvent::Publish {
                pkid: 3,
                dup: true,
                ..
            }
        ),
        "{resend:?}"
    );
    match read_packet(&mut client).await {
        Some(Packet::PubAck(ack)) => assert_eq!(ack.pkid, 3),
        other => panic!("expected the resend's PUBACK, got {other:?}"),
    }
    let second = next_event(&mut rx, |e| {
        matches!(
            e,
            TapEvent::Puback {
                from: Side::Broker,
                ..
            }
        )
    })
    .await;
    assert!(
        matches!(
            second,
            TapEvent::Puback {
                pkid: 3,
                dropped: false,
                ..
            }
        ),
        "{second:?}"
    );
}

#[tokio::test]
async fn puback_delay_holds_the_brokers_puback() {
    let (broker, tap, _rx) = setup().await;
    tap.faults.set(TapFault::PubackDelay { ms: 400 }, true);
    let mut client = connected(&broker, &tap, "slow").await;
    let sent = std::time::Instant::now();
    client.write_all(&qos1_publish(9, false)).await.unwrap();
    match read_packet(&mut client).await {
        Some(Packet::PubAck(ack)) => assert_eq!(ack.pkid, 9),
        other => panic!("expected PUBACK, got {other:?}"),
    }
    assert!(
        sent.elapsed() >= Duration::from_millis(400),
        "held {:?}",
        sent.elapsed()
    );
}
