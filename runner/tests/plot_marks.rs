//! The volts plot marks what a reader needs to tell a firmware fault from the bench's doing: on a run with a power
//! cut and a broker outage, the stretch with the board unpowered is shaded (with its times on hover), the 4.5 V
//! brownout and the firmware's low-battery level are drawn as lines, and each reading the backlog sent late is
//! drawn where it was sampled, with a line to where it arrived.

mod common;
use common::*;

/// The `name="value"` attributes of each `<tag class="class" …>` in the page, in order.
fn marks<'a>(html: &'a str, tag: &str, class: &str) -> Vec<&'a str> {
    html.split(&format!("<{tag} class=\"{class}\""))
        .skip(1)
        .map(|rest| rest.split("</").next().unwrap_or_default())
        .collect()
}

fn attribute(mark: &str, name: &str) -> f64 {
    mark.split(&format!(" {name}=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {mark}"))
}

#[test]
fn a_power_cut_and_a_broker_outage_are_marked_on_the_volts_plot() {
    let fx = Fixture::new();
    let scenario = fx.write(
        "cut-and-outage.toml",
        "name = \"cut-and-outage\"\nduration = \"4m\"\n[firmware]\nsleep = \"20s\"\n\
         [supply]\nprofile = [{ at = \"0s\", volts = 12.6 }, { at = \"50s\", volts = 4.0 }, { at = \"80s\", volts = 12.6 }]\n\
         [[fault]]\nat = \"2m\"\nfor = \"1m\"\nkind = \"broker-down\"\n\
         [expect]\nreadings = { within_volts = 0.15, min_count = 4 }\nreset = { after_power_loss = \"power-on\" }\n",
    );
    let report = fx.path("report");
    let out = run_hil(&scenario, &report, &["--quiet"], &[]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the run ran\n{}",
        text(&out)
    );
    let html = std::fs::read_to_string(report.join("index.html")).expect("index.html");

    let unpowered = marks(&html, "rect", "unpowered");
    assert!(
        unpowered
            .iter()
            .any(|m| m.contains("the board had no power") && m.contains("t=50.")),
        "the power cut from t=50 s is shaded: {unpowered:?}"
    );
    let thresholds = marks(&html, "line", "threshold");
    for level in ["<title>4.5 V: brownout", "<title>11.8 V: low battery"] {
        assert!(
            thresholds.iter().any(|m| m.contains(level)),
            "no {level:?} line: {thresholds:?}"
        );
    }
    let late = marks(&html, "line", "late-arrival");
    assert!(
        !late.is_empty(),
        "the outage's backlog arrives late, each reading marked\n{}",
        text(&out)
    );
    for mark in &late {
        assert!(
            attribute(mark, "x1") < attribute(mark, "x2"),
            "a late reading is drawn before its arrival: {mark}"
        );
        assert!(
            mark.contains("sampled at t=") && mark.contains("arrived at t="),
            "{mark}"
        );
    }
    assert!(
        html.contains("board unpowered") && html.contains("thresholds"),
        "the legend names the marks"
    );
}
