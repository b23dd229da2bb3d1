//! The twin Riden RD60xx on a pty: Modbus RTU as slave 1, a frame ending when the line goes quiet, holding
//! registers 0–19 and the over-current level (83) backed by the bench state and scaled per model (V/I set,
//! output and the over-current level writable; register 16 reads 2 once the protection switched the output off).
//!
//! The RTU side is hand-written: tokio-modbus's RTU server only serves its own tokio-serial port type, not a pty
//! we hold the master end of, and it stops at the first malformed frame, where a twin instrument must ignore the
//! frame and keep answering, as a real slave does.

use super::bench_state::{BenchState, Ocp};
use super::pty_instrument::PtyInstrument;
use anyhow::Result;
use rig::supply::riden::{register, RidenModel, PROTECTION_OCP, SLAVE};
use std::sync::Arc;
use std::time::Duration;

/// A frame has ended once the line is quiet this long (a pty carries a request in one write).
const GAP: Duration = Duration::from_millis(5);
/// An RTU frame is at most 256 bytes; anything longer is noise.
const MAX_FRAME: usize = 256;
const CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);

const READ_HOLDING: u8 = 0x03;
const WRITE_SINGLE: u8 = 0x06;
const WRITE_MULTIPLE: u8 = 0x10;
const ILLEGAL_FUNCTION: u8 = 0x01;
const ILLEGAL_ADDRESS: u8 = 0x02;
const ILLEGAL_VALUE: u8 = 0x03;

/// A Riden `model` driving the bench's `channel` (0-based), on a new pty, from a thread of its own.
pub async fn riden_on_pty(
    bench: Arc<BenchState>,
    channel: usize,
    model: RidenModel,
) -> Result<PtyInstrument> {
    let unit = Riden {
        bench,
        channel,
        model,
    };
    PtyInstrument::start("twin-riden", GAP, MAX_FRAME, move |frame| {
        respond(frame, &unit)
    })
    .await
}

/// The registers of one unit.
struct Riden {
    bench: Arc<BenchState>,
    channel: usize,
    model: RidenModel,
}

/// A physical value as register counts, saturating at the register's range.
fn counts(value: f64, per_unit: f64) -> u16 {
    (value * per_unit).round().clamp(0.0, f64::from(u16::MAX)) as u16
}

impl Riden {
    fn read(&self, address: u16) -> Option<u16> {
        let (per_volt, per_amp) = self.model.scale();
        let state = self.bench.channel(self.channel);
        let volts = self.bench.measured_volts(self.channel);
        let amps = self.bench.measured_amps(self.channel);
        Some(match address {
            register::MODEL_ID => self.model.id(),
            register::SERIAL_HIGH => 0,
            register::SERIAL_LOW => 4242,
            register::FIRMWARE => 128,
            // Internal temperature: sign, °C, sign, °F.
            4 | 6 => 0,
            5 => 25,
            7 => 77,
            register::VOLTS_SET => counts(state.set_volts, per_volt),
            register::AMPS_SET => counts(state.limit_amps, per_amp),
            register::VOLTS_OUT => counts(volts, per_volt),
            register::AMPS_OUT => counts(amps, per_amp),
            // Amp-hours, then power in centiwatts, then the input voltage in centivolts.
            12 => 0,
            13 => counts(volts * amps, 100.0),
            14 => 6500,
            // Keypad lock.
            15 => 0,
            register::PROTECTION => {
                if state.ocp_tripped {
                    PROTECTION_OCP
                } else {
                    0
                }
            }
            // Constant current (1) or voltage (0).
            17 => u16::from(state.output_on && amps >= state.limit_amps),
            register::OUTPUT => u16::from(state.output_on),
            // Preset in use.
            19 => 0,
            register::OCP_SET => match state.ocp {
                Ocp::Level(amps) => counts(amps, per_amp),
                Ocp::Off | Ocp::AtCurrentLimit => counts(self.model.max_amps(), per_amp),
            },
            _ => return None,
        })
    }

