//! `hil run --baseline`: a firmware copy that stays awake 4 s longer per wake fails check `baseline`, which
//! names awake time with both values; the same firmware against its own baseline passes; index.html shows both
//! runs' metrics side by side, and `hil check --baseline` judges the saved logs alike. A baseline that is no report, or a margin naming no metric, is a clear error.

mod common;
use common::*;

/// The awake margin a little wider than the default (20 %), as a busy machine stretches a twin's wake; the copy
/// stays 4 s longer (about +160 %), so that a baseline run on a busy machine against a copy run on an idle one
/// still differs beyond it.
fn steady_with_awake_margin() -> String {
    two_minute_scenario("steady", 3, "baseline_margin = { awake = 0.35 }")
}

#[test]
fn a_firmware_that_stays_awake_longer_fails_baseline_and_the_same_one_passes() {
    let fx = Fixture::new();
    let scenario = fx.write("steady.toml", &steady_with_awake_margin());
    let first = fx.path("first");
    let out = run_hil(&scenario, &first, &["--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let first_arg = first.to_str().unwrap();

    let again = fx.path("again");
    let out = run_hil(
        &scenario,
        &again,
        &["--quiet", "--baseline", first_arg],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    let log = std::fs::read_to_string(again.join("steady/events.jsonl")).unwrap();
    assert!(
        log.contains("\"name\":\"baseline\"")
            && log.contains("within their margins of the baseline"),
        "the baseline check is recorded with the others:\n{all}"
    );

    let firmware = fx.firmware_copy();
    let app = firmware.join("app.py");
    let source = std::fs::read_to_string(&app).unwrap();
    let sleep_line = "    print(\"sleep %dms\" % sleep_ms)\n";
    assert!(source.contains(sleep_line), "app.py announces its sleep");
    std::fs::write(
        &app,
        source.replace(
            sleep_line,
            &format!("    time.sleep_ms(4000)\n{sleep_line}"),
        ),
    )
    .unwrap();
    let slow = fx.path("slow");
    let out = run_hil(
        &scenario,
        &slow,
        &[
            "--quiet",
            "--baseline",
            first_arg,
            "--firmware",
            firmware.to_str().unwrap(),
        ],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    let line = all
        .lines()
        .find(|l| l.contains("twin-0 baseline:"))
        .unwrap_or_else(|| panic!("no baseline failure:\n{all}"));
    let values: Vec<f64> = line
        .split("awake time per wake p50 ")
        .nth(1)
        .and_then(|rest| {
            let (now, rest) = rest.split_once(" s vs ")?;
            let then = rest.split_once(" s in the baseline")?.0;
            Some(vec![now.parse().ok()?, then.parse().ok()?])
        })
        .unwrap_or_else(|| panic!("awake time p50 with both values: {line}"));
    assert!(
        values[0] > values[1] + 2.0,
        "about 4 s longer: {values:?} in {line}"
    );
    assert!(line.contains("margin 35 %"), "{line}");

    let page = std::fs::read_to_string(slow.join("index.html")).unwrap();
    let table = page
        .split("<caption>metrics against the baseline</caption>")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .unwrap_or_else(|| panic!("no side-by-side table in index.html"));
    let row = table
        .lines()
        .find(|l| l.contains("awake time per wake p50"))
        .unwrap_or_else(|| panic!("no awake row: {table}"));
    assert!(
        row.contains(&format!("{:.2} s", values[0]))
            && row.contains(&format!("{:.2} s", values[1])),
        "both runs' values side by side: {row}"
    );

    // Offline, `hil check --baseline` judges a saved log as the run did.
    let check = |log: &str| {
        hil(
            &[
                "check",
                fx.path(log).to_str().unwrap(),
                "--scenario",
                scenario.to_str().unwrap(),
                "--baseline",
                first_arg,
            ],
            &[],
        )
    };
    let out = check("slow/steady/events.jsonl");
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.lines()
            .any(|l| l.contains("baseline") && l.contains("awake time per wake p50")),
        "{all}"
    );
    let out = check("again/steady/events.jsonl");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_baseline_that_is_no_report_or_a_margin_naming_no_metric_is_refused() {
    let fx = Fixture::new();
    let scenario = fx.write("steady.toml", &steady_with_awake_margin());
    let empty = fx.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run_hil(
        &scenario,
        &fx.path("report"),
        &["--baseline", empty.to_str().unwrap()],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("not a hil report folder (no junit.xml in it)"),
        "{all}"
    );
    let out = hil(
        &[
            "run",
            scenario.to_str().unwrap(),
            "--baseline",
            empty.to_str().unwrap(),
            "--baseline-margin",
            "awake_ms=0.3",
        ],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("\"awake_ms=0.3\"") && all.contains("reading_error, awake"),
        "{all}"
    );
}
