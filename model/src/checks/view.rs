//! Read-only queries over one run's event log, shared by the checks.

use crate::events::{BoardInfo, Body, Event};
use crate::payload::PayloadFormat;

pub struct RunView<'a> {
    events: &'a [Event],
    boards: Vec<BoardInfo>,
    payload: PayloadFormat,
}

/// One `reading` event, flattened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadingAt {
    pub t: f64,
    pub seq: Option<u64>,
    pub v: f64,
    pub late: bool,
    pub low: Option<bool>,
}

impl ReadingAt {
    /// For messages: `seq 41 at t=3.0s`, or `the reading at t=3.0s` when it has no seq.
    pub fn label(&self) -> String {
        match self.seq {
            Some(seq) => format!("seq {seq} at t={:.1}s", self.t),
            None => format!("the reading at t={:.1}s", self.t),
        }
    }
}

/// What the board was given for the run (its `board.config` event).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoardConfig<'a> {
    pub topic: &'a str,
    pub qos: u8,
    pub divider: f64,
    pub full_scale_volts: f64,
    /// The version the deployed app declares, if it declares one.
    pub fw: Option<&'a str>,
}

/// A log with no `scenario.start` event: the run it records never started, or the file is not a run's log.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the event log has no scenario.start event: it is not a complete run's log")]
pub struct IncompleteLog;

impl<'a> RunView<'a> {
    pub fn new(events: &'a [Event]) -> Result<Self, IncompleteLog> {
        let (boards, payload) = events
            .iter()
            .find_map(|e| match &e.body {
                Body::ScenarioStart {
                    boards, payload, ..
                } => Some((boards.clone(), payload.clone().unwrap_or_default())),
                _ => None,
            })
            .ok_or(IncompleteLog)?;
        Ok(RunView {
            events,
            boards,
            payload,
        })
    }

    /// How the run read the boards' payloads.
    pub fn payload(&self) -> &PayloadFormat {
        &self.payload
    }

