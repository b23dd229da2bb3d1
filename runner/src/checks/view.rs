//! Read-only queries over one run's event log, shared by the checks.

use crate::events::{BoardInfo, Body, Event};

pub struct RunView<'a> {
    events: &'a [Event],
    boards: Vec<BoardInfo>,
}

/// One `reading` event, flattened.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadingAt {
    pub t: f64,
    pub seq: u64,
    pub v: f64,
    pub late: bool,
}

impl<'a> RunView<'a> {
    pub fn new(events: &'a [Event]) -> Result<Self, String> {
        let boards = events
            .iter()
            .find_map(|e| match &e.body {
                Body::ScenarioStart { boards, .. } => Some(boards.clone()),
                _ => None,
            })
            .ok_or("the event log has no scenario.start event: it is not a complete run's log")?;
        Ok(RunView { events, boards })
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
                    ..
                } if b == board => Some(ReadingAt {
                    t: e.t,
                    seq: *seq,
                    v: *v,
                    late: *late,
                }),
                _ => None,
            })
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

    /// (t, code) of every CONNACK seen for the board.
    pub fn connacks(&self, board: &str) -> Vec<(f64, u8)> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::Connack { board: b, code, .. } if b == board => Some((e.t, *code)),
                _ => None,
            })
            .collect()
    }

    /// The supply sample closest in time to `t` on `supply`: (sample time, measured volts).
    pub fn supply_volts_near(&self, supply: &str, t: f64) -> Option<(f64, f64)> {
        self.events
            .iter()
            .filter_map(|e| match &e.body {
                Body::SupplySample {
                    supply: s, volts, ..
                } if s == supply => Some((e.t, *volts)),
                _ => None,
            })
            .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
    }
}
