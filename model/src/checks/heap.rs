//! Heap headroom: the least free heap any wake left (in the chip's bytes, `board.heap`) stays at or above the
//! scenario's minimum, and no `MemoryError` reached the console. Only a twin board on the MicroPython VM reports
//! its heap; without reports the check is judged only where the scenario asks for it (and then fails, saying
//! why), so a rig's scenarios are not failed for what hardware cannot tell.

use super::view::RunView;
use super::Verdict;
use crate::events::Body;

/// What every scenario expects unless it says otherwise, in the chip's bytes. Two parts: the twin's heap estimate
/// may be ~10 % off the chip's for the ~20 KB the app uses (about 2 KiB), and MicroPython's heap does not compact,
/// so a firmware that peaks with less than a couple of KiB free meets MemoryError on an allocation it could fit
/// in total (the sampled low point also misses what is allocated between two calls into the chip).
pub const DEFAULT_MIN_FREE: u64 = 4096;

/// One wake's heap as the board reported it.
pub struct WakeHeap {
    pub t: f64,
    pub free_at_boot: u64,
    pub min_free: u64,
}

pub fn wakes(view: &RunView, board: &str) -> Vec<WakeHeap> {
    view.events()
        .iter()
        .filter_map(|e| match &e.body {
            Body::BoardHeap {
                board: b,
                free_at_boot,
                min_free,
            } if b == board => Some(WakeHeap {
                t: e.t,
                free_at_boot: *free_at_boot,
                min_free: *min_free,
            }),
            _ => None,
        })
        .collect()
}

/// `asked`: the scenario's own minimum, if it gives one.
pub fn check(asked: Option<u64>, view: &RunView, board: &str) -> Option<Verdict> {
    let min_free = asked.unwrap_or(DEFAULT_MIN_FREE);
    let memory_error = view.events().iter().find_map(|e| match &e.body {
        Body::Console { board: b, line } if b == board && line.contains("MemoryError") => {
            Some((e.t, line.as_str()))
        }
        _ => None,
    });
    if let Some((t, line)) = memory_error {
        return Some(Verdict::new(
            "heap",
            board,
            false,
            format!("the firmware ran out of heap at t={t:.1}s: {line}"),
        ));
    }
    let wakes = wakes(view, board);
    let Some(lowest) = wakes.iter().min_by_key(|w| w.min_free) else {
        return asked.map(|_| {
            Verdict::not_judged(
                "heap",
                board,
                "the board reported no heap (only twin boards on the MicroPython VM do)",
            )
        });
    };
    let pass = lowest.min_free >= min_free;
    let message = format!(
        "lowest free heap {} B of the chip's (wake at t={:.1}s, {} B free at boot), {} the {min_free} B headroom; \
         {} wakes reported",
        lowest.min_free,
        lowest.t,
        lowest.free_at_boot,
        if pass { "at or above" } else { "below" },
        wakes.len()
    );
    Some(Verdict::new("heap", board, pass, message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;
    use crate::events::Event;

    fn heap(t: f64, min_free: u64) -> Event {
        Event {
            t,
            body: Body::BoardHeap {
                board: "b".into(),
                free_at_boot: 31000,
                min_free,
            },
        }
    }

    fn console(t: f64, line: &str) -> Event {
        Event {
            t,
            body: Body::Console {
                board: "b".into(),
                line: line.into(),
            },
        }
    }

    fn verdict(asked: Option<u64>, events: &[Event]) -> Option<Verdict> {
        let mut all = vec![start(&["b"])];
        all.extend_from_slice(events);
        check(asked, &RunView::new(&all).unwrap(), "b")
    }

    #[test]
    fn the_lowest_wake_is_judged_against_the_default_headroom() {
        let v = verdict(None, &[heap(3.0, 9000), heap(60.0, 5000)]).unwrap();
        assert!(v.pass, "{v:?}");
        assert!(v.message.contains("lowest free heap 5000 B") && v.message.contains("t=60.0s"));
        let v = verdict(None, &[heap(3.0, 9000), heap(60.0, 4000)]).unwrap();
        assert!(!v.pass && v.message.contains("below the 4096 B"), "{v:?}");
        assert!(verdict(Some(10_000), &[heap(3.0, 9000)]).is_some_and(|v| !v.pass));
    }

    #[test]
    fn a_memory_error_fails_whatever_the_samples_say() {
        let v = verdict(
            None,
            &[
                heap(3.0, 20000),
                console(
                    2.0,
                    "MemoryError: memory allocation failed, allocating 4096 bytes",
                ),
            ],
        )
        .unwrap();
        assert!(
            !v.pass && v.message.contains("t=2.0s: MemoryError"),
            "{v:?}"
        );
    }

    #[test]
    fn without_reports_it_is_judged_only_when_asked_and_then_fails_saying_why() {
        assert!(verdict(None, &[]).is_none());
        let v = verdict(Some(4096), &[]).unwrap();
        assert!(
            !v.pass && !v.judged && v.message.starts_with("not judged"),
            "{v:?}"
        );
    }
}