    /// The whole log, for checks that need kinds no query here covers.
    pub fn events(&self) -> &'a [Event] {
        self.events
    }

    pub fn boards(&self) -> impl Iterator<Item = &str> {
        self.boards.iter().map(|b| b.name.as_str())
    }

    pub fn supply_of(&self, board: &str) -> Option<&str> {
        self.boards
            .iter()
            .find(|b| b.name == board)
            .map(|b| b.supply.as_str())
    }

    /// What the board was given for the run; None in logs from before hil recorded it.
    pub fn board_config(&self, board: &str) -> Option<BoardConfig<'a>> {
        self.events.iter().find_map(|e| match &e.body {
            Body::BoardConfig {
                board: b,
                topic,
                qos,
                divider,
                full_scale_volts,
                fw,
                ..
            } if b == board => Some(BoardConfig {
                topic,
                qos: *qos,
                divider: *divider,
                full_scale_volts: *full_scale_volts,
                fw: fw.as_deref(),
            }),
            _ => None,
        })
    }

    /// The run's last timestamp.
    pub fn end(&self) -> f64 {
        self.events.last().map_or(0.0, |e| e.t)
    }

    pub fn readings(&self, board: &str) -> Vec<ReadingAt> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::Reading {
                    board: b,
                    seq,
                    v,
                    late,
                    low,
                    ..
                } if b == board => Some(ReadingAt {
                    t: e.t,
                    seq: *seq,
                    v: *v,
                    late: *late,
                    low: *low,
                }),
                _ => None,
            })
            .collect()
    }

    /// (t, message) of every payload on the board's topic that was no reading in the run's format.
    pub fn reading_errors(&self, board: &str) -> Vec<(f64, &'a str)> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::ReadingError {
                    board: b, message, ..
                } if b == board => Some((e.t, message.as_str())),
                _ => None,
            })
            .collect()
    }

    /// (t, line) of every line on the board's console.
    pub fn console(&self, board: &str) -> Vec<(f64, &'a str)> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::Console { board: b, line } if b == board => Some((e.t, line.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Times of the ROM's reset banners on the board's console: the start of every wake, whatever the app prints.
    pub fn rom_banners(&self, board: &str) -> Vec<f64> {
        self.console(board)
            .into_iter()
            .filter(|(_, line)| rom_cause(line).is_some())
            .map(|(t, _)| t)
            .collect()
    }

    /// (t, reset reason) of every wake the board's console announced.
    pub fn wakes(&self, board: &str) -> Vec<(f64, &'a str)> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::BoardWake {
                    board: b, reset, ..
                } if b == board => Some((e.t, reset.as_str())),
                _ => None,
            })
            .collect()
    }

    /// (t, code) of every CONNACK seen for the board: from the tap when it saw any (it sees the wire), else as
    /// the board's console reported them.
    pub fn connacks(&self, board: &str) -> Vec<(f64, u8)> {
        let of = |tap: bool| -> Vec<(f64, u8)> {
            self.events
                .iter()
                .filter_map(|e| match &e.body {
                    Body::Connack {
                        board: b,
                        code,
                        source,
                        ..
                    } if b == board && source.starts_with("tap") == tap => Some((e.t, *code)),
                    _ => None,
                })
                .collect()
        };
        let wire = of(true);
        if wire.is_empty() {
            of(false)
        } else {
            wire
        }
    }

    /// (t, keepalive) of every CONNECT the tap saw from the board.
    pub fn connects(&self, board: &str) -> Vec<(f64, u16)> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::Connect {
                    board: b,
                    keepalive,
                    ..
                } if b == board => Some((e.t, *keepalive)),
                _ => None,
            })
            .collect()
    }

    /// Fault windows as the log recorded them: (start, end, description). A fault still on at the end of the log
    /// lasts until then.
    pub fn faults(&self) -> Vec<(f64, f64, &'a str)> {
        let mut windows = Vec::new();
        for e in self.events {
            if let Body::FaultStart { fault, .. } = &e.body {
                let end = self
                    .events
                    .iter()
                    .find(|x| {
                        x.t >= e.t && matches!(&x.body, Body::FaultEnd { fault: f } if f == fault)
                    })
                    .map_or(self.end(), |x| x.t);
                windows.push((e.t, end, fault.as_str()));
            }
        }
        windows
    }

    /// (wake, sleep) console times of each wake that announced its sleep.
    pub fn awake_windows(&self, board: &str) -> Vec<(f64, f64)> {
        let mut windows = Vec::new();
        let mut woke: Option<f64> = None;
        for e in self.events {
            match &e.body {
                Body::BoardWake { board: b, .. } if b == board => woke = Some(e.t),
                Body::BoardSleep { board: b, .. } if b == board => {
                    if let Some(w) = woke.take() {
                        windows.push((w, e.t));
                    }
                }
                _ => {}
            }
        }
        windows
    }

    /// (t, seq) of every reading the tap saw the board publish (none when the payload format has no seq).
    pub fn published_seqs(&self, board: &str) -> Vec<(f64, u64)> {
        let Some(key) = self.payload.seq_key() else {
            return Vec::new();
        };
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::Publish {
                    board: Some(b),
                    payload,
                    source,
                    ..
                } if b == board && source == "tap" => Some((e.t, payload.get(key)?.as_u64()?)),
                _ => None,
            })
            .collect()
    }

    /// Every seq a wake announced (`boot … seq=N`), with its time.
    pub fn announced_seqs(&self, board: &str) -> Vec<(f64, u64)> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::BoardWake {
                    board: b,
                    seq: Some(seq),
                    ..
                } if b == board => Some((e.t, *seq)),
                _ => None,
            })
            .collect()
    }

    /// The supply's current trace: (t, amps) of every sample on `supply`.
    pub fn supply_current(&self, supply: &str) -> Vec<(f64, f64)> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::SupplySample {
                    supply: s, amps, ..
                } if s == supply => Some((e.t, *amps)),
                _ => None,
            })
            .collect()
    }

    /// Whether `board` is the only board on its supply channel (its current is its own).
    pub fn alone_on_supply(&self, board: &str) -> bool {
        match self.supply_of(board) {
            Some(s) => self.boards.iter().filter(|b| b.supply == s).count() == 1,
            None => false,
        }
    }

    /// The range of the supply's measured volts from `t0` to `t1`: the sample in effect at `t0` and every
    /// sample up to `t1`.
    pub fn supply_volts_during(&self, supply: &str, t0: f64, t1: f64) -> Option<(f64, f64)> {
        let samples = self.events.iter().filter_map(|e| match &e.body {
            Body::SupplySample {
                supply: s, volts, ..
            } if s == supply => Some((e.t, *volts)),
            _ => None,
        });
        let mut before: Option<f64> = None;
        let mut range: Option<(f64, f64)> = None;
        for (t, v) in samples {
            if t <= t0 {
                before = Some(v);
            } else if t <= t1 {
                range = Some(range.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))));
            } else {
                break;
            }
        }
        match (before, range) {
            (Some(b), Some((lo, hi))) => Some((lo.min(b), hi.max(b))),
            (Some(b), None) => Some((b, b)),
            (None, r) => r,
        }
    }
}

/// The reset cause of the ROM's banner (`ets Jan  8 2013,rst cause:2, boot mode:(3,6)`), if the line is one.
pub(super) fn rom_cause(line: &str) -> Option<u32> {
    let rest = &line[line.find("rst cause:")? + "rst cause:".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
