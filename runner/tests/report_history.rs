//! `hil report history` over three real runs of one scenario: the firmware passing it, the same firmware failing
//! a stricter copy of it (so that one firmware hash both passed and failed: flaky), and a firmware copy whose
//! readings are 10 % high. The page orders the nights by date, shows each result in the grid, marks the scenario
//! flaky on the first firmware only, draws the trends, and its numbers are the metrics of each night's events.

mod common;
use common::*;
use model::metrics::{run_metrics, Metric};
use std::path::Path;

/// The firmware hash a report's log records.
fn firmware_hash(report: &Path) -> String {
    let log = std::fs::read_to_string(report.join("steady/events.jsonl")).unwrap();
    let start: serde_json::Value = serde_json::from_str(log.lines().next().unwrap()).unwrap();
    start["firmware_sha256"].as_str().unwrap().to_string()
}

/// The cells of each row of the page's table that starts with `opening`, header row left out.
fn table_rows(page: &str, opening: &str) -> Vec<Vec<String>> {
    let table = page
        .split(opening)
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap_or_else(|| panic!("no {opening} in the page"));
    table
        .split("<tr")
        .skip(2)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = cell.split_once('>').unwrap().1;
                    let text = inner.split("</td>").next().unwrap();
                    // Drop any markup inside the cell (a link, a mark).
                    let mut plain = String::new();
                    let mut in_tag = false;
                    for c in text.chars() {
                        match c {
                            '<' => in_tag = true,
                            '>' => in_tag = false,
                            c if !in_tag => plain.push(c),
                            _ => {}
                        }
                    }
                    plain
                })
                .collect()
        })
        .collect()
}

#[test]
fn three_nights_give_the_grid_a_flaky_mark_and_trends_whose_numbers_are_the_events() {
    let fx = Fixture::new();
    let passing = fx.write("passing/steady.toml", &two_minute_scenario("steady", 3, ""));
    let strict = fx.write(
        "strict/steady.toml",
        &two_minute_scenario("steady", 100, ""),
    );
    let firmware = fx.firmware_reading_high();

    let nights = [fx.path("n1"), fx.path("n2"), fx.path("n3")];
    let out = run_hil(&passing, &nights[0], &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run_hil(&strict, &nights[1], &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = run_hil(
        &passing,
        &nights[2],
        &["--quiet", "--firmware", firmware.to_str().unwrap()],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("readings.accuracy"), "{all}");
    let (good, bad) = (firmware_hash(&nights[0]), firmware_hash(&nights[2]));
    assert_eq!(firmware_hash(&nights[1]), good);
    assert_ne!(good, bad);

    let history = fx.path("history");
    // Given out of order: the page orders the nights by their date.
    let args: Vec<String> = ["report", "history"]
        .iter()
        .map(|s| s.to_string())
        .chain(
            [&nights[2], &nights[0], &nights[1]]
                .iter()
                .map(|p| p.display().to_string()),
        )
        .chain(["--out".to_string(), history.display().to_string()])
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = hil(&args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let page = std::fs::read_to_string(history.join("index.html")).unwrap();

    let heads: Vec<usize> = nights
        .iter()
        .map(|n| {
            page.find(&format!("title=\"{}\"", n.display()))
                .unwrap_or_else(|| panic!("no column for {}", n.display()))
        })
        .collect();
    assert!(heads[0] < heads[1] && heads[1] < heads[2], "nights by date");
    let grid = table_rows(&page, "<table class=\"grid\">");
    assert_eq!(grid.len(), 1, "{grid:?}");
    assert_eq!(grid[0][0], "steady");
    assert_eq!(
        grid[0][1],
        format!("flaky on firmware {}", &good[..8]),
        "flaky on the firmware that passed and failed it, not on the one that only failed"
    );
    assert_eq!(grid[0][2..], ["pass", "FAIL", "FAIL"]);
    assert_eq!(page.matches("<figure class=\"trend\"><svg").count(), 4);

    let values = table_rows(
        &page,
        "<table class=\"values\" data-scenario=\"steady\" data-board=\"twin-0\">",
    );
    assert_eq!(values.len(), 3);
    for (night, row) in nights.iter().zip(&values) {
        let events = model::events::read_log(&night.join("steady/events.jsonl")).unwrap();
        let metrics = &run_metrics(&events).unwrap()["twin-0"];
        let expected: Vec<String> = Metric::ALL
            .iter()
            .map(|m| metrics.get(m).map_or("-".to_string(), |v| m.text(*v)))
            .collect();
        assert_eq!(row[1..], expected, "{}", night.display());
    }
    let night = nights[0].to_str().unwrap();
    let out = hil(&["report", "history", night, "--out", night], &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("holds a run's report (junit.xml)"), "{all}");
    let error_p50 = |row: &Vec<String>| -> f64 { row[1].trim_end_matches(" V").parse().unwrap() };
    assert!(
        error_p50(&values[2]) > 1.0 && error_p50(&values[0]) < 0.05,
        "readings 10 % high at 12.6 V are over a volt off: {values:?}"
    );
}
