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
