//! The twin board's side of the host runtime's control socket (firmware/host/PROTOCOL.md): one JSON request per
//! line in, one JSON reply per line out.

use super::bench_state::BenchState;
use super::physics::Physics;
use super::runtime::{chip_bytes, HeapReport};
use rand::rngs::SmallRng;
use serde::Deserialize;
use serde_json::{json, Value};

/// RTC user memory on an ESP8266 holds at most this many bytes.
pub const RTC_MEMORY_BYTES: usize = 492;

#[derive(Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Request {
    Hello {
        board: String,
    },
    Adc,
    WifiConnect {
        #[serde(default)]
        ssid: String,
    },
    Rtc {
        hex: String,
    },
    Deepsleep {
        ms: u64,
        /// Device ms the host spent on this wake (its process's CPU and run-queue time times the speed), where
        /// the runtime can tell.
        #[serde(default)]
        stretch_ms: Option<f64>,
    },
    /// The VM's heap during this wake, in its own bytes (sent before the wake ends).
    Heap {
        boot_free: u64,
        min_free: u64,
    },
    /// The firmware stopped without sleeping: the board sits at its REPL.
    Repl,
    /// `machine.reset()`.
    Reset,
}

/// How the firmware ended its wake, as it told the board. The process may still run: it is the board's to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Sleep { ms: u64 },
    Repl,
    Reset,
}

/// What one wake of the firmware has asked of its board so far.
pub struct Control<'a> {
    pub board: &'a str,
    pub physics: &'a Physics,
    pub bench: &'a BenchState,
    pub channel: usize,
    pub wifi_available: bool,
    pub rng: &'a mut SmallRng,
    pub wifi_on: bool,
    pub rtc_hex: String,
    pub end: Option<End>,
    /// The board's load on the bench, as `BenchState::add_board` numbered it: heap reports go there.
    pub load_index: usize,
}

impl Control<'_> {
    /// Answers one request line. Malformed requests get an error reply, never a panic.
    pub fn handle(&mut self, line: &str) -> Value {
        let request: Request = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) => return json!({"ok": false, "error": format!("bad request: {e}")}),
        };
        match request {
            Request::Hello { board } if board == self.board => json!({"ok": true}),
            Request::Hello { board } => {
                json!({"ok": false, "error": format!("this socket is {}'s, not {board}'s", self.board)})
            }
            Request::Adc => {
                let volts = self.bench.measured_volts(self.channel);
                let counts = self.physics.adc_counts(volts, self.wifi_on, self.rng);
                json!({"counts": counts})
            }
            Request::WifiConnect { ssid }
                if self.wifi_available && self.bench.wifi_up() && !ssid.is_empty() =>
            {
                self.wifi_on = true;
                let delay = self.physics.wifi_delay_ms(self.rng);
                let rssi = -50 - i64::from(delay % 20);
                json!({"ok": true, "delay_ms": delay, "rssi": rssi})
            }
            Request::WifiConnect { .. } => json!({"ok": false, "reason": "no-ap"}),
            Request::Rtc { hex } => match decode_rtc(&hex) {
                Ok(()) => {
                    self.rtc_hex = hex.to_ascii_lowercase();
                    json!({"ok": true})
                }
                Err(e) => json!({"ok": false, "error": e}),
            },
            Request::Deepsleep { ms, stretch_ms } => {
                if let Some(stretch) = stretch_ms.filter(|s| s.is_finite() && *s >= 0.0) {
                    self.bench.report_stretch(self.load_index, stretch / 1000.0);
                }
                self.ends(End::Sleep { ms })
            }
            Request::Repl => self.ends(End::Repl),
            Request::Reset => self.ends(End::Reset),
            Request::Heap {
                boot_free,
                min_free,
            } => {
                self.bench.report_heap(
                    self.load_index,
                    HeapReport {
                        free_at_boot: chip_bytes(boot_free),
                        min_free: chip_bytes(min_free),
                    },
                );
                json!({"ok": true})
            }
        }
    }
}

impl Control<'_> {
    fn ends(&mut self, end: End) -> Value {
        self.end = Some(end);
        json!({"ok": true})
    }
}

