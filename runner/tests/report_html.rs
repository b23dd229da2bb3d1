//! `hil run` writes `index.html` beside `junit.xml`: the summary, two plots per board, the checks and the console,
//! with nothing fetched from elsewhere.

mod common;
use common::*;

#[test]
fn a_run_writes_a_self_contained_html_report() {
    let fx = Fixture::new();
    let scenario = fx.write("steady.toml", &short_scenario("steady", 12.6, 0, ""));
    let report = fx.path("report");
    let out = run_hil(&scenario, &report, &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let html = std::fs::read_to_string(report.join("index.html")).expect("index.html");

    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert_eq!(html.matches("<svg").count(), 2, "volts and activity plots");
    assert!(html.contains("<polyline"), "the supply traces are drawn");
    assert!(html.contains("<h3>twin-0</h3>"));
    assert!(html.contains("<a href=\"steady/events.jsonl\">"));
    assert!(html.contains("<td>readings.accuracy</td><td class=\"result pass\">pass</td>"));
    assert!(html.contains("<details><summary>console ("));
    assert!(html.contains("boot reset=power-on seq=0"));

    for external in ["<link", "<script", "<img", "src=", "url(", "@import"] {
        assert!(!html.contains(external), "{external} in the page");
    }
    // The SVG namespace is a name, never fetched; nothing else may point off the machine.
    let rest = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(
        !rest.contains("http://") && !rest.contains("https://"),
        "a web address in the page"
    );
}

#[test]
fn a_reused_report_folder_says_what_was_tested_and_loses_the_last_runs_scenarios() {
    let fx = Fixture::new();
    let scenario = fx.write("steady.toml", &short_scenario("steady", 12.6, 0, ""));
    let report = fx.path("report");
    let stale = report.join("from-last-night");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("events.jsonl"), "").unwrap();
    let out = run_hil(&scenario, &report, &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!stale.exists(), "the earlier run's scenario folder is gone");

    let firmware = project_root().join("firmware").join("app");
    let hash = runner::tested::content_hash(&firmware).unwrap();
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(
        html.contains(&format!("<th>firmware_sha256</th><td>{hash}</td>")),
        "{html}"
    );
    assert!(html.contains("<th>fw</th><td>0.1.0</td>"));
    assert!(html.contains("<th>rig</th><td>twin bench</td>"));
    assert!(html.contains("<a href=\"#scenario-steady\">steady</a>"));

    let junit = std::fs::read_to_string(report.join("junit.xml")).unwrap();
    for name in ["commit", "hil", "date", "firmware", "fw", "rig", "broker"] {
        assert!(
            junit.contains(&format!("<property name=\"{name}\" value=\"")),
            "{name}: {junit}"
        );
    }
    assert!(junit.contains(&format!(
        "<property name=\"firmware_sha256\" value=\"{hash}\"/>"
    )));
    let summary = std::fs::read_to_string(report.join("summary.txt")).unwrap();
    assert!(
        summary.contains(&format!("firmware_sha256: {hash}")),
        "{summary}"
    );

    let log = std::fs::read_to_string(report.join("steady/events.jsonl")).unwrap();
    let start: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    assert_eq!(start["kind"], "scenario.start");
    assert_eq!(start["firmware_sha256"], hash.as_str());
    assert_eq!(start["hil"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn a_report_folder_holding_something_else_is_refused_untouched() {
    let fx = Fixture::new();
    let scenario = fx.write("steady.toml", &short_scenario("steady", 12.6, 0, ""));
    let report = fx.path("mine");
    std::fs::create_dir_all(&report).unwrap();
    std::fs::write(report.join("thesis.tex"), "keep me").unwrap();
    let out = run_hil(&scenario, &report, &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is not a hil report") && stderr.contains("thesis.tex"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(report.join("thesis.tex")).unwrap(),
        "keep me"
    );
}

/// A run stopped by Ctrl-C while its first scenario runs: index.html still lists every selected scenario, the
/// one that could not run on this broker as skipped and the one the stop came before as not run, each with why.
#[test]
fn every_selected_scenario_has_a_row_skipped_and_not_run_ones_with_why() {
    let fx = Fixture::new();
    fx.write("suite/first.toml", &short_scenario("first", 12.6, 0, ""));
    fx.write("suite/second.toml", &short_scenario("second", 12.6, 0, ""));
    fx.write(
        "suite/refused.toml",
        &short_scenario("refused", 12.6, 5, "")
            .replace("duration =", "requires = [\"mosquitto\"]\nduration ="),
    );
    let (suite, report) = (fx.path("suite"), fx.path("report"));
    let args = [
        "run",
        suite.to_str().unwrap(),
        "--broker",
        "embedded",
        "--jobs",
        "1",
        "--speed",
        TEST_SPEED,
        "--quiet",
        "--report",
        report.to_str().unwrap(),
    ];
    let run = spawn_hil(&args, &[("HIL_LOG", "warn")]);
    wait_for_log(
        &report.join("first/events.jsonl"),
        "\"kind\":\"scenario.start\"",
        std::time::Duration::from_secs(60),
    );
    signal(&run, "-INT");
    let out = finish(run, "the interrupted run");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(
        html.contains("0 of 3 scenarios passed (1 skipped, 1 not run)"),
        "{html}"
    );
    assert!(html.contains(
        "<a href=\"#scenario-first\">first</a></td><td class=\"result fail\">STOPPED</td>"
    ));
    let row = |name: &str, word: &str| {
        format!("<tr class=\"unjudged\"><td>{name}</td><td class=\"result unjudged\">{word}</td>")
    };
    assert!(html.contains(&row("refused", "skip")), "{html}");
    assert!(html.contains("requires mosquitto"));
    assert!(html.contains(&row("second", "not run")), "{html}");
    assert!(html.contains("the run was stopped (Ctrl-C or SIGTERM) before it started"));
    let summary = std::fs::read_to_string(report.join("summary.txt")).unwrap();
    assert!(summary.contains("1 skipped, 1 not run"), "{summary}");
}
