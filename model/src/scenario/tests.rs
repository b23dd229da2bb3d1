use super::*;

const GOOD: &str = r#"name = "discharge"
description = "slow discharge"
boards = 2
duration = "20m"

[firmware]
sleep = "30s"
keepalive = "60s"

[supply]
current_limit = 0.5
profile = [
  { at = "0s", volts = 13.6 },
  { at = "2m", ramp_to = 11.2, over = "15m" },
  { at = "18m", volts = 12.6 },
]

[expect]
readings = { within_volts = 0.15, min_count = 15 }
period = { nominal = "30s", tolerance = "10%" }
connack = 0
"#;

fn parse(src: &str) -> Result<Scenario, Diagnostic> {
    Scenario::parse(Path::new("s.toml"), src)
}

fn error_of(src: &str) -> Diagnostic {
    parse(src).expect_err("this scenario must be refused")
}

#[test]
fn parses_a_full_scenario_with_defaults_resolved() {
    let s = parse(GOOD).unwrap();
    assert_eq!(s.name, "discharge");
    assert_eq!(s.boards, 2);
    assert_eq!(s.duration, 1200.0);
    assert_eq!(s.firmware.sleep_ms, 30_000);
    assert_eq!(s.firmware.samples, 16);
    assert_eq!(s.supply.channels[0].profile.steps.len(), 3);
    assert_eq!(s.supply.channels[0].profile.steps[1].line, 14);
    let period = s.expect.period.unwrap();
    assert_eq!(period.tolerance, 3.0);
    assert_eq!(s.expect.connack, Some(0));
}

#[test]
fn unknown_keys_name_the_line_and_the_valid_keys() {
    let d = error_of(&GOOD.replace("boards = 2", "boardz = 2"));
    assert_eq!(d.line_col().map(|l| l.0), Some(3));
    assert!(d.message.contains("boardz"), "{}", d.message);
    assert!(
        d.message.contains("boards"),
        "should list what is valid: {}",
        d.message
    );
}

#[test]
fn bad_durations_and_units_point_at_the_value() {
    let d = error_of(&GOOD.replace("duration = \"20m\"", "duration = \"20 fortnights\""));
    assert_eq!(d.line_col().map(|l| l.0), Some(4));
    assert!(d.message.contains("unknown unit"), "{}", d.message);
    let d = error_of(&GOOD.replace("duration = \"20m\"", "duration = 20"));
    assert!(d.message.contains("no unit"), "{}", d.message);
    let d = error_of(&GOOD.replace("{ at = \"2m\"", "{ at = \"-2m\""));
    assert!(d.message.contains("negative"), "{}", d.message);
}

#[test]
fn overlapping_ramps_and_out_of_order_steps_are_refused() {
    let d = error_of(&GOOD.replace("{ at = \"18m\"", "{ at = \"10m\""));
    assert_eq!(d.line_col().map(|l| l.0), Some(15));
    assert!(
        d.message.contains("before the previous step ends"),
        "{}",
        d.message
    );
}

#[test]
fn a_profile_must_start_at_zero_with_a_voltage() {
    let d = error_of(&GOOD.replace(
        "{ at = \"0s\", volts = 13.6 }",
        "{ at = \"1s\", volts = 13.6 }",
    ));
    assert!(d.message.contains("at \"0s\""), "{}", d.message);
    let d = error_of(&GOOD.replace("ramp_to = 11.2, over = \"15m\"", "ramp_to = 11.2"));
    assert!(d.message.contains("needs `over`"), "{}", d.message);
}

#[test]
fn keepalive_zero_needs_the_legacy_switch() {
    let d = error_of(&GOOD.replace("keepalive = \"60s\"", "keepalive = \"0s\""));
    assert!(d.message.contains("CONNACK 2"), "{}", d.message);
    let s = parse(&GOOD.replace("keepalive = \"60s\"", "legacy_keepalive_zero = true")).unwrap();
    assert_eq!(s.firmware.keepalive_s, 0);
}

#[test]
fn bad_tolerance_and_connack_are_refused() {
    let d = error_of(&GOOD.replace("\"10%\"", "\"ten percent\""));
    assert!(d.message.contains("tolerance"), "{}", d.message);
    let d = error_of(&GOOD.replace("connack = 0", "connack = 9"));
    assert_eq!(d.line_col().map(|l| l.0), Some(21));
}

