//! The twin Korad KA3005P on a pty: its terminator-less protocol (`VSET1:12.60`, `OUT1`, `VOUT1?`, `STATUS?`,
//! `*IDN?`, `OCP1`/`OCP0`: the output switches off when the boards ask for the current setting or more), a command
//! ending when the line goes quiet, backed by the bench state. Commands it does not know, and
//! settings out of its range, are ignored without a word, as the unit ignores them.

use super::bench_state::{BenchState, Ocp};
use super::pty_instrument::PtyInstrument;
use anyhow::Result;
use rig::supply::korad::STATUS_OUTPUT_ON;
use std::sync::Arc;
use std::time::Duration;

/// A command has ended once the line is quiet this long (drivers pace commands ≥ 80 ms apart).
const GAP: Duration = Duration::from_millis(20);
/// Longer commands are noise and are dropped.
const MAX_COMMAND: usize = 32;
/// The KA3005P's programmable range.
const MAX_VOLTS: f64 = 31.0;
const MAX_AMPS: f64 = 5.1;
/// The `STATUS?` bit for constant-voltage mode on channel 1 (clear: constant current).
const STATUS_CV: u8 = 0x01;

/// A KA3005P driving the bench's `channel` (0-based), on a new pty, from a thread of its own.
pub async fn korad_on_pty(bench: Arc<BenchState>, channel: usize) -> Result<PtyInstrument> {
    let unit = Korad { bench, channel };
    PtyInstrument::start("twin-korad", GAP, MAX_COMMAND, move |command| {
        unit.execute(command)
    })
    .await
}

struct Korad {
    bench: Arc<BenchState>,
    channel: usize,
}

impl Korad {
    /// Runs one command; returns its reply, without terminator, if it has one.
    fn execute(&self, command: &[u8]) -> Option<Vec<u8>> {
        let command = std::str::from_utf8(command).ok()?.trim();
        let state = self.bench.channel(self.channel);
        let reply = match command {
            "*IDN?" => format!("KORAD KA3005P-TWIN V{}", env!("CARGO_PKG_VERSION")),
            "VSET1?" => format!("{:05.2}", state.set_volts),
            "ISET1?" => format!("{:.3}", state.limit_amps),
            "VOUT1?" => format!("{:05.2}", self.bench.measured_volts(self.channel)),
            "IOUT1?" => format!("{:.3}", self.bench.measured_amps(self.channel)),
            "STATUS?" => {
                let amps = self.bench.measured_amps(self.channel);
                let mut status = 0;
                if state.output_on {
                    status |= STATUS_OUTPUT_ON;
                }
                if amps < state.limit_amps {
                    status |= STATUS_CV;
                }
                return Some(vec![status]);
            }
            "OUT1" | "OUT0" => {
                let on = command == "OUT1";
                self.bench.update_channel(self.channel, |c| {
                    c.output_on = on;
                    c.ocp_tripped &= !on;
                });
                return None;
            }
            "OCP1" | "OCP0" => {
                let ocp = if command == "OCP1" {
                    Ocp::AtCurrentLimit
                } else {
                    Ocp::Off
                };
                self.bench.update_channel(self.channel, |c| c.ocp = ocp);
                return None;
            }
            _ => {
                if let Some(volts) = setting(command, "VSET1:", MAX_VOLTS) {
                    self.bench
                        .update_channel(self.channel, |c| c.set_volts = volts);
                } else if let Some(amps) = setting(command, "ISET1:", MAX_AMPS) {
                    self.bench
                        .update_channel(self.channel, |c| c.limit_amps = amps);
                }
                return None;
            }
        };
        Some(reply.into_bytes())
    }
}

/// The value of `PREFIX<number>`, if it is a plain decimal within `0..=max`.
fn setting(command: &str, prefix: &str, max: f64) -> Option<f64> {
    let number = command.strip_prefix(prefix)?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    number
        .parse::<f64>()
        .ok()
        .filter(|v| (0.0..=max).contains(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoadState, Physics};

    fn unit() -> Korad {
        Korad {
            bench: Arc::new(BenchState::new(1)),
            channel: 0,
        }
    }

    fn ask(unit: &Korad, command: &str) -> String {
        String::from_utf8(unit.execute(command.as_bytes()).expect("a reply")).unwrap()
    }

    #[test]
    fn settings_reach_the_bench_and_read_back_in_the_unit_s_format() {
        let k = unit();
        assert_eq!(k.execute(b"VSET1:12.60"), None);
        assert_eq!(k.execute(b"ISET1:0.500"), None);
        assert_eq!(ask(&k, "VSET1?"), "12.60");
        assert_eq!(ask(&k, "ISET1?"), "0.500");
        assert_eq!(ask(&k, "VOUT1?"), "00.00");
        assert_eq!(k.execute(b"OUT1"), None);
        assert_eq!(ask(&k, "VOUT1?"), "12.60");
        assert_eq!(
            k.execute(b"STATUS?"),
            Some(vec![STATUS_OUTPUT_ON | STATUS_CV])
        );
        let board = k.bench.add_board(0, Physics::default());
        k.bench.set_load(board, LoadState::Awake);
        assert_ne!(ask(&k, "IOUT1?"), "0.000");
        k.execute(b"VSET1:5");
        assert_eq!(ask(&k, "VSET1?"), "05.00");
    }

    #[test]
    fn ocp_switches_the_output_off_instead_of_limiting() {
        let k = unit();
        let board = k.bench.add_board(0, Physics::default());
        k.execute(b"VSET1:12.00");
        k.execute(b"ISET1:0.010");
        k.execute(b"OUT1");
        k.bench.set_load(board, LoadState::Awake);
        assert_eq!(
            ask(&k, "IOUT1?"),
            "0.010",
            "constant current while OCP is off"
        );
        k.execute(b"OCP1");
        assert_eq!(k.execute(b"STATUS?"), Some(vec![STATUS_CV]), "output off");
        assert!(k.bench.channel(0).ocp_tripped);
        assert_eq!(ask(&k, "IOUT1?"), "0.000");
    }

    #[test]
    fn noise_and_out_of_range_settings_are_ignored() {
        let k = unit();
        for noise in [
            &b"VSET1:99.00"[..],
            b"VSET1:-1",
            b"VSET1:",
            b"VSET1:1e1",
            b"ISET1:9.999",
            b"VSET2:1.00",
            b"OUT",
            b"\xff\xfe",
            b"",
        ] {
            assert_eq!(k.execute(noise), None, "{noise:?}");
        }
        assert_eq!(k.bench.channel(0), Default::default());
    }
}
