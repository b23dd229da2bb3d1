//! `hil report merge`: two runs of disjoint selections merged have the shape of one run of both: the same files,
//! a row for every scenario, junit counts summed. A scenario in two inputs, or an output that is an input, is
//! refused with why.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// Every file under `dir`, relative to it, sorted.
fn shape(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = files_under(dir)
        .into_iter()
        .map(|(p, _)| p.strip_prefix(dir).unwrap().to_path_buf())
        .collect();
    files.sort();
    files
}

/// The `<testsuites>` element's `name="value"` attribute of a junit.xml.
fn suites_count(junit: &Path, name: &str) -> u32 {
    let xml = std::fs::read_to_string(junit).unwrap();
    let head = xml
        .split("<testsuites")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .unwrap_or_else(|| panic!("no <testsuites> in {xml}"));
    head.split(&format!(" {name}=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in <testsuites{head}>"))
}

#[test]
fn two_disjoint_runs_merge_into_the_shape_of_one_run_of_both() {
    let fx = Fixture::new();
    let good = fx.write("both/good.toml", &two_minute_scenario("good", 3, ""));
    let bad = fx.write("both/bad.toml", &two_minute_scenario("bad", 100, ""));
    let (part_good, part_bad, whole) = (fx.path("good"), fx.path("bad"), fx.path("whole"));
    let out = run_hil(&good, &part_good, &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run_hil(&bad, &part_bad, &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = run_hil(&fx.path("both"), &whole, &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let merged = fx.path("merged");
    let args = |out_dir: &Path, inputs: &[&Path]| -> Vec<String> {
        let mut args = vec!["report".to_string(), "merge".to_string()];
        args.extend(inputs.iter().map(|p| p.display().to_string()));
        args.extend(["--out".to_string(), out_dir.display().to_string()]);
        args
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hil(&args, &[])
    };
    let out = run(args(&merged, &[&part_good, &part_bad]));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("1 of 2 scenarios passed"), "{all}");

    assert_eq!(shape(&merged), shape(&whole), "the same files as one run's");
    for report in [&merged, &whole] {
        let summary = std::fs::read_to_string(report.join("summary.txt")).unwrap();
        let page = std::fs::read_to_string(report.join("index.html")).unwrap();
        for row in ["good      pass", "bad       FAIL"] {
            assert!(summary.contains(row), "{row:?} in {summary}");
        }
        assert!(summary.contains("firmware_sha256: "), "{summary}");
        for name in ["good", "bad"] {
            assert!(
                page.contains(&format!("<a href=\"#scenario-{name}\">{name}</a>")),
                "a row for {name} in {}",
                report.display()
            );
            assert!(page.contains(&format!("<section id=\"scenario-{name}\">")));
        }
        assert!(page.contains("1 of 2 scenarios passed"));
        assert_eq!(
            page.matches("tolerance ±0.15 V").count(),
            2,
            "each scenario's readings band, from its log alone in the merge, in {}",
            report.display()
        );
    }
    for count in ["tests", "failures", "errors"] {
        let summed = suites_count(&part_good.join("junit.xml"), count)
            + suites_count(&part_bad.join("junit.xml"), count);
        assert_eq!(
            suites_count(&merged.join("junit.xml"), count),
            summed,
            "{count}"
        );
        assert_eq!(
            suites_count(&whole.join("junit.xml"), count),
            summed,
            "{count}"
        );
    }
    let merged_log = std::fs::read(merged.join("bad/events.jsonl")).unwrap();
    assert_eq!(
        merged_log,
        std::fs::read(part_bad.join("bad/events.jsonl")).unwrap(),
        "each scenario's log copied as it was"
    );

    let out = run(args(&fx.path("twice"), &[&part_good, &whole]));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains(&format!(
            "scenario \"good\" is in both {} and {}",
            part_good.display(),
            whole.display()
        )),
        "{all}"
    );
    assert!(!fx.path("twice").exists(), "nothing written: {all}");
    let out = run(args(&part_good, &[&part_good, &part_bad]));
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("is also an input"), "{all}");
    assert!(
        part_good.join("good/events.jsonl").is_file(),
        "input untouched"
    );
}