#[test]
fn syntax_errors_are_located() {
    let d = error_of("name = \"x\"\nduration = \n");
    assert_eq!(d.line_col().map(|l| l.0), Some(2));
}

#[test]
fn faults_are_parsed_and_overlaps_refused() {
    let with = |faults: &str| format!("{GOOD}{faults}");
    let s = parse(&with(
        "\n[[fault]]\nat = \"5m\"\nfor = \"3m\"\nkind = \"broker-down\"\n",
    ))
    .unwrap();
    assert_eq!(
        s.faults,
        vec![FaultWindow {
            start: 300.0,
            end: 480.0,
            kind: FaultKind::BrokerDown
        }]
    );
    let two = "\n[[fault]]\nat = \"5m\"\nfor = \"3m\"\nkind = \"broker-down\"\n\n[[fault]]\nat = \"6m\"\nfor = \"1m\"\nkind = \"broker-down\"\n";
    let d = error_of(&with(two));
    assert!(d.message.contains("overlaps"), "{}", d.message);
    assert_eq!(d.line_col().map(|l| l.0), Some(28));
    let d = error_of(&with(
        "\n[[fault]]\nat = \"5m\"\nfor = \"3m\"\nkind = \"refuse-connect\"\n",
    ));
    assert!(d.message.contains("rc"), "{}", d.message);
    let d = error_of(&with(
        "\n[[fault]]\nat = \"19m\"\nfor = \"3m\"\nkind = \"broker-down\"\n",
    ));
    assert!(
        d.message.contains("after the scenario ends"),
        "{}",
        d.message
    );
}

#[test]
fn requires_names_known_needs_only() {
    let s = parse(&GOOD.replace("boards = 2", "boards = 2\nrequires = [\"mosquitto\"]")).unwrap();
    assert_eq!(s.requires, vec![Requirement::Mosquitto]);
    let d = error_of(&GOOD.replace("boards = 2", "boards = 2\nrequires = [\"hivemq\"]"));
    assert_eq!(d.line_col().map(|l| l.0), Some(4));
    assert!(d.message.contains("known: mosquitto"), "{}", d.message);
}

#[test]
fn new_expectations_parse_and_bad_values_point_at_them() {
    let with = |extra: &str| GOOD.replace("connack = 0", &format!("connack = 0\n{extra}"));
    let s = parse(&with(
        "low_battery = { below_volts = 11.8 }\nreset = { after_power_loss = \"power-on\" }\nsleep_drift = { max = \"3%\" }",
    ))
    .unwrap();
    assert_eq!(s.expect.low_battery_below, Some(11.8));
    let reset = s.expect.reset.unwrap();
    assert_eq!(reset.after_power_loss, "power-on");
    assert_eq!(reset.below_volts, BUCK_MIN_VOLTS);
    assert_eq!(s.expect.sleep_drift.unwrap().max, 0.03);
    let d = error_of(&with("reset = { after_power_loss = \"brownout\" }"));
    assert_eq!(d.line_col().map(|l| l.0), Some(22));
    assert!(d.message.contains("power-on, deepsleep"), "{}", d.message);
    let d = error_of(&with("sleep_drift = { max = \"3s\" }"));
    assert!(d.message.contains("percentage"), "{}", d.message);
}

#[test]
fn heap_headroom_reads_bytes_and_kib_and_refuses_more_than_the_chip_has() {
    let with = |extra: &str| GOOD.replace("connack = 0", &format!("connack = 0\n{extra}"));
    assert_eq!(parse(GOOD).unwrap().expect.heap_min_free, None);
    let s = parse(&with("heap = { min_free = \"6KB\" }")).unwrap();
    assert_eq!(s.expect.heap_min_free, Some(6144));
    let s = parse(&with("heap = { min_free = \"5000\" }")).unwrap();
    assert_eq!(s.expect.heap_min_free, Some(5000));
    let d = error_of(&with("heap = { min_free = \"64KB\" }"));
    assert_eq!(d.line_col().map(|l| l.0), Some(22));
    assert!(d.message.contains("38 KiB"), "{}", d.message);
}