    fn write(&self, address: u16, value: u16) -> Result<(), u8> {
        let (per_volt, per_amp) = self.model.scale();
        match address {
            register::VOLTS_SET => {
                let volts = f64::from(value) / per_volt;
                if volts > self.model.max_volts() {
                    return Err(ILLEGAL_VALUE);
                }
                self.bench
                    .update_channel(self.channel, |c| c.set_volts = volts);
            }
            register::AMPS_SET => {
                let amps = f64::from(value) / per_amp;
                if amps > self.model.max_amps() {
                    return Err(ILLEGAL_VALUE);
                }
                self.bench
                    .update_channel(self.channel, |c| c.limit_amps = amps);
            }
            // The twin takes switching the output on as acknowledging a trip.
            register::OUTPUT if value <= 1 => {
                self.bench.update_channel(self.channel, |c| {
                    c.output_on = value == 1;
                    c.ocp_tripped &= value == 0;
                });
            }
            register::OCP_SET => {
                let amps = f64::from(value) / per_amp;
                if amps > self.model.max_amps() {
                    return Err(ILLEGAL_VALUE);
                }
                self.bench
                    .update_channel(self.channel, |c| c.ocp = Ocp::Level(amps));
            }
            register::OUTPUT => return Err(ILLEGAL_VALUE),
            _ => return Err(ILLEGAL_ADDRESS),
        }
        Ok(())
    }
}

fn with_crc(mut frame: Vec<u8>) -> Vec<u8> {
    let crc = CRC.checksum(&frame);
    frame.extend_from_slice(&crc.to_le_bytes());
    frame
}

