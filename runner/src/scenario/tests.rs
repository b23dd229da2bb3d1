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
    assert_eq!(s.supply.profile.steps.len(), 3);
    assert_eq!(s.supply.profile.steps[1].line, 14);
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
