//! Shared state of the twin bench: what each supply channel outputs and what each board draws from it, and the
//! over-current protection that switches a channel off when its boards draw too much.

use super::physics::{LoadAmps, Physics};
use super::runtime::HeapReport;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChannelState {
    pub set_volts: f64,
    pub limit_amps: f64,
    pub output_on: bool,
    pub ocp: Ocp,
    /// Set when the protection switched the output off; the twin instrument clears it as its real one does.
    pub ocp_tripped: bool,
}

/// A channel's over-current protection, as its instrument armed it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub enum Ocp {
    #[default]
    Off,
    /// The output switches off once the current reaches this many amps (Rigol, Riden).
    Level(f64),
    /// The output switches off once the boards ask for the current limit or more (Korad).
    AtCurrentLimit,
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
    /// Each wake's heap, as the boards' VMs report it.
    heap_watchers: Vec<mpsc::UnboundedSender<(usize, HeapReport)>>,
    /// How late in device seconds each board woke from deep sleep, as it wakes.
    lag_watchers: Vec<mpsc::UnboundedSender<(usize, f64)>>,
    stretch_watchers: Vec<mpsc::UnboundedSender<(usize, f64)>>,
}

impl Inner {
    /// What the channel's boards draw at its output voltage, before the current limit.
    fn demand(&self, channel: usize) -> f64 {
        let volts = self.channels[channel].output_volts();
        self.boards
            .iter()
            .filter(|b| b.channel == channel)
            .map(|b| match b.state {
                LoadState::Off => 0.0,
                LoadState::Awake => b.physics.supply_amps(volts, LoadAmps::Awake),
                LoadState::Asleep => b.physics.supply_amps(volts, LoadAmps::Asleep),
            })
            .sum()
    }

    fn measured_amps(&self, channel: usize) -> f64 {
        self.demand(channel)
            .min(self.channels[channel].limit_amps.max(0.0))
    }

    /// Switches off every channel whose protection trips at what its boards draw now; returns whether one did.
    fn trip_protection(&mut self) -> bool {
        let mut tripped = false;
        for channel in 0..self.channels.len() {
            let state = self.channels[channel];
            let demand = self.demand(channel);
            let trips = demand > 0.0
                && match state.ocp {
                    Ocp::Off => false,
                    Ocp::Level(amps) => self.measured_amps(channel) >= amps,
                    Ocp::AtCurrentLimit => demand >= state.limit_amps,
                };
            if state.output_on && trips {
                let c = &mut self.channels[channel];
                c.output_on = false;
                c.ocp_tripped = true;
                tripped = true;
            }
        }
        tripped
    }
}

pub struct BenchState {
    inner: Mutex<Inner>,
    /// The bench's WiFi access point; a `wifi-off` fault takes it down.
    wifi_up: AtomicBool,
    /// Bumped on every channel change so boards notice power loss at once.
    changed: watch::Sender<u64>,
    /// Where every setting the channels receive is written, one line each, for checking what a run left behind.
    journal: Mutex<Option<std::fs::File>>,
}

impl BenchState {
    pub fn new(channels: usize) -> Self {
        BenchState {
            inner: Mutex::new(Inner {
                channels: vec![ChannelState::default(); channels],
                boards: Vec::new(),
                load_watchers: Vec::new(),
                heap_watchers: Vec::new(),
                lag_watchers: Vec::new(),
                stretch_watchers: Vec::new(),
            }),
            changed: watch::channel(0).0,
            wifi_up: AtomicBool::new(true),
            journal: Mutex::new(None),
        }
    }

