//! Whatever bytes a board or broker sends, the tap's framing returns a packet, a request for more bytes or an
//! error — never a panic — and consumes no more than it was given.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use rig::mqtt::tap::{next_frame, Frame};

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    for _ in 0..256 {
        let before = buf.len();
        match next_frame(&mut buf) {
            Frame::Packet(_, raw) => assert_eq!(raw.len(), before - buf.len()),
            Frame::Incomplete | Frame::Invalid(_) => break,
        }
    }
});