fn decode_rtc(hex: &str) -> Result<(), String> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("rtc memory must be an even number of hex digits".into());
    }
    if hex.len() / 2 > RTC_MEMORY_BYTES {
        return Err(format!(
            "rtc memory holds at most {RTC_MEMORY_BYTES} bytes, got {}",
            hex.len() / 2
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn with_control(f: impl FnOnce(&mut Control)) {
        let bench = BenchState::new(1);
        bench.update_channel(0, |c| {
            c.set_volts = 12.6;
            c.output_on = true;
        });
        let physics = Physics::default();
        let mut rng = SmallRng::seed_from_u64(5);
        let mut control = Control {
            board: "twin-0",
            physics: &physics,
            bench: &bench,
            channel: 0,
            wifi_available: true,
            rng: &mut rng,
            wifi_on: false,
            rtc_hex: String::new(),
            end: None,
            load_index: 0,
        };
        f(&mut control);
    }

    #[test]
    fn answers_adc_wifi_rtc_and_deepsleep() {
        with_control(|c| {
            assert_eq!(c.handle(r#"{"op":"hello","board":"twin-0"}"#)["ok"], true);
            let counts = c.handle(r#"{"op":"adc"}"#)["counts"].as_u64().unwrap();
            assert!((790..=800).contains(&counts), "counts {counts}");
            let wifi = c.handle(r#"{"op":"wifi_connect","ssid":"hil-bench"}"#);
            assert_eq!(wifi["ok"], true);
            assert!(c.wifi_on);
            assert_eq!(c.handle(r#"{"op":"rtc","hex":"00FF"}"#)["ok"], true);
            assert_eq!(c.rtc_hex, "00ff");
            c.handle(r#"{"op":"deepsleep","ms":60000}"#);
            assert_eq!(c.end, Some(End::Sleep { ms: 60000 }));
        });
    }

    #[test]
    fn a_sleeps_stretch_reaches_the_bench_in_device_seconds_when_the_runtime_tells_it() {
        with_control(|c| {
            let mut stretches = c.bench.watch_stretches();
            c.handle(r#"{"op":"deepsleep","ms":60000,"stretch_ms":437.5}"#);
            assert_eq!(stretches.try_recv().unwrap(), (0, 0.4375));
            assert_eq!(c.end, Some(End::Sleep { ms: 60000 }));
            for unknown in ["", r#","stretch_ms":null"#, r#","stretch_ms":-1"#] {
                c.handle(&format!(r#"{{"op":"deepsleep","ms":60000{unknown}}}"#));
                assert!(
                    stretches.try_recv().is_err(),
                    "{unknown:?} reported a stretch"
                );
            }
        });
    }

    #[test]
    fn heap_reports_reach_the_bench_in_chip_bytes_and_repl_ends_the_wake() {
        with_control(|c| {
            let mut heaps = c.bench.watch_heaps();
            let reply =
                c.handle(r#"{"op":"heap","boot_free":38093,"min_free":12000,"heap":131072}"#);
            assert_eq!(reply["ok"], true);
            let (board, report) = heaps.try_recv().unwrap();
            assert_eq!(board, 0);
            assert_eq!(report.free_at_boot, chip_bytes(38093));
            assert_eq!(report.min_free, chip_bytes(12000));
            assert_eq!(c.end, None);
            c.handle(r#"{"op":"repl"}"#);
            assert_eq!(c.end, Some(End::Repl));
        });
    }

    #[test]
    fn wifi_fails_while_the_access_point_is_down() {
        with_control(|c| {
            c.bench.set_wifi(false);
            let reply = c.handle(r#"{"op":"wifi_connect","ssid":"hil-bench"}"#);
            assert_eq!(reply["ok"], false);
            assert!(!c.wifi_on);
            c.bench.set_wifi(true);
            assert_eq!(
                c.handle(r#"{"op":"wifi_connect","ssid":"hil-bench"}"#)["ok"],
                true
            );
        });
    }

    #[test]
    fn bad_requests_get_error_replies() {
        with_control(|c| {
            assert_eq!(c.handle("not json")["ok"], false);
            assert_eq!(c.handle(r#"{"op":"launch"}"#)["ok"], false);
            assert_eq!(c.handle(r#"{"op":"hello","board":"other"}"#)["ok"], false);
            assert_eq!(c.handle(r#"{"op":"rtc","hex":"abc"}"#)["ok"], false);
            let too_big = "00".repeat(RTC_MEMORY_BYTES + 1);
            let reply = c.handle(&format!(r#"{{"op":"rtc","hex":"{too_big}"}}"#));
            assert_eq!(reply["ok"], false);
            assert_eq!(c.rtc_hex, "");
        });
    }
}
