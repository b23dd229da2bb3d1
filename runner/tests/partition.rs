//! `hil run --partition K/N` on the twin bench: parts 1/2 and 2/2 of one selection together run every scenario
//! once, their device times within the longest scenario of each other; a malformed part is refused.

mod common;
use common::*;
use std::collections::BTreeMap;

/// The scenarios a run's report holds, by the folders holding their event logs.
fn ran(report: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(report)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            e.path()
                .join("events.jsonl")
                .exists()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn two_parts_run_every_scenario_once_balanced_by_device_time() {
    let fx = Fixture::new();
    let seconds: BTreeMap<&str, f64> = [
        ("p-long", 90.0),
        ("p-mid-a", 60.0),
        ("p-mid-b", 60.0),
        ("p-short-a", 40.0),
        ("p-short-b", 30.0),
    ]
    .into_iter()
    .collect();
    for (name, secs) in &seconds {
        fx.write(
            &format!("s/{name}.toml"),
            &format!(
                "name = \"{name}\"\nduration = \"{secs}s\"\n[firmware]\nsleep = \"10s\"\n\
                 [supply]\nprofile = [{{ at = \"0s\", volts = 12.4 }}]\n\
                 [expect]\nreadings = {{ within_volts = 0.15, min_count = 1 }}\nconnack = 0\n"
            ),
        );
    }
    let dir = fx.path("s");
    let mut parts = Vec::new();
    for part in ["1/2", "2/2"] {
        let report = fx.path(&format!("report-{}", &part[..1]));
        let out = run_hil(&dir, &report, &["--partition", part], &[]);
        let all = text(&out);
        assert_eq!(out.status.code(), Some(0), "{part}:\n{all}");
        assert!(all.contains(&format!("partition {part}: ")), "{all}");
        parts.push(ran(&report));
    }
    let mut together: Vec<&String> = parts.iter().flatten().collect();
    together.sort();
    let every: Vec<String> = seconds.keys().map(|s| s.to_string()).collect();
    assert_eq!(together, every.iter().collect::<Vec<_>>(), "{parts:?}");
    let load = |part: &[String]| -> f64 { part.iter().map(|n| seconds[n.as_str()]).sum() };
    let (a, b) = (load(&parts[0]), load(&parts[1]));
    assert!((a - b).abs() <= 90.0, "{parts:?}: {a} s against {b} s");

    let bad = run_hil(&dir, &fx.path("report-bad"), &["--partition", "3/2"], &[]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("a partition is K/N with 1 ≤ K ≤ N"),
        "{}",
        text(&bad)
    );
}
