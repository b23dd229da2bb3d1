//! Splitting a byte stream into MQTT 3.1.1 packets with rumqttc's own codec, keeping each packet's exact bytes
//! so the tap forwards what it received, unchanged.

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::Packet;
use rumqttc::mqttbytes::{check, Error};

/// Largest packet the tap accepts; the firmware's payloads are ~150 bytes.
pub const MAX_PACKET: usize = 64 * 1024;

#[derive(Debug)]
pub enum Frame {
    Packet(Box<Packet>, Bytes),
    /// More bytes are needed.
    Incomplete,
    /// The stream is not MQTT (or breaks its limits): the connection cannot go on.
    Invalid(String),
}

/// Takes the next packet off the front of `buf`.
pub fn next_frame(buf: &mut BytesMut) -> Frame {
    match check(buf.iter(), MAX_PACKET) {
        Err(Error::InsufficientBytes(_)) => Frame::Incomplete,
        Err(e) => Frame::Invalid(e.to_string()),
        Ok(header) => {
            let raw = buf.split_to(header.frame_length()).freeze();
            let mut decode = BytesMut::from(&raw[..]);
            match Packet::read(&mut decode, MAX_PACKET) {
                Ok(packet) => Frame::Packet(Box::new(packet), raw),
                Err(e) => Frame::Invalid(e.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};
    use rumqttc::mqttbytes::v4::{ConnAck, Connect, ConnectReturnCode};

    fn encoded(packet: Packet) -> BytesMut {
        let mut buf = BytesMut::new();
        packet.write(&mut buf, MAX_PACKET).unwrap();
        buf
    }

    #[test]
    fn splits_packets_and_keeps_their_bytes() {
        let mut connect = Connect::new("twin-0");
        connect.keep_alive = 60;
        let mut buf = encoded(Packet::Connect(connect));
        let first_len = buf.len();
        buf.extend_from_slice(&encoded(Packet::PingReq));
        match next_frame(&mut buf) {
            Frame::Packet(p, raw) => {
                assert!(
                    matches!(*p, Packet::Connect(ref c) if c.keep_alive == 60 && c.client_id == "twin-0")
                );
                assert_eq!(raw.len(), first_len);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(next_frame(&mut buf), Frame::Packet(p, _) if *p == Packet::PingReq));
        assert!(matches!(next_frame(&mut buf), Frame::Incomplete));
    }

    #[test]
    fn truncated_packets_wait_for_more_bytes() {
        let full = encoded(Packet::ConnAck(ConnAck::new(
            ConnectReturnCode::NotAuthorized,
            false,
        )));
        let mut buf = BytesMut::from(&full[..full.len() - 1]);
        assert!(matches!(next_frame(&mut buf), Frame::Incomplete));
        buf.extend_from_slice(&full[full.len() - 1..]);
        assert!(matches!(next_frame(&mut buf), Frame::Packet(..)));
    }

    #[test]
    fn oversized_remaining_length_and_garbage_are_invalid() {
        // Remaining length 0xFFFFFF7F: far over the limit.
        let mut buf = BytesMut::from(&[0x30, 0xFF, 0xFF, 0xFF, 0x7F][..]);
        assert!(matches!(next_frame(&mut buf), Frame::Invalid(_)));
        // Packet type 0 is reserved.
        let mut buf = BytesMut::from(&[0x00, 0x00][..]);
        assert!(matches!(next_frame(&mut buf), Frame::Invalid(_)));
    }

    /// Bounded random framing: whatever arrives, the framer returns, never panics, and consumes only what it
    /// reports.
    #[test]
    fn random_bytes_never_panic() {
        let mut rng = SmallRng::seed_from_u64(0x5eed);
        for _ in 0..20_000 {
            let len = rng.random_range(0..64);
            let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            if len > 0 && rng.random_bool(0.5) {
                // Bias towards plausible headers so the decoders behind them get exercised too.
                bytes[0] = (rng.random_range(1u8..15) << 4) | (bytes[0] & 0x0F);
                if len > 1 {
                    bytes[1] = (len - 2) as u8;
                }
            }
            let mut buf = BytesMut::from(&bytes[..]);
            for _ in 0..64 {
                match next_frame(&mut buf) {
                    Frame::Packet(..) => continue,
                    Frame::Incomplete | Frame::Invalid(_) => break,
                }
            }
        }
    }
}
