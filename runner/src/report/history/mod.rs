//! `hil report history DIR... --out DIR`: one static page over many nights' reports: a scenario × night grid of
//! results, scenarios marked flaky where one firmware (its folder's hash) both passed and failed them, and per
//! scenario and board the trends a battery-monitor owner watches, each with its numbers in a table.

mod night;
mod trend;

use super::html::Esc;
use model::metrics::Metric;
use night::{Night, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use trend::{trend_figure, Series};

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("report history: {0}")]
    Read(#[from] super::ReadReportError),
    #[error(
        "report history: --out {} holds a run's report (junit.xml), whose index.html the page would replace; \
         write the history to a folder of its own",
        .0.display()
    )]
    OutIsReport(PathBuf),
    #[error("report history: writing {}: {cause}", path.display())]
    Write {
        path: PathBuf,
        cause: std::io::Error,
    },
}

/// The trend charts of a scenario's board: a title, the axis unit and the metrics drawn.
const TRENDS: [(&str, &str, &[Metric]); 4] = [
    (
        "reading error",
        "V",
        &[Metric::ReadingErrorP50, Metric::ReadingErrorP95],
    ),
    (
        "awake time per wake",
        "s",
        &[Metric::AwakeP50, Metric::AwakeP95],
    ),
    ("period error", "s", &[Metric::PeriodError]),
    (
        "lost or late readings",
        "readings",
        &[Metric::Lost, Metric::Late],
    ),
];

/// Reads the nights in `inputs`, oldest first, and writes `out`/index.html; gives the page's path.
pub fn write_history(inputs: &[PathBuf], out: &Path) -> Result<PathBuf, HistoryError> {
    if out.join("junit.xml").exists() {
        return Err(HistoryError::OutIsReport(out.to_path_buf()));
    }
    let mut nights = inputs
        .iter()
        .map(|dir| Night::read(dir))
        .collect::<Result<Vec<_>, _>>()?;
    // A stable sort: nights of one date keep the order they were given in.
    nights.sort_by(|a, b| a.date.cmp(&b.date));
    let page = out.join("index.html");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |cause| HistoryError::Write { path, cause }
    };
    std::fs::create_dir_all(out).map_err(io(out))?;
    std::fs::write(&page, render(&nights)).map_err(io(&page))?;
    Ok(page)
}

const STYLE: &str = "
body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pass { color: #17692c; }
td.fail { color: #b3161b; font-weight: 600; background: #fdecea; }
td.none { color: #999; }
.flaky { color: #8a5a00; font-weight: 600; }
figure.trend { display: inline-block; margin: .5em 1em .5em 0; }
figure svg { display: block; max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 13px; color: #444; }
.line-key { display: inline-block; width: 1.6em; border-top: 3px solid; vertical-align: middle; }
";

fn render(nights: &[Night]) -> String {
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>hil history: {} nights</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>hil history</h1>\n<p>{} nights, oldest first: a scenario is <span class=\"flaky\">flaky</span> where \
         one firmware (its folder's sha256) both passed and failed it.</p>\n",
        nights.len(),
        nights.len()
    );
    let scenarios: BTreeSet<&str> = nights
        .iter()
        .flat_map(|n| n.scenarios.keys().map(String::as_str))
        .collect();
    grid(&mut page, nights, &scenarios);
    for scenario in &scenarios {
        trends(&mut page, nights, scenario);
    }
    page.push_str("</body>\n</html>\n");
    page
}

/// The firmware hashes on which `scenario` both passed and failed.
fn flaky_on(nights: &[Night], scenario: &str) -> Vec<String> {
    let mut outcomes: BTreeMap<&str, BTreeSet<bool>> = BTreeMap::new();
    for s in nights.iter().filter_map(|n| n.scenarios.get(scenario)) {
        if s.outcome != Outcome::Error {
            outcomes
                .entry(s.firmware.as_str())
                .or_default()
                .insert(s.outcome == Outcome::Pass);
        }
    }
    outcomes
        .into_iter()
        .filter(|(_, seen)| seen.len() == 2)
        .map(|(firmware, _)| firmware.to_string())
        .collect()
}

fn grid(page: &mut String, nights: &[Night], scenarios: &BTreeSet<&str>) {
    page.push_str("<h2>results</h2>\n<table class=\"grid\">\n<tr><th>scenario</th><th>flaky</th>");
    for (i, night) in nights.iter().enumerate() {
        let _ = write!(
            page,
            "<th title=\"{}\">{}<br><small>{}</small></th>",
            Esc(&night.dir.display().to_string()),
            i + 1,
            Esc(&night.label())
        );
    }
    page.push_str("</tr>\n");
    for scenario in scenarios {
        let flaky = flaky_on(nights, scenario);
        let mark = if flaky.is_empty() {
            String::new()
        } else {
            let hashes: Vec<&str> = flaky.iter().map(|h| h.get(..8).unwrap_or(h)).collect();
            format!(
                "<span class=\"flaky\">flaky on firmware {}</span>",
                Esc(&hashes.join(", "))
            )
        };
        let _ = write!(
            page,
            "<tr data-scenario=\"{0}\"><td><a href=\"#trend-{0}\">{0}</a></td><td>{mark}</td>",
            Esc(scenario)
        );
        for night in nights {
            let (word, class) = match night.scenarios.get(*scenario).map(|s| s.outcome) {
                Some(Outcome::Pass) => ("pass", "pass"),
                Some(other) => (other.word(), "fail"),
                None => ("-", "none"),
            };
            let _ = write!(page, "<td class=\"{class}\">{word}</td>");
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n");
}

/// Per board of the scenario: the trend charts, then every metric per night in a table.
fn trends(page: &mut String, nights: &[Night], scenario: &str) {
    let _ = writeln!(
        page,
        "<section id=\"trend-{0}\">\n<h2>{0}</h2>",
        Esc(scenario)
    );
    let boards: BTreeSet<&str> = nights
        .iter()
        .filter_map(|n| n.scenarios.get(scenario))
        .flat_map(|s| s.metrics.keys().map(String::as_str))
        .collect();
    for board in boards {
        let value = |night: &Night, metric: Metric| {
            night
                .scenarios
                .get(scenario)?
                .metrics
                .get(board)?
                .get(&metric)
                .copied()
        };
        let _ = writeln!(page, "<h3>{}</h3>", Esc(board));
        for (title, unit, metrics) in TRENDS {
            let series: Vec<Series> = metrics
                .iter()
                .map(|m| Series {
                    name: m.label().to_string(),
                    values: nights.iter().map(|n| value(n, *m)).collect(),
                })
                .collect();
            page.push_str(&trend_figure(title, unit, nights.len(), &series));
        }
        let _ = write!(
            page,
            "<table class=\"values\" data-scenario=\"{}\" data-board=\"{}\">\n<tr><th>night</th>",
            Esc(scenario),
            Esc(board)
        );
        for m in Metric::ALL {
            let _ = write!(page, "<th>{}</th>", Esc(m.label()));
        }
        page.push_str("</tr>\n");
        for (i, night) in nights.iter().enumerate() {
            let _ = write!(page, "<tr><td>{}</td>", i + 1);
            for m in Metric::ALL {
                let text = value(night, m).map_or("-".to_string(), |v| m.text(v));
                let _ = write!(page, "<td class=\"num\">{}</td>", Esc(&text));
            }
            page.push_str("</tr>\n");
        }
        page.push_str("</table>\n");
    }
    page.push_str("</section>\n");
}