    /// From now on, appends a line to `path` for every setting a channel receives (`hil bench up
    /// --supply-journal`): wall time, channel (1-based), and the channel's state after it.
    pub fn journal_to(&self, path: &std::path::Path) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        *self.journal.lock().unwrap_or_else(|e| e.into_inner()) = Some(file);
        Ok(())
    }

    fn write_journal(&self, channel: usize, state: &ChannelState) {
        use std::io::Write;
        let mut journal = self.journal.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = journal.as_mut() {
            let unix_ms = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            let line = format!(
                "{unix_ms} ch{} volts={:.3} limit={:.3} output={} ocp={:?}\n",
                channel + 1,
                state.set_volts,
                state.limit_amps,
                if state.output_on { "on" } else { "off" },
                state.ocp,
            );
            if let Err(e) = file.write_all(line.as_bytes()) {
                tracing::warn!("twin supply: writing its journal: {e}");
            }
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

    /// Changes a channel as its instrument was told to; its protection trips at once if the change makes the
    /// boards draw too much (or arms it while they do).
    pub fn update_channel(&self, channel: usize, f: impl FnOnce(&mut ChannelState)) {
        {
            let mut inner = self.lock();
            f(&mut inner.channels[channel]);
            inner.trip_protection();
            self.write_journal(channel, &inner.channels[channel]);
        }
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
        let tripped = inner.trip_protection();
        drop(inner);
        if tripped {
            self.changed.send_modify(|n| *n += 1);
        }
    }

    /// Every later change of a board's load (board index as `add_board` returned it), as it happens.
    pub fn watch_loads(&self) -> mpsc::UnboundedReceiver<(usize, LoadState)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().load_watchers.push(tx);
        rx
    }

    /// A wake's heap on board `board` (its `add_board` index), passed on to every watcher.
    pub fn report_heap(&self, board: usize, report: HeapReport) {
        self.lock()
            .heap_watchers
            .retain(|w| w.send((board, report)).is_ok());
    }

    /// Every later wake's heap report, by board index.
    pub fn watch_heaps(&self) -> mpsc::UnboundedReceiver<(usize, HeapReport)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().heap_watchers.push(tx);
        rx
    }

    /// How many device seconds after its scheduled time board `board` woke from deep sleep: the host running
    /// the twin could not keep up when this grows.
    pub fn report_lag(&self, board: usize, seconds: f64) {
        self.lock()
            .lag_watchers
            .retain(|w| w.send((board, seconds)).is_ok());
    }

    /// Every later wake's lag, by board index.
    pub fn watch_lags(&self) -> mpsc::UnboundedReceiver<(usize, f64)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().lag_watchers.push(tx);
        rx
    }

    /// How many device seconds the host added to a wake of board `board` that went to deep sleep: the time its
    /// firmware's process ran on a CPU or waited for one, times the speed. A chip's own work takes its own time;
    /// this grows with the speed and with the host's load.
    pub fn report_stretch(&self, board: usize, seconds: f64) {
        self.lock()
            .stretch_watchers
            .retain(|w| w.send((board, seconds)).is_ok());
    }

    /// Every later wake's stretch, by board index.
    pub fn watch_stretches(&self) -> mpsc::UnboundedReceiver<(usize, f64)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().stretch_watchers.push(tx);
        rx
    }

    pub fn load(&self, board: usize) -> LoadState {
        self.lock().boards[board].state
    }

    pub fn measured_volts(&self, channel: usize) -> f64 {
        self.lock().channels[channel].output_volts()
    }

    pub fn measured_amps(&self, channel: usize) -> f64 {
        self.lock().measured_amps(channel)
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
    fn protection_trips_when_the_boards_draw_its_level_and_not_before() {
        let bench = BenchState::new(2);
        for channel in 0..2 {
            bench.update_channel(channel, |c| {
                c.set_volts = 12.0;
                c.limit_amps = 1.0;
                c.output_on = true;
            });
        }
        let a = bench.add_board(0, Physics::default());
        let b = bench.add_board(1, Physics::default());
        bench.set_load(a, LoadState::Awake);
        let one = bench.measured_amps(0);
        bench.update_channel(0, |c| c.ocp = Ocp::Level(one * 1.5));
        bench.update_channel(1, |c| c.ocp = Ocp::Level(one * 0.5));
        assert!(bench.channel(0).output_on, "below its level");
        assert!(bench.channel(1).output_on, "nothing drawn yet");
        let mut changed = bench.subscribe();
        changed.mark_unchanged();
        bench.set_load(b, LoadState::Awake);
        let tripped = bench.channel(1);
        assert!(!tripped.output_on && tripped.ocp_tripped, "{tripped:?}");
        assert!(changed.has_changed().unwrap(), "boards are told at once");
        assert_eq!(bench.measured_amps(1), 0.0);
        assert!(bench.channel(0).output_on, "the other channel goes on");
    }

    #[test]
    fn protection_at_the_current_limit_trips_on_going_into_it() {
        let bench = BenchState::new(1);
        let board = bench.add_board(0, Physics::default());
        bench.update_channel(0, |c| {
            c.set_volts = 12.0;
            c.limit_amps = 0.01;
            c.ocp = Ocp::AtCurrentLimit;
        });
        bench.set_load(board, LoadState::Asleep);
        bench.update_channel(0, |c| c.output_on = true);
        assert!(bench.channel(0).output_on, "asleep is below the limit");
        bench.set_load(board, LoadState::Awake);
        assert!(bench.channel(0).ocp_tripped && !bench.channel(0).output_on);
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
