//! `--partition K/N`: one of N deterministic parts of the selected scenarios, balanced by device time, so N
//! benches share a night without anything coordinating them.

use model::scenario::Scenario;
use std::str::FromStr;

/// Part `k` of `n` (1-based), as `--partition K/N` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub k: usize,
    pub n: usize,
}

/// A `--partition` that is not K/N with 1 ≤ K ≤ N.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0:?}: a partition is K/N with 1 ≤ K ≤ N ≤ 64, e.g. 1/2 and 2/2 for two benches")]
pub struct BadPartition(String);

impl FromStr for Partition {
    type Err = BadPartition;

    fn from_str(s: &str) -> Result<Partition, BadPartition> {
        let bad = || BadPartition(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n) = (
            k.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if k == 0 || k > n || n > 64 {
            return Err(bad());
        }
        Ok(Partition { k, n })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl Partition {
    /// This part's scenarios, in their given order. Longest first (ties by name), each scenario goes to the
    /// part with the least device time so far (ties to the lowest part): the same split wherever it is computed,
    /// and no part more than the longest scenario above another.
    pub fn select(self, scenarios: Vec<Scenario>) -> Vec<Scenario> {
        let parts = parts_of(&scenarios, self.n);
        scenarios
            .into_iter()
            .zip(parts)
            .filter(|(_, part)| *part == self.k - 1)
            .map(|(s, _)| s)
            .collect()
    }
}

/// The 0-based part of each scenario, in the scenarios' order.
fn parts_of(scenarios: &[Scenario], n: usize) -> Vec<usize> {
    let longest_first = super::longest_first(scenarios);
    let mut load = vec![0.0_f64; n];
    let mut parts = vec![0; scenarios.len()];
    for index in longest_first {
        let lightest = (0..n)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .unwrap_or(0);
        load[lightest] += scenarios[index].duration;
        parts[index] = lightest;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::diagnostic::UserTomlFile;
    use std::path::Path;

    fn scenario(name: &str, duration: &str) -> Scenario {
        let src = format!(
            "name = \"{name}\"\nduration = \"{duration}\"\n[supply]\nprofile = [{{ at = \"0s\", volts = 12.6 }}]\n"
        );
        Scenario::parse(Path::new("s.toml"), &src).unwrap()
    }

    fn names(scenarios: &[Scenario]) -> Vec<&str> {
        scenarios.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn k_of_n_parses_and_anything_else_is_refused_with_the_form() {
        assert_eq!("2/3".parse(), Ok(Partition { k: 2, n: 3 }));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0", "1/65", ""] {
            let e = bad.parse::<Partition>().unwrap_err().to_string();
            assert!(e.contains("K/N with 1 ≤ K ≤ N"), "{bad}: {e}");
        }
    }

    #[test]
    fn parts_take_every_scenario_once_balanced_within_the_longest() {
        let all: Vec<Scenario> = [
            ("a", "12m"),
            ("b", "8m"),
            ("c", "6m"),
            ("d", "6m"),
            ("e", "5m"),
            ("f", "4m"),
            ("g", "4m"),
            ("h", "2m"),
        ]
        .iter()
        .map(|(n, d)| scenario(n, d))
        .collect();
        for n in 1..=4 {
            let parts: Vec<Vec<Scenario>> = (1..=n)
                .map(|k| Partition { k, n }.select(all.clone()))
                .collect();
            let mut seen: Vec<&str> = parts.iter().flat_map(|p| names(p)).collect();
            seen.sort_unstable();
            assert_eq!(seen, names(&all), "{n} parts");
            let loads: Vec<f64> = parts
                .iter()
                .map(|p| p.iter().map(|s| s.duration).sum())
                .collect();
            let spread = loads.iter().cloned().fold(0.0, f64::max)
                - loads.iter().cloned().fold(f64::INFINITY, f64::min);
            assert!(spread <= 12.0 * 60.0, "{n} parts: {loads:?}");
        }
        let first = Partition { k: 1, n: 2 }.select(all.clone());
        assert_eq!(
            names(&first),
            ["a", "d", "f", "h"],
            "c before d: ties go by name"
        );
        assert_eq!(
            names(&Partition { k: 1, n: 2 }.select(all)),
            names(&first),
            "the same split every time"
        );
    }
}