#[test]
fn a_profile_of_the_wrong_shape_says_what_is_valid() {
    let (_dir, s) = with_trace(TRACE, "profile = 5");
    let d = s.expect_err("a number is no profile");
    assert_eq!(d.line_col().map(|l| l.0), Some(12));
    assert!(d.message.contains("a list of steps"), "{}", d.message);
    assert!(d.message.contains("csv"), "{}", d.message);
}

const TRACE: &str = "time_s,volts\n0,12.6\n600,12.0\n1200,15.0\n";

/// A scenario replaying `traces/t.csv` beside it, with the trace's text.
fn with_trace(csv: &str, profile: &str) -> (tempfile::TempDir, Result<Scenario, Diagnostic>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("traces")).unwrap();
    std::fs::write(dir.path().join("traces/t.csv"), csv).unwrap();
    let start = GOOD.find("profile = [").unwrap();
    let end = GOOD[start..].find("]\n").unwrap() + start + 2;
    let src = format!("{}{profile}\n{}", &GOOD[..start], &GOOD[end..]);
    let path = dir.path().join("s.toml");
    let result = Scenario::parse(&path, &src);
    (dir, result)
}

#[test]
fn a_csv_profile_replays_the_trace_beside_the_scenario() {
    let (dir, s) = with_trace(TRACE, "profile = { csv = \"traces/t.csv\", speedup = 60 }");
    let s = s.unwrap();
    assert_eq!(s.supply.channels[0].profile.volts_at(0.0), 12.6);
    assert!((s.supply.channels[0].profile.volts_at(5.0) - 12.3).abs() < 1e-9);
    assert_eq!(s.supply.channels[0].profile.volts_at(20.0), 15.0);
    // A rig limit refused after loading names the trace's row, as `hil run` reports it.
    let (max, line) = s.supply.channels[0].profile.max_volts();
    assert_eq!((max, line), (15.0, 4));
    let index = s.supply.channels[0]
        .profile
        .steps
        .iter()
        .position(|st| st.line == line)
        .unwrap();
    let d = s.error_at_profile_step(0, index, "too high".into());
    assert_eq!(
        d.location(),
        format!("{}:4:1", dir.path().join("traces/t.csv").display())
    );
}

#[test]
fn csv_profile_errors_name_the_scenario_or_the_csv_line() {
    let (_dir, s) = with_trace(TRACE, "profile = { csv = \"traces/nope.csv\" }");
    let d = s.expect_err("a missing trace must be refused");
    assert_eq!(d.line_col().map(|l| l.0), Some(12));
    assert!(d.message.contains("cannot read the trace"), "{}", d.message);
    let (dir, s) = with_trace(
        "time_s,volts\n0,12.6\n60,x\n",
        "profile = { csv = \"traces/t.csv\" }",
    );
    let d = s.expect_err("a bad row must be refused");
    assert_eq!(
        d.location(),
        format!("{}:3:1", dir.path().join("traces/t.csv").display())
    );
    let (_dir, s) = with_trace(TRACE, "profile = { csv = \"traces/t.csv\", speed = 2 }");
    let d = s.expect_err("an unknown key must be refused");
    assert!(d.message.contains("speed"), "{}", d.message);
    let (_dir, s) = with_trace(TRACE, "profile = { csv = \"traces/t.csv\", speedup = 0 }");
    assert!(s.unwrap_err().message.contains("speedup"));
}

#[test]
fn ripple_alternates_around_the_profile_and_errors_point_at_it() {
    let src = GOOD.replace(
        "current_limit = 0.5",
        "current_limit = 0.5\nripple = { volts = 0.1, every = \"1s\" }",
    );
    let s = parse(&src).unwrap();
    let p = &s.supply.channels[0].profile;
    assert_eq!(p.steps.len(), 1200);
    assert!((p.volts_at(0.5) - 13.7).abs() < 1e-9);
    assert!((p.volts_at(1.5) - 13.5).abs() < 1e-9);
    let d = s.error_at_profile_step(0, 7, "too high".into());
    assert_eq!(d.line_col().map(|l| l.0), Some(12));
    let d = error_of(&src.replace("every = \"1s\"", "every = \"10ms\""));
    assert!(d.message.contains("at least 0.5s"), "{}", d.message);
}

