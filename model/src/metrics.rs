//! What a battery-monitor owner watches in a run, as numbers computed from its event log alone: how far readings
//! are off, how long a wake keeps the board awake, how well it keeps its period, how often it wakes and talks,
//! and how many readings were lost or late. Baselines and the history page compare runs by them.

use crate::checks::{delivery, drift, readings, IncompleteLog, RunView};
use crate::events::Event;
use std::collections::BTreeMap;

/// One number measured on one board's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Volts a timely reading lies outside what its supply measured while the board sampled it (0 inside).
    ReadingErrorP50,
    ReadingErrorP95,
    /// Seconds from a wake to its sleep.
    AwakeP50,
    AwakeP95,
    /// Seconds by which a wake-to-wake period missed the firmware's plan (its awake time plus the sleep it asked
    /// for): the median of each deep sleep's |slept − asked|.
    PeriodError,
    WakesPerHour,
    /// Messages the tap saw the board publish, per wake (a resend counts: it costs the battery too).
    MessagesPerWake,
    /// Seqs a wake announced that never arrived (absent where the payload carries no seq).
    Lost,
    /// Readings that arrived late (sent from the backlog by a later wake).
    Late,
}

/// Which way a change makes a metric worse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Worse {
    Higher,
    /// Either way: fewer wakes or messages is as suspect as more.
    EitherWay,
}

impl Metric {
    pub const ALL: [Metric; 9] = [
        Metric::ReadingErrorP50,
        Metric::ReadingErrorP95,
        Metric::AwakeP50,
        Metric::AwakeP95,
        Metric::PeriodError,
        Metric::WakesPerHour,
        Metric::MessagesPerWake,
        Metric::Lost,
        Metric::Late,
    ];

    /// The names a margin may be given for (`[expect] baseline_margin`, `--baseline-margin`): one per family of
    /// metrics, its percentiles together.
    pub const FAMILIES: [&'static str; 7] = [
        "reading_error",
        "awake",
        "period_error",
        "wakes_per_hour",
        "messages_per_wake",
        "lost",
        "late",
    ];

    /// The family a margin names it by.
    pub fn family(self) -> &'static str {
        match self {
            Metric::ReadingErrorP50 | Metric::ReadingErrorP95 => "reading_error",
            Metric::AwakeP50 | Metric::AwakeP95 => "awake",
            Metric::PeriodError => "period_error",
            Metric::WakesPerHour => "wakes_per_hour",
            Metric::MessagesPerWake => "messages_per_wake",
            Metric::Lost => "lost",
            Metric::Late => "late",
        }
    }

    /// Its name in reports and check messages.
    pub fn label(self) -> &'static str {
        match self {
            Metric::ReadingErrorP50 => "reading error p50",
            Metric::ReadingErrorP95 => "reading error p95",
            Metric::AwakeP50 => "awake time per wake p50",
            Metric::AwakeP95 => "awake time per wake p95",
            Metric::PeriodError => "period error",
            Metric::WakesPerHour => "wakes per hour",
            Metric::MessagesPerWake => "messages per wake",
            Metric::Lost => "lost readings",
            Metric::Late => "late readings",
        }
    }

    /// A value with its unit.
    pub fn text(self, value: f64) -> String {
        match self {
            Metric::ReadingErrorP50 | Metric::ReadingErrorP95 => format!("{value:.3} V"),
            Metric::AwakeP50 | Metric::AwakeP95 | Metric::PeriodError => format!("{value:.2} s"),
            Metric::WakesPerHour | Metric::MessagesPerWake => format!("{value:.2}"),
            Metric::Lost | Metric::Late => format!("{value:.0}"),
        }
    }

    pub fn worse(self) -> Worse {
        match self {
            Metric::WakesPerHour | Metric::MessagesPerWake => Worse::EitherWay,
            _ => Worse::Higher,
        }
    }

    /// A change this small is never beyond a margin: the measure's own resolution (an ADC count, a console line's
    /// timestamp), so that a baseline of 0 V error or 0 s drift does not make every run fail. Counts have none:
    /// one more lost reading is a change.
    pub fn noise(self) -> f64 {
        match self {
            Metric::ReadingErrorP50 | Metric::ReadingErrorP95 => 0.02,
            Metric::AwakeP50 | Metric::AwakeP95 | Metric::PeriodError => 0.2,
            Metric::WakesPerHour | Metric::MessagesPerWake | Metric::Lost | Metric::Late => 0.0,
        }
    }
}

/// The metrics one board's run gave: a metric the log cannot measure (no wake slept, no seq) is absent.
pub type BoardMetrics = BTreeMap<Metric, f64>;

/// Every board's metrics, by board name.
pub fn run_metrics(events: &[Event]) -> Result<BTreeMap<String, BoardMetrics>, IncompleteLog> {
    let view = RunView::new(events)?;
    Ok(view
        .boards()
        .map(|b| (b.to_string(), board_metrics(&view, b)))
        .collect())
}

