//! `index.html`: one self-contained page (inline CSS and SVG, no script, nothing fetched) built from the outcomes
//! and their event logs: the summary table, then per scenario and board the plots, the checks and the console.

mod plot;
mod plot_marks;
mod side_by_side;

use super::baseline::RunMetrics;
use super::{RunHeader, Skipped};
use crate::exec::ScenarioOutcome;
use model::events::{read_log, Body, Event};
use plot::{activity_figure, volts_figure, FaultSpan, Reported, VoltsPlot};
use std::fmt::{self, Display, Write};
use std::path::Path;

/// One scenario's outcome with the events its log holds.
pub struct ScenarioRecord<'a> {
    pub outcome: &'a ScenarioOutcome,
    pub events: Vec<Event>,
    /// Why the log could not be read (a set-up error before it was created, say); the page says so.
    pub log_error: Option<String>,
    /// The log's path relative to the page, for a link to it.
    pub log_href: Option<String>,
    /// With `--baseline`: the baseline's metrics of this scenario (None when it did not run it).
    pub baseline: Option<Option<&'a RunMetrics>>,
}

/// Reads each outcome's event log back and writes the page. A log that cannot be read leaves that scenario
/// without plots rather than failing the report.
pub fn write_html(
    header: &RunHeader,
    outcomes: &[ScenarioOutcome],
    skipped: &[Skipped],
    path: &Path,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let records: Vec<ScenarioRecord> = outcomes
        .iter()
        .map(|outcome| {
            let (events, log_error) = match read_log(&outcome.events_path) {
                Ok(events) => (events, None),
                Err(e) => (Vec::new(), Some(e.to_string())),
            };
            let log_href = outcome.events_path.strip_prefix(dir).ok().map(|p| {
                let parts: Vec<_> = p.iter().map(|c| c.to_string_lossy()).collect();
                parts.join("/")
            });
            ScenarioRecord {
                outcome,
                events,
                log_error,
                log_href,
                baseline: header.baseline.as_ref().map(|b| b.of(&outcome.scenario)),
            }
        })
        .collect();
    std::fs::write(path, render_html(header, &records, skipped))
}

/// The page, as a pure function of the header, the records and the selected scenarios that did not run.
pub fn render_html(header: &RunHeader, records: &[ScenarioRecord], skipped: &[Skipped]) -> String {
    let mut page = String::new();
    let passed = records.iter().filter(|r| r.outcome.passed()).count();
    // Every selected scenario counts: one that did not run is not a pass.
    let selected = records.len() + skipped.len();
    let mut tally = format!("{passed} of {selected} scenarios passed");
    if !skipped.is_empty() {
        let _ = write!(tally, " ({})", Skipped::counts(skipped));
    }
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>hil report: {passed} of {selected} passed</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>hil report</h1>\n<p class=\"{}\">{tally}</p>\n",
        if passed == selected { "pass" } else { "fail" },
    );
    tested(&mut page, header);
    summary(&mut page, records, skipped);
    for record in records {
        scenario(&mut page, record);
    }
    page.push_str("</body>\n</html>\n");
    page
}