const CHANNELS: &str = r#"name = "channels"
duration = "10m"

[supply]
current_limit = 0.4
profile = [{ at = "0s", volts = 12.6 }]

[[supply.channel]]
boards = 2

[[supply.channel]]
boards = 1
current_limit = 0.2
profile = [{ at = "0s", volts = 13.5 }, { at = "5m", ramp_to = 12.0, over = "2m" }]
"#;

#[test]
fn supply_channels_hold_consecutive_boards_and_inherit_from_supply() {
    let s = parse(CHANNELS).unwrap();
    assert_eq!(s.boards, 3);
    let [a, b] = &s.supply.channels[..] else {
        panic!("two channels expected: {:?}", s.supply.channels);
    };
    assert_eq!((a.boards.clone(), b.boards.clone()), (0..2, 2..3));
    assert_eq!((a.current_limit, b.current_limit), (0.4, 0.2));
    assert_eq!(a.profile.volts_at(400.0), 12.6);
    assert!((b.profile.volts_at(360.0) - 12.75).abs() < 1e-9);
    assert_eq!(
        (0..3).map(|i| s.supply.channel_of(i)).collect::<Vec<_>>(),
        [0, 0, 1]
    );
    // A limit refused later points at the channel's own line.
    let d = s.error_at_current_limit(1, "too much".into());
    assert_eq!(d.line_col().map(|l| l.0), Some(13));
    let d = s.error_at_profile_step(1, 1, "too high".into());
    assert_eq!(d.line_col().map(|l| l.0), Some(14));
}

#[test]
fn supply_channel_errors_point_at_the_channel() {
    let d = error_of(&CHANNELS.replace("duration", "boards = 2\nduration"));
    assert!(
        d.message
            .contains("boards = 2 but the [[supply.channel]] entries hold 3"),
        "{}",
        d.message
    );
    assert_eq!(d.line_col().map(|l| l.0), Some(2));
    let d = error_of(&CHANNELS.replace("profile = [{ at = \"0s\", volts = 12.6 }]\n", ""));
    assert!(
        d.message.contains("this channel has no profile"),
        "{}",
        d.message
    );
    assert_eq!(d.line_col().map(|l| l.0), Some(7));
    let d = error_of(&CHANNELS.replace("boards = 1\n", "boards = 0\n"));
    assert!(d.message.contains("boards must be 1..="), "{}", d.message);
    let d = error_of(&CHANNELS.replace("boards = 1\n", "boards = 1\nvolts = 3\n"));
    assert!(d.message.contains("volts"), "{}", d.message);
    let d = error_of("name = \"x\"\nduration = \"1m\"\n[supply]\ncurrent_limit = 0.5\n");
    assert!(
        d.message.contains("the supply has no profile"),
        "{}",
        d.message
    );
}

/// A scenario file in a folder of its own, with an app folder beside it.
fn scenario_beside_app(
    firmware: &str,
    rest: &str,
) -> (tempfile::TempDir, Result<Scenario, Diagnostic>) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("apps/good")).unwrap();
    std::fs::write(dir.path().join("apps/good/main.py"), "print(1)\n").unwrap();
    std::fs::create_dir_all(dir.path().join("apps/empty")).unwrap();
    std::fs::create_dir_all(dir.path().join("scenarios")).unwrap();
    let path = dir.path().join("scenarios/s.toml");
    let src = format!(
        "name = \"s\"\nduration = \"1m\"\n[firmware]\n{firmware}\n[supply]\nprofile = [{{ at = \"0s\", volts = 12.6 }}]\n{rest}"
    );
    let parsed = Scenario::parse(&path, &src);
    (dir, parsed)
}