pub fn board_metrics(view: &RunView, board: &str) -> BoardMetrics {
    let mut m = BoardMetrics::new();
    if let Some(supply) = view.supply_of(board) {
        let errors: Vec<f64> = readings::compare_with_supply(view, board, supply)
            .iter()
            .map(|c| c.error)
            .collect();
        put(&mut m, Metric::ReadingErrorP50, percentile(&errors, 0.5));
        put(&mut m, Metric::ReadingErrorP95, percentile(&errors, 0.95));
    }
    if let Some((windows, _)) = delivery::awake_windows(view, board) {
        let awake: Vec<f64> = windows.iter().map(|(w, s)| s - w).collect();
        put(&mut m, Metric::AwakeP50, percentile(&awake, 0.5));
        put(&mut m, Metric::AwakeP95, percentile(&awake, 0.95));
    }
    let misses: Vec<f64> = drift::sleeps(view, board)
        .iter()
        .map(|(_, asked, slept)| (slept - asked).abs())
        .collect();
    put(&mut m, Metric::PeriodError, percentile(&misses, 0.5));
    let mut wakes = view.wakes(board).len();
    if wakes == 0 {
        // Firmware that announces no wake (not ours): each wake starts at the ROM's reset banner.
        wakes = view.rom_banners(board).len();
    }
    let hours = view.end() / 3600.0;
    if hours > 0.0 {
        m.insert(Metric::WakesPerHour, wakes as f64 / hours);
    }
    if wakes > 0 {
        m.insert(
            Metric::MessagesPerWake,
            view.messages(board).len() as f64 / wakes as f64,
        );
    }
    let readings = view.readings(board);
    if view.payload().seq_key().is_some() && readings.iter().all(|r| r.seq.is_some()) {
        m.insert(
            Metric::Lost,
            delivery::seq_account(view, board).lost().len() as f64,
        );
    }
    m.insert(
        Metric::Late,
        readings.iter().filter(|r| r.late).count() as f64,
    );
    m
}

fn put(m: &mut BoardMetrics, metric: Metric, value: Option<f64>) {
    if let Some(v) = value {
        m.insert(metric, v);
    }
}

/// The nearest-rank percentile `p` (0..=1) of `values`; None when there are none.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((sorted.len() as f64 * p).ceil() as usize).max(1);
    sorted.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::Body;

    fn sleep(t: f64, board: &str, ms: u64) -> Event {
        Event {
            t,
            body: Body::BoardSleep {
                board: board.into(),
                ms,
            },
        }
    }

    fn late(mut e: Event) -> Event {
        if let Body::Reading { late, .. } = &mut e.body {
            *late = true;
        }
        e
    }

    /// Four wakes about 60 s apart over an hour, each sleep asking 55 s; seqs 0 and 2 published, seq 1 arriving
    /// late; timely readings 0.00, 0.10 and 0.30 V off the supply.
    fn night() -> Vec<Event> {
        let mut events = vec![start(&["b"]), sample(0.5, 12.60)];
        events.extend(wake_sending(1.0, "b", 0, &[0]));
        events.push(reading(3.4, "b", 0, 12.60));
        events.push(sleep(4.0, "b", 55_000));
        events.extend(wake_sending(60.0, "b", 1, &[]));
        events.push(sleep(64.0, "b", 55_000));
        events.extend(wake_sending(121.0, "b", 2, &[2]));
        events.push(reading(123.4, "b", 2, 12.50));
        events.push(late(reading(123.5, "b", 1, 12.90)));
        events.push(reading(123.6, "b", 2, 12.30));
        events.push(sleep(126.0, "b", 55_000));
        events.push(console(
            181.0,
            "b",
            "ets Jan  8 2013,rst cause:2, boot mode:(3,6)",
        ));
        events.push(wake_seq(182.0, "b", "deepsleep", 3));
        events.push(sample(3600.0, 12.60));
        events
    }

    #[test]
    fn each_metric_is_measured_from_the_log() {
        let all = run_metrics(&night()).unwrap();
        let m = &all["b"];
        let near = |metric: Metric, want: f64| {
            let got = m[&metric];
            assert!((got - want).abs() < 1e-9, "{metric:?}: {got} vs {want}");
        };
        // Errors 0.10, 0.00, 0.30 (the late one is not compared).
        near(Metric::ReadingErrorP50, 0.10);
        near(Metric::ReadingErrorP95, 0.30);
        // Awake from the boot line to the sleep line: 2, 3 and 4 s (wake_sending's boot line is 1 s in).
        near(Metric::AwakeP50, 3.0);
        near(Metric::AwakeP95, 4.0);
        // Sleeps from t=4, 64, 126 ending at the ROM banners 60, 121, 181: 56, 57, 55 s of 55 asked.
        near(Metric::PeriodError, 1.0);
        // Four wakes in the hour the log spans.
        near(Metric::WakesPerHour, 4.0);
        // Two messages over four wakes.
        near(Metric::MessagesPerWake, 0.5);
        // Seq 1 arrived late, from the monitor only: not lost. Seq 3 was announced after the last arrival.
        near(Metric::Lost, 0.0);
        near(Metric::Late, 1.0);
    }

    #[test]
    fn a_lost_seq_counts_and_what_cannot_be_measured_is_absent() {
        let events: Vec<Event> = night()
            .into_iter()
            .filter(|e| !matches!(e.body, Body::Reading { seq: Some(1), .. }))
            .collect();
        assert_eq!(run_metrics(&events).unwrap()["b"][&Metric::Lost], 1.0);
        let bare = vec![start(&["b"]), sample(0.5, 12.6)];
        let m = &run_metrics(&bare).unwrap()["b"];
        for absent in [
            Metric::ReadingErrorP50,
            Metric::AwakeP50,
            Metric::PeriodError,
            Metric::MessagesPerWake,
        ] {
            assert!(!m.contains_key(&absent), "{absent:?} in {m:?}");
        }
        assert!(run_metrics(&[sample(0.5, 12.6)]).is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(percentile(&v, 0.5), Some(3.0));
        assert_eq!(percentile(&v, 0.95), Some(5.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn every_metric_has_a_family_a_margin_can_name() {
        for m in Metric::ALL {
            assert!(Metric::FAMILIES.contains(&m.family()), "{m:?}");
        }
    }
}