fn word(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// The reply to one request frame, if it gets one: frames with a bad CRC or for another slave get none, nor do
/// broadcasts (slave 0), which are carried out all the same.
fn respond(frame: &[u8], unit: &Riden) -> Option<Vec<u8>> {
    let (body, crc) = frame.split_at_checked(frame.len().checked_sub(2)?)?;
    if body.len() < 2 || CRC.checksum(body) != u16::from_le_bytes([crc[0], crc[1]]) {
        return None;
    }
    let (slave, function, data) = (body[0], body[1], &body[2..]);
    if slave != SLAVE && slave != 0 {
        return None;
    }
    let reply = match handle(function, data, unit) {
        Ok(pdu) => pdu,
        Err(code) => vec![function | 0x80, code],
    };
    (slave != 0).then(|| with_crc([&[slave][..], &reply].concat()))
}

/// A request's PDU (after the function code) carried out; the response PDU, or an exception code.
fn handle(function: u8, data: &[u8], unit: &Riden) -> Result<Vec<u8>, u8> {
    match function {
        READ_HOLDING => {
            if data.len() != 4 {
                return Err(ILLEGAL_VALUE);
            }
            let (start, count) = (word(data, 0), word(data, 2));
            if !(1..=125).contains(&count) {
                return Err(ILLEGAL_VALUE);
            }
            let mut reply = vec![READ_HOLDING, (count * 2) as u8];
            for address in start..start.checked_add(count).ok_or(ILLEGAL_ADDRESS)? {
                let value = unit.read(address).ok_or(ILLEGAL_ADDRESS)?;
                reply.extend_from_slice(&value.to_be_bytes());
            }
            Ok(reply)
        }
        WRITE_SINGLE => {
            if data.len() != 4 {
                return Err(ILLEGAL_VALUE);
            }
            unit.write(word(data, 0), word(data, 2))?;
            Ok([&[WRITE_SINGLE][..], data].concat())
        }
        WRITE_MULTIPLE => {
            let (start, count) = match data {
                [a, b, c, d, len, ..] if usize::from(*len) == data.len() - 5 => {
                    (u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d]))
                }
                _ => return Err(ILLEGAL_VALUE),
            };
            if count == 0 || usize::from(count) * 2 != data.len() - 5 {
                return Err(ILLEGAL_VALUE);
            }
            for (i, value) in data[5..].chunks_exact(2).enumerate() {
                let address = start.checked_add(i as u16).ok_or(ILLEGAL_ADDRESS)?;
                unit.write(address, u16::from_be_bytes([value[0], value[1]]))?;
            }
            Ok([&[WRITE_MULTIPLE][..], &data[..4]].concat())
        }
        _ => Err(ILLEGAL_FUNCTION),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(model: RidenModel) -> Riden {
        Riden {
            bench: Arc::new(BenchState::new(1)),
            channel: 0,
            model,
        }
    }

    fn request(pdu: &[u8]) -> Vec<u8> {
        with_crc([&[SLAVE][..], pdu].concat())
    }

    #[test]
    fn the_crc_is_modbus_s() {
        // Read holding registers 0..2 of slave 1, the usual example frame.
        assert_eq!(
            request(&[0x03, 0x00, 0x00, 0x00, 0x02]),
            [0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xc4, 0x0b]
        );
    }

    #[test]
    fn writes_are_scaled_per_model_and_echoed() {
        let r = unit(RidenModel::Rd6006);
        let write = request(&[0x06, 0x00, 0x08, 0x04, 0xec]); // 1260 → 12.60 V
        assert_eq!(respond(&write, &r), Some(write.clone()));
        assert_eq!(r.bench.channel(0).set_volts, 12.6);
        let p = unit(RidenModel::Rd6006p);
        respond(&request(&[0x06, 0x00, 0x09, 0x13, 0x88]), &p); // 5000 → 0.5 A
        assert_eq!(p.bench.channel(0).limit_amps, 0.5);
        let reply = respond(&request(&[0x03, 0x00, 0x00, 0x00, 0x01]), &p).unwrap();
        assert_eq!(&reply[..5], [0x01, 0x03, 0x02, 0xea, 0xa1]); // 60065: an RD6006P
    }

    #[test]
    fn bad_requests_get_exceptions_and_noise_gets_nothing() {
        let r = unit(RidenModel::Rd6006);
        let exception = |pdu: &[u8]| respond(&request(pdu), &r).map(|reply| reply[1..3].to_vec());
        assert_eq!(
            exception(&[0x03, 0x00, 0x63, 0x00, 0x01]),
            Some(vec![0x83, 0x02])
        );
        assert_eq!(
            exception(&[0x03, 0x00, 0x00, 0x00, 0x00]),
            Some(vec![0x83, 0x03])
        );
        assert_eq!(
            exception(&[0x06, 0x00, 0x08, 0xff, 0xff]),
            Some(vec![0x86, 0x03])
        );
        assert_eq!(
            exception(&[0x06, 0x00, 0x12, 0x00, 0x02]),
            Some(vec![0x86, 0x03])
        );
        assert_eq!(
            exception(&[0x06, 0x00, 0x00, 0x00, 0x01]),
            Some(vec![0x86, 0x02])
        );
        assert_eq!(exception(&[0x2b, 0x0e, 0x01, 0x00]), Some(vec![0xab, 0x01]));
        assert_eq!(exception(&[0x03, 0x00]), Some(vec![0x83, 0x03]));
        let mut bad_crc = request(&[0x06, 0x00, 0x08, 0x04, 0xec]);
        bad_crc[6] ^= 1;
        assert_eq!(respond(&bad_crc, &r), None);
        let other_slave = with_crc(vec![7, 0x03, 0x00, 0x00, 0x00, 0x01]);
        assert_eq!(respond(&other_slave, &r), None);
        for noise in [&[][..], &[0x01], &[0xff; 300]] {
            assert_eq!(respond(noise, &r), None);
        }
        assert_eq!(r.bench.channel(0), Default::default());
    }

    #[test]
    fn the_over_current_level_trips_the_output_and_register_16_says_so() {
        let r = unit(RidenModel::Rd6006);
        let read = |address: u8| {
            let reply = respond(&request(&[0x03, 0x00, address, 0x00, 0x01]), &r).unwrap();
            u16::from_be_bytes([reply[3], reply[4]])
        };
        assert_eq!(read(83), 6000, "the model's full current until set");
        let board = r.bench.add_board(0, crate::Physics::default());
        for (register, value) in [(8u8, 1200u16), (9, 1000), (83, 10), (18, 1)] {
            let [high, low] = value.to_be_bytes();
            respond(&request(&[0x06, 0x00, register, high, low]), &r).unwrap();
        }
        assert_eq!((read(83), read(16)), (10, 0));
        r.bench.set_load(board, crate::LoadState::Awake);
        assert_eq!((read(18), read(16)), (0, PROTECTION_OCP));
        r.bench.set_load(board, crate::LoadState::Off);
        respond(&request(&[0x06, 0x00, 0x12, 0x00, 0x01]), &r).unwrap();
        assert_eq!(
            (read(18), read(16)),
            (1, 0),
            "switching on again acknowledges the trip"
        );
    }

    #[test]
    fn write_multiple_and_broadcasts() {
        let r = unit(RidenModel::Rd6012);
        let write = request(&[0x10, 0x00, 0x08, 0x00, 0x02, 0x04, 0x04, 0xb0, 0x00, 0x32]);
        let reply = respond(&write, &r).unwrap();
        assert_eq!(&reply[1..6], [0x10, 0x00, 0x08, 0x00, 0x02]);
        assert_eq!(
            (r.bench.channel(0).set_volts, r.bench.channel(0).limit_amps),
            (12.0, 0.5)
        );
        let broadcast = with_crc(vec![0, 0x06, 0x00, 0x12, 0x00, 0x01]);
        assert_eq!(respond(&broadcast, &r), None);
        assert!(r.bench.channel(0).output_on);
    }
}