#[test]
fn the_firmware_app_is_a_folder_with_main_py_relative_to_the_scenario_file() {
    let (dir, s) = scenario_beside_app("app = \"../apps/good\"", "");
    let app = s.unwrap().firmware.app.unwrap();
    assert_eq!(app, dir.path().join("apps/good").canonicalize().unwrap());
    assert_eq!(parse(GOOD).unwrap().firmware.app, None);
    for (app, says) in [
        ("../apps/missing", "no firmware folder at"),
        ("../apps/empty", "has no main.py"),
    ] {
        let (_dir, s) = scenario_beside_app(&format!("app = \"{app}\""), "");
        let d = s.unwrap_err();
        assert_eq!(d.line_col(), Some((4, 7)), "{}", d.render());
        assert!(d.message.contains(says), "{}", d.message);
        assert!(
            d.render().contains("relative to the scenario file"),
            "{}",
            d.render()
        );
    }
}

#[test]
fn a_payload_section_is_validated_where_it_is_written() {
    let (_dir, s) = scenario_beside_app("", "[payload]\nformat = \"plain\"\nunit = \"counts\"\n");
    assert_eq!(
        s.unwrap().payload,
        Some(crate::payload::PayloadFormat::Plain {
            unit: crate::payload::Unit::Counts
        })
    );
    assert_eq!(parse(GOOD).unwrap().payload, None);
    let d = error_of(&format!("{GOOD}[payload]\nformat = \"xml\"\n"));
    assert!(d.message.contains("unknown variant `xml`"), "{}", d.message);
    assert_eq!(d.line_col().map(|l| l.0), Some(23));
    let d = error_of(&format!(
        "{GOOD}[payload]\nformat = \"plain\"\nunit = \"amps\"\n"
    ));
    assert_eq!(d.line_col().map(|l| l.0), Some(24));
    let d = error_of(&format!("{GOOD}[payload]\nformat = \"plain\"\n"));
    assert!(d.message.contains("needs its unit"), "{}", d.message);
    assert_eq!(d.line_col().map(|l| l.0), Some(22));
}

#[test]
fn console_expectations_take_one_text_or_a_list_and_refuse_what_cannot_match() {
    let s = parse(&format!(
        "{GOOD}console = {{ contains = \"MQTTException: 2\", not_contains = [\"MemoryError\", \"Traceback\"] }}\n"
    ))
    .unwrap();
    assert_eq!(
        s.expect.console,
        Some(ConsoleExpectation {
            contains: vec!["MQTTException: 2".into()],
            not_contains: vec!["MemoryError".into(), "Traceback".into()],
        })
    );
    for (console, says) in [
        ("{ }", "console needs contains or not_contains"),
        ("{ contains = [] }", "contains is an empty list"),
        ("{ contains = \"\" }", "must be non-empty and on one line"),
        (
            "{ contains = \"a\\nb\" }",
            "must be non-empty and on one line",
        ),
        (
            "{ contains = \"x\", not_contains = [\"x\"] }",
            "\"x\" is both in contains and in not_contains",
        ),
        (
            "{ contains = 2 }",
            "a text like \"MQTTException: 2\" or a list of them",
        ),
        ("{ contain = \"x\" }", "unknown field `contain`"),
    ] {
        let d = error_of(&format!("{GOOD}console = {console}\n"));
        assert!(d.message.contains(says), "{console}: {}", d.message);
        assert_eq!(d.line_col().map(|l| l.0), Some(22), "{console}");
    }
}

#[test]
fn baseline_margins_name_known_metrics_with_fractions_above_zero() {
    let with = |extra: &str| GOOD.replace("connack = 0", &format!("connack = 0\n{extra}"));
    assert!(parse(GOOD).unwrap().expect.baseline_margin.is_empty());
    let s = parse(&with("baseline_margin = { awake = 0.3, lost = 1 }")).unwrap();
    assert_eq!(s.expect.baseline_margin["awake"], 0.3);
    assert_eq!(s.expect.baseline_margin["lost"], 1.0);
    let d = error_of(&with("baseline_margin = { awake_ms = 0.3 }"));
    assert_eq!(d.line_col().map(|l| l.0), Some(22));
    assert!(
        d.message.contains("no metric \"awake_ms\""),
        "{}",
        d.message
    );
    assert!(
        d.to_string().contains("reading_error, awake, period_error"),
        "{d}"
    );
    let d = error_of(&with("baseline_margin = { awake = -0.3 }"));
    assert!(d.message.contains("fraction above 0"), "{}", d.message);
}
