//! Awake windows read off the supply's current trace: what a bench supply sees of a board that wakes and sleeps.

/// Awake spans (start, end) in a (t, amps) trace, and the threshold used: a level geometrically halfway between
/// the asleep and awake currents. None when the trace shows no two distinct levels.
pub fn awake_windows(trace: &[(f64, f64)]) -> Option<(Vec<(f64, f64)>, f64)> {
    let mut levels: Vec<f64> = trace.iter().map(|(_, a)| *a).filter(|a| *a > 0.0).collect();
    if levels.len() < 4 {
        return None;
    }
    levels.sort_by(f64::total_cmp);
    let pick = |q: f64| levels[((levels.len() - 1) as f64 * q).round() as usize];
    let (low, high) = (pick(0.05), pick(0.95));
    if high < 3.0 * low.max(1e-9) {
        return None;
    }
    let threshold = (low.max(1e-6) * high).sqrt();
    let mut windows = Vec::new();
    let mut rise: Option<f64> = None;
    let mut previous: Option<f64> = None;
    for &(t, amps) in trace {
        // An edge lies between two samples: its midpoint is within half a sample period of the truth.
        let edge = previous.map_or(t, |p| (p + t) / 2.0);
        match (rise, amps > threshold) {
            (None, true) => rise = Some(edge),
            (Some(start), false) => {
                windows.push((start, edge));
                rise = None;
            }
            _ => {}
        }
        previous = Some(t);
    }
    Some((windows, threshold))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half the 0.2 s sample period, with room for floating-point rounding.
    const HALF_SAMPLE: f64 = 0.1 + 1e-9;

    #[test]
    fn finds_awake_spans_to_half_a_sample() {
        let trace: Vec<(f64, f64)> = (0..100)
            .map(|i| {
                let t = i as f64 * 0.2;
                let awake = (2.0..4.5).contains(&t) || (12.0..14.0).contains(&t);
                (t, if awake { 0.024 } else { 0.00016 })
            })
            .collect();
        let (windows, threshold) = awake_windows(&trace).unwrap();
        assert!(threshold > 0.00016 && threshold < 0.024);
        assert_eq!(windows.len(), 2);
        assert!(
            (windows[0].0 - 2.0).abs() <= HALF_SAMPLE && (windows[0].1 - 4.5).abs() <= HALF_SAMPLE,
            "{windows:?}"
        );
        assert!(
            (windows[1].0 - 12.0).abs() <= HALF_SAMPLE
                && (windows[1].1 - 14.0).abs() <= HALF_SAMPLE,
            "{windows:?}"
        );
    }

    #[test]
    fn a_flat_trace_has_no_windows() {
        let trace: Vec<(f64, f64)> = (0..50).map(|i| (i as f64, 0.02)).collect();
        assert_eq!(awake_windows(&trace), None);
    }
}
