//! Shared state of the twin bench: what each supply channel outputs and what each board draws from it.

use super::physics::{LoadAmps, Physics};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChannelState {
    pub set_volts: f64,
    pub limit_amps: f64,
    pub output_on: bool,
}

impl ChannelState {
    /// Volts at the output terminals (no load regulation modelled: the loads are tiny).
    pub fn output_volts(&self) -> f64 {
        if self.output_on {
            self.set_volts
        } else {
            0.0
        }
    }
}

/// What one board is doing, as its supply sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadState {
    Off,
    Awake,
    Asleep,
}

struct BoardLoad {
    channel: usize,
    physics: Physics,
    state: LoadState,
}

struct Inner {
    channels: Vec<ChannelState>,
    boards: Vec<BoardLoad>,
    /// Ground truth for timing checks: every change of a board's load, as it happens.
    load_watchers: Vec<mpsc::UnboundedSender<(usize, LoadState)>>,
}

pub struct BenchState {
    inner: Mutex<Inner>,
    /// The bench's WiFi access point; a `wifi-off` fault takes it down.
    wifi_up: AtomicBool,
    /// Bumped on every channel change so boards notice power loss at once.
    changed: watch::Sender<u64>,
}

impl BenchState {
    pub fn new(channels: usize) -> Self {
        BenchState {
            inner: Mutex::new(Inner {
                channels: vec![ChannelState::default(); channels],
                boards: Vec::new(),
                load_watchers: Vec::new(),
            }),
            changed: watch::channel(0).0,
            wifi_up: AtomicBool::new(true),
        }
    }

    pub fn set_wifi(&self, up: bool) {
        self.wifi_up.store(up, Ordering::SeqCst);
    }

    pub fn wifi_up(&self) -> bool {
        self.wifi_up.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves plain numbers behind: still safe to read.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn channel_count(&self) -> usize {
        self.lock().channels.len()
    }

    pub fn channel(&self, channel: usize) -> ChannelState {
        self.lock().channels[channel]
    }

    pub fn update_channel(&self, channel: usize, f: impl FnOnce(&mut ChannelState)) {
        f(&mut self.lock().channels[channel]);
        self.changed.send_modify(|n| *n += 1);
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Registers a board's load on a channel; returns its index for `set_load`.
    pub fn add_board(&self, channel: usize, physics: Physics) -> usize {
        let mut inner = self.lock();
        inner.boards.push(BoardLoad {
            channel,
            physics,
            state: LoadState::Off,
        });
        inner.boards.len() - 1
    }

    pub fn set_load(&self, board: usize, state: LoadState) {
        let mut inner = self.lock();
        if inner.boards[board].state != state {
            inner
                .load_watchers
                .retain(|w| w.send((board, state)).is_ok());
        }
        inner.boards[board].state = state;
    }

    /// Every later change of a board's load (board index as `add_board` returned it), as it happens.
    pub fn watch_loads(&self) -> mpsc::UnboundedReceiver<(usize, LoadState)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().load_watchers.push(tx);
        rx
    }

    pub fn load(&self, board: usize) -> LoadState {
        self.lock().boards[board].state
    }

    pub fn measured_volts(&self, channel: usize) -> f64 {
        self.lock().channels[channel].output_volts()
    }

    pub fn measured_amps(&self, channel: usize) -> f64 {
        let inner = self.lock();
        let volts = inner.channels[channel].output_volts();
        let total: f64 = inner
            .boards
            .iter()
            .filter(|b| b.channel == channel)
            .map(|b| match b.state {
                LoadState::Off => 0.0,
                LoadState::Awake => b.physics.supply_amps(volts, LoadAmps::Awake),
                LoadState::Asleep => b.physics.supply_amps(volts, LoadAmps::Asleep),
            })
            .sum();
        total.min(inner.channels[channel].limit_amps.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_is_the_sum_of_the_boards_on_the_channel() {
        let bench = BenchState::new(2);
        bench.update_channel(0, |c| {
            c.set_volts = 12.0;
            c.limit_amps = 1.0;
            c.output_on = true;
        });
        let a = bench.add_board(0, Physics::default());
        let b = bench.add_board(0, Physics::default());
        let other = bench.add_board(1, Physics::default());
        assert_eq!(bench.measured_amps(0), 0.0);
        bench.set_load(a, LoadState::Awake);
        let one = bench.measured_amps(0);
        bench.set_load(b, LoadState::Awake);
        bench.set_load(other, LoadState::Awake);
        assert!((bench.measured_amps(0) - 2.0 * one).abs() < 1e-12);
        assert_eq!(bench.measured_amps(1), 0.0, "channel 2 is off");
    }

    #[test]
    fn load_changes_are_reported_once_each() {
        let bench = BenchState::new(1);
        let board = bench.add_board(0, Physics::default());
        let mut changes = bench.watch_loads();
        bench.set_load(board, LoadState::Awake);
        bench.set_load(board, LoadState::Awake);
        bench.set_load(board, LoadState::Asleep);
        assert_eq!(changes.try_recv().unwrap(), (board, LoadState::Awake));
        assert_eq!(changes.try_recv().unwrap(), (board, LoadState::Asleep));
        assert!(changes.try_recv().is_err());
    }

    #[test]
    fn output_off_reads_zero_volts() {
        let bench = BenchState::new(1);
        bench.update_channel(0, |c| c.set_volts = 12.0);
        assert_eq!(bench.measured_volts(0), 0.0);
        bench.update_channel(0, |c| c.output_on = true);
        assert_eq!(bench.measured_volts(0), 12.0);
    }
}