const STYLE: &str = "
body { font: 15px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1000px; padding: 0 1em; color: #222; }
h2 { margin-top: 2em; border-bottom: 2px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #17692c; }
.fail { color: #b3161b; font-weight: 600; }
tr.fail td { background: #fdecea; }
tr.unjudged td { background: #fff4d6; }
.unjudged { color: #8a5a00; }
.result { font-weight: 700; }
figure { margin: 1em 0; }
figure svg { display: block; max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 13px; color: #444; }
.swatch { display: inline-block; width: 1.4em; height: .8em; vertical-align: middle; }
.line-key { display: inline-block; width: 1.6em; border-top: 3px solid; vertical-align: middle; }
details { margin: .5em 0 1.5em; }
summary { cursor: pointer; }
pre { background: #f6f6f6; padding: .5em; overflow-x: auto; font-size: 12px; }
.stderr { color: #b3161b; }
.muted { color: #666; }
";

/// HTML-escaped text. Control characters other than tab and newline are not allowed in HTML, so they show as �.
pub struct Esc<'a>(pub &'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\t' | '\n' => f.write_char(c)?,
                c if c.is_control() => f.write_char('\u{fffd}')?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

fn result_word(o: &ScenarioOutcome) -> (&'static str, &'static str) {
    if o.error.is_some() {
        ("ERROR", "fail")
    } else if o.interrupted {
        ("STOPPED", "fail")
    } else if o.passed() {
        ("pass", "pass")
    } else {
        ("FAIL", "fail")
    }
}

fn anchor(scenario: &str) -> String {
    format!("scenario-{}", Esc(scenario))
}

/// What the run tested, as a table of named values.
fn tested(page: &mut String, header: &RunHeader) {
    page.push_str("<table class=\"tested\">\n");
    for (name, value) in header.properties() {
        let _ = writeln!(
            page,
            "<tr><th>{}</th><td>{}</td></tr>",
            Esc(name),
            Esc(&value)
        );
    }
    page.push_str("</table>\n");
}

fn summary(page: &mut String, records: &[ScenarioRecord], skipped: &[Skipped]) {
    page.push_str(
        "<table>\n<tr><th>scenario</th><th>result</th><th>readings</th><th>wall time</th>\
         <th>failed checks</th></tr>\n",
    );
    for r in records {
        let o = r.outcome;
        let (word, class) = result_word(o);
        let mut failed = o.failed_checks();
        if let Some(e) = &o.error {
            failed.insert(0, format!("error: {e}"));
        }
        let _ = writeln!(
            page,
            "<tr class=\"{class}\"><td><a href=\"#{}\">{}</a></td><td class=\"result {class}\">{word}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{:.1} s</td><td>{}</td></tr>",
            anchor(&o.scenario),
            Esc(&o.scenario),
            o.readings,
            o.wall.as_secs_f64(),
            Esc(&failed.join(", ")),
        );
    }
    for s in skipped {
        let _ = writeln!(
            page,
            "<tr class=\"unjudged\"><td>{}</td><td class=\"result unjudged\">{}</td>\
             <td class=\"num\">-</td><td class=\"num\">-</td><td>{}</td></tr>",
            Esc(&s.scenario),
            s.kind.word(),
            Esc(&s.reason),
        );
    }
    page.push_str("</table>\n");
}

fn scenario(page: &mut String, record: &ScenarioRecord) {
    let o = record.outcome;
    let (word, class) = result_word(o);
    let _ = writeln!(
        page,
        "<section id=\"{}\">\n<h2>{} — <span class=\"{class}\">{word}</span></h2>",
        anchor(&o.scenario),
        Esc(&o.scenario),
    );
    let start = record.events.iter().find_map(|e| match &e.body {
        Body::ScenarioStart {
            speed,
            boards,
            broker,
            within_volts,
            ..
        } => Some((speed, boards, broker, *within_volts)),
        _ => None,
    });
    // The readings tolerance as the log recorded it, so a report rebuilt from logs alone draws the same band.
    let within_volts = start.and_then(|(_, _, _, within)| within);
    // Device time runs from 0; a log shorter than a second still gets a readable axis.
    let t_end = record.events.last().map_or(0.0, |e| e.t).max(1.0);
    if let Some((speed, _, broker, _)) = start {
        let _ = writeln!(
            page,
            "<p class=\"muted\">{t_end:.1} s of device time at {speed}× · broker: {}</p>",
            Esc(broker),
        );
    }
    if let Some(href) = &record.log_href {
        let _ = writeln!(
            page,
            "<p class=\"muted\">event log: <a href=\"{}\">{}</a></p>",
            Esc(href),
            Esc(href)
        );
    }
    if let Some(e) = &o.error {
        let _ = writeln!(page, "<p class=\"fail\">error: {}</p>", Esc(e));
    }
    if o.interrupted {
        page.push_str("<p class=\"fail\">interrupted before the scenario's end</p>\n");
    }
    if let Some(e) = &record.log_error {
        let _ = writeln!(
            page,
            "<p class=\"muted\">no event log to plot: {}</p>",
            Esc(e)
        );
    }
    let general: Vec<_> = o.verdicts.iter().filter(|v| v.board.is_none()).collect();
    if !general.is_empty() {
        checks(page, &general);
    }
    let faults = fault_spans(&record.events, t_end);
    for board in &o.boards {
        let info = start.and_then(|(_, boards, _, _)| boards.iter().find(|b| &b.name == board));
        let _ = write!(page, "<h3>{}</h3>\n<p class=\"muted\">", Esc(board));
        if let Some(info) = info {
            let _ = write!(
                page,
                "MAC {} · supply {}",
                Esc(&info.mac),
                Esc(&info.supply)
            );
        }
        page.push_str("</p>\n");
        let supply = info.map(|i| i.supply.as_str());
        let trace = BoardTrace::new(&record.events, board, supply, t_end);
        page.push_str(&volts_figure(&VoltsPlot {
            t_end,
            supply: &trace.volts,
            off: &trace.output_off,
            readings: &trace.readings,
            faults: &faults,
            within_volts,
            marks: &plot_marks::PlotMarks::of(&record.events, board, supply, t_end),
        }));
        page.push_str(&activity_figure(
            t_end,
            &trace.awake,
            &trace.asleep,
            &trace.current_ma,
            supply.unwrap_or("(unknown)"),
        ));
        heap(page, &trace.heap);
        if let Some(baseline) = record.baseline {
            let this = model::metrics::run_metrics(&record.events).unwrap_or_default();
            let empty = model::metrics::BoardMetrics::new();
            side_by_side::metrics_table(
                page,
                this.get(board).unwrap_or(&empty),
                baseline.and_then(|b| b.get(board)),
            );
        }
        let verdicts: Vec<_> = o
            .verdicts
            .iter()
            .filter(|v| v.board.as_ref() == Some(board))
            .collect();
        if verdicts.is_empty() {
            page.push_str("<p class=\"muted\">no checks ran for this board</p>\n");
        } else {
            checks(page, &verdicts);
        }
        console(page, &trace.console);
    }
    page.push_str("</section>\n");
}

/// The scenario's fault windows as recorded: from each `fault.start` to its `fault.end`, or to where it was to
/// end (or the log's end) when the run stopped first.
fn fault_spans(events: &[Event], t_end: f64) -> Vec<FaultSpan> {
    let mut spans: Vec<FaultSpan> = Vec::new();
    for e in events {
        match &e.body {
            Body::FaultStart { fault, until } => spans.push(FaultSpan {
                start: e.t,
                end: until.min(t_end),
                name: fault.clone(),
            }),
            Body::FaultEnd { fault } => {
                if let Some(open) = spans.iter_mut().rev().find(|s| &s.name == fault) {
                    open.end = e.t;
                }
            }
            _ => {}
        }
    }
    spans
}

fn checks(page: &mut String, verdicts: &[&model::checks::Verdict]) {
    page.push_str("<table>\n<tr><th>check</th><th>result</th><th>message</th></tr>\n");
    for v in verdicts {
        let (word, class) = match (v.pass, v.judged) {
            (true, _) => ("pass", "pass"),
            (false, true) => ("FAIL", "fail"),
            (false, false) => ("not judged", "fail unjudged"),
        };
        let _ = writeln!(
            page,
            "<tr class=\"{class}\"><td>{}</td><td class=\"result {class}\">{word}</td><td>{}</td></tr>",
            Esc(v.name),
            Esc(&v.message),
        );
    }
    page.push_str("</table>\n");
}

/// Each wake's lowest free heap (`board.heap`, the chip's bytes), where the board reported it.
fn heap(page: &mut String, wakes: &[(f64, u64, u64)]) {
    let Some(lowest) = wakes.iter().min_by_key(|w| w.2) else {
        return;
    };
    let _ = write!(
        page,
        "<details><summary>lowest free heap per wake: least {} B at t={:.1}s of {} B free at boot ({} wake{})</summary>\
         <table>\n<tr><th>t (s)</th><th>free at boot (B)</th><th>lowest free (B)</th></tr>\n",
        lowest.2,
        lowest.0,
        lowest.1,
        wakes.len(),
        if wakes.len() == 1 { "" } else { "s" }
    );
    for (t, boot, min) in wakes {
        let _ = writeln!(
            page,
            "<tr><td>{t:.1}</td><td>{boot}</td><td>{min}</td></tr>"
        );
    }
    page.push_str("</table></details>\n");
}

fn console(page: &mut String, lines: &[(f64, &str)]) {
    let _ = write!(
        page,
        "<details><summary>console ({} line{})</summary><pre>",
        lines.len(),
        if lines.len() == 1 { "" } else { "s" }
    );
    for (t, line) in lines {
        let class = if line.starts_with("stderr: ") {
            " class=\"stderr\""
        } else {
            ""
        };
        let _ = writeln!(page, "<span{class}>{t:9.3}  {}</span>", Esc(line));
    }
    page.push_str("</pre></details>\n");
}

/// What one board's figures and console show, picked out of the scenario's log.
struct BoardTrace<'a> {
    /// One run of samples per stretch with the supply's output on.
    volts: Vec<Vec<(f64, f64)>>,
    output_off: Vec<(f64, f64)>,
    current_ma: Vec<(f64, f64)>,
    readings: Vec<Reported>,
    awake: Vec<(f64, f64)>,
    asleep: Vec<(f64, f64)>,
    console: Vec<(f64, &'a str)>,
    /// Per wake: when it ended, free heap at boot, lowest free.
    heap: Vec<(f64, u64, u64)>,
}

impl<'a> BoardTrace<'a> {
    /// `supply` is the board's channel; without one (a log with no `scenario.start`), every sample is taken.
    fn new(events: &'a [Event], board: &str, supply: Option<&str>, t_end: f64) -> Self {
        let mut trace = BoardTrace {
            volts: vec![Vec::new()],
            output_off: Vec::new(),
            current_ma: Vec::new(),
            readings: Vec::new(),
            awake: Vec::new(),
            asleep: Vec::new(),
            console: Vec::new(),
            heap: Vec::new(),
        };
        // Awake from a wake to the next sleep, asleep from a sleep to the next wake; before the first wake
        // (powering up) and with the output off the state is unknown, so nothing is drawn there.
        let mut awake_since: Option<f64> = None;
        let mut asleep_since: Option<f64> = None;
        let mut off_since: Option<f64> = None;
        let ours = |s: &String| supply.is_none_or(|want| want == s);
        for e in events {
            match &e.body {
                Body::SupplySample {
                    supply: s,
                    volts,
                    amps,
                } if ours(s) => {
                    if off_since.is_none() {
                        if let Some(run) = trace.volts.last_mut() {
                            run.push((e.t, *volts));
                        }
                    }
                    trace.current_ma.push((e.t, amps * 1000.0));
                }
                Body::SupplySet {
                    supply: s,
                    output: Some(on),
                    ..
                } if ours(s) => match (on, off_since) {
                    (false, None) => {
                        off_since = Some(e.t);
                        trace.volts.push(Vec::new());
                        // Unpowered, the board is neither awake nor asleep until it boots again.
                        if let Some(since) = awake_since.take() {
                            trace.awake.push((since, e.t));
                        }
                        if let Some(since) = asleep_since.take() {
                            trace.asleep.push((since, e.t));
                        }
                    }
                    (true, Some(since)) => {
                        trace.output_off.push((since, e.t));
                        off_since = None;
                    }
                    _ => {}
                },
                Body::Reading {
                    board: b, v, late, ..
                } if b == board => trace.readings.push(Reported {
                    t: e.t,
                    volts: *v,
                    late: *late,
                }),
                Body::BoardWake { board: b, .. } if b == board => {
                    if let Some(since) = asleep_since.take() {
                        trace.asleep.push((since, e.t));
                    }
                    // A reset while awake (watchdog, say) keeps the board awake.
                    awake_since.get_or_insert(e.t);
                }
                Body::BoardSleep { board: b, .. } if b == board => {
                    if let Some(since) = awake_since.take() {
                        trace.awake.push((since, e.t));
                    }
                    asleep_since.get_or_insert(e.t);
                }
                Body::Console { board: b, line } if b == board => {
                    trace.console.push((e.t, line.as_str()))
                }
                Body::BoardHeap {
                    board: b,
                    free_at_boot,
                    min_free,
                } if b == board => trace.heap.push((e.t, *free_at_boot, *min_free)),
                _ => {}
            }
        }
        if let Some(since) = awake_since {
            trace.awake.push((since, t_end));
        }
        if let Some(since) = asleep_since {
            trace.asleep.push((since, t_end));
        }
        if let Some(since) = off_since {
            trace.output_off.push((since, t_end));
        }
        trace.volts.retain(|run| !run.is_empty());
        trace
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::checks::Verdict;
    use std::path::PathBuf;
    use std::time::Duration;

    fn events(lines: &str) -> Vec<Event> {
        lines
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn two_board_log() -> Vec<Event> {
        events(
            r#"
{"t":0.1,"kind":"scenario.start","scenario":"demo","speed":20.0,"boards":[{"name":"twin-0","mac":"5c:cf:7f:00:00:00","supply":"twin:1"},{"name":"twin-1","mac":"5c:cf:7f:00:00:01","supply":"twin:1"}],"broker":"embedded","within_volts":0.15}
{"t":0.15,"kind":"supply.set","supply":"twin:1","output":true}
{"t":0.2,"kind":"supply.sample","supply":"twin:1","volts":12.4,"amps":0.0001}
{"t":1.0,"kind":"board.wake","board":"twin-0","reset":"power-on","seq":0}
{"t":1.5,"kind":"console","board":"twin-0","line":"<script>alert('x')</script> & more"}
{"t":2.0,"kind":"supply.sample","supply":"twin:1","volts":12.4,"amps":0.07}
{"t":2.5,"kind":"reading","board":"twin-0","seq":0,"v":12.41,"raw":783,"late":false,"low":false}
{"t":2.6,"kind":"reading","board":"twin-1","seq":3,"v":12.38,"raw":782,"late":true,"low":false}
{"t":3.0,"kind":"board.sleep","board":"twin-0","ms":30000}
{"t":3.8,"kind":"supply.sample","supply":"twin:1","volts":12.4,"amps":0.0001}
{"t":3.9,"kind":"supply.set","supply":"twin:1","output":false}
{"t":4.0,"kind":"supply.sample","supply":"twin:1","volts":0.0,"amps":0.0}
{"t":4.1,"kind":"scenario.end","scenario":"demo"}
"#,
        )
    }

    fn outcome(verdicts: Vec<Verdict>) -> ScenarioOutcome {
        ScenarioOutcome {
            scenario: "demo".into(),
            boards: vec!["twin-0".into(), "twin-1".into()],
            verdicts,
            error: None,
            interrupted: false,
            events_path: PathBuf::from("report/demo/events.jsonl"),
            wall: Duration::from_millis(4200),
            readings: 2,
        }
    }

    fn verdict(name: &'static str, board: &str, pass: bool, message: &str) -> Verdict {
        Verdict {
            name,
            board: Some(board.into()),
            pass,
            judged: true,
            message: message.into(),
        }
    }

    fn header() -> RunHeader {
        RunHeader {
            tested: model::events::Tested {
                firmware_sha256: "0f1e".into(),
                ..model::events::Tested::default()
            },
            broker: "embedded <local>".into(),
            baseline: None,
        }
    }

    fn page(outcome: &ScenarioOutcome) -> String {
        render_html(
            &header(),
            &[ScenarioRecord {
                outcome,
                events: two_board_log(),
                log_error: None,
                log_href: Some("demo/events.jsonl".into()),
                baseline: None,
            }],
            &[],
        )
    }

    #[test]
    fn each_board_gets_a_volts_and_an_activity_plot() {
        let html = page(&outcome(Vec::new()));
        assert_eq!(html.matches("<svg").count(), 4, "two per board");
        assert_eq!(html.matches("<h3>").count(), 2);
        assert!(html.contains("<h3>twin-1</h3>"));
        assert!(html.contains("<a href=\"demo/events.jsonl\">"));
        assert!(html.contains("reported late, sampled on an earlier wake (1)"));
        assert!(!html.contains("<script"), "no script at all on the page");
    }

    #[test]
    fn the_plot_draws_the_band_the_fault_window_and_a_reading_outside_the_band_with_why() {
        let mut log = two_board_log();
        log.extend(events(
            r#"
{"t":2.1,"kind":"fault.start","fault":"broker-down","until":2.9}
{"t":2.7,"kind":"reading","board":"twin-0","seq":1,"v":11.15,"raw":700,"late":false,"low":false}
{"t":2.9,"kind":"fault.end","fault":"broker-down"}
"#,
        ));
        log.sort_by(|a, b| a.t.total_cmp(&b.t));
        let o = outcome(Vec::new());
        let html = render_html(
            &header(),
            &[ScenarioRecord {
                outcome: &o,
                events: log,
                log_error: None,
                log_href: None,
                baseline: None,
            }],
            &[],
        );
        assert_eq!(
            html.matches("class=\"out-of-band\"").count(),
            1,
            "one reading is out"
        );
        assert!(html.contains(
            "<title>t=2.7 s: reported 11.15 V, supply 12.40 V: off by -1.25 V, more than ±0.15 V</title>"
        ));
        assert!(
            html.contains(">\nbroker-down\n</text>"),
            "the fault window is named"
        );
        assert!(html.contains("tolerance ±0.15 V"));
        assert!(html.contains("outside it (1)"));
    }

    #[test]
    fn the_page_says_what_was_tested() {
        let html = page(&outcome(Vec::new()));
        assert!(html.contains("<tr><th>firmware_sha256</th><td>0f1e</td></tr>"));
        assert!(html.contains("<tr><th>broker</th><td>embedded &lt;local&gt;</td></tr>"));
    }

    #[test]
    fn console_lines_are_escaped_and_collapsed() {
        let html = page(&outcome(Vec::new()));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
        assert!(html.contains("<details><summary>console (1 line)</summary>"));
        assert!(html.contains("<details><summary>console (0 lines)</summary>"));
    }

    #[test]
    fn failed_checks_are_marked_with_their_messages() {
        let html = page(&outcome(vec![
            verdict("period", "twin-0", true, "3 intervals, within 30s±15%"),
            verdict(
                "readings.accuracy",
                "twin-1",
                false,
                "seq 3 off by 1.26 V <bad>",
            ),
        ]));
        assert!(html.contains(
            "<tr class=\"fail\"><td>readings.accuracy</td><td class=\"result fail\">FAIL</td>\
             <td>seq 3 off by 1.26 V &lt;bad&gt;</td></tr>"
        ));
        assert!(
            html.contains("<tr class=\"pass\"><td>period</td><td class=\"result pass\">pass</td>")
        );
        assert!(
            html.contains("<td>readings.accuracy[twin-1]</td>"),
            "in the summary"
        );
        assert!(html.contains("0 of 1 scenarios passed"));
    }

    #[test]
    fn awake_and_asleep_intervals_follow_wake_and_sleep() {
        let log = two_board_log();
        let trace = BoardTrace::new(&log, "twin-0", Some("twin:1"), 4.1);
        assert_eq!(trace.awake, [(1.0, 3.0)]);
        assert_eq!(trace.asleep, [(3.0, 3.9)], "until the output went off");
        assert_eq!(trace.current_ma.len(), 4);
        assert_eq!(
            trace.volts,
            [vec![(0.2, 12.4), (2.0, 12.4), (3.8, 12.4)]],
            "not the 0 V with the output off"
        );
        assert_eq!(trace.output_off, [(3.9, 4.1)]);
        assert_eq!(trace.readings.len(), 1);
        let other = BoardTrace::new(&log, "twin-1", Some("twin:2"), 4.1);
        assert!(
            other.volts.is_empty() && other.current_ma.is_empty(),
            "another channel's samples are not this board's"
        );
        assert!(other.readings[0].late);
    }

    #[test]
    fn a_setup_error_without_a_log_still_renders() {
        let mut o = outcome(Vec::new());
        o.boards.clear();
        o.error = Some("broker: <refused>".into());
        let html = render_html(
            &header(),
            &[ScenarioRecord {
                outcome: &o,
                events: Vec::new(),
                log_error: Some("report/demo/events.jsonl: not found".into()),
                log_href: None,
                baseline: None,
            }],
            &[],
        );
        assert!(html.contains("error: broker: &lt;refused&gt;"));
        assert!(html.contains("no event log to plot"));
        assert!(html.contains("<td class=\"result fail\">ERROR</td>"));
    }
}
