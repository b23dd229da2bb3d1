use super::*;

const GOOD: &str = r#"[supply.psu1]
driver = "scpi"
model = "rigol-dp832"
address = "tcp://127.0.0.1:5555"
channels = { 1 = { max_volts = 15.0, max_amps = 1.0 }, 2 = { max_volts = 15.0, max_amps = 0.5 } }

[[board]]
name = "esp-a"
chip = "esp8266"
mac = "5C:CF:7F:12:34:56"
port = "/dev/ttyUSB0"
supply = "psu1:2"
adc = { divider = 0.0698, full_scale_volts = 1.0 }

[broker]
url = "mqtt://127.0.0.1:1883"
username = "rig"
password_env = "HIL_MQTT_PASSWORD"

[wifi]
ssid = "hil-bench"
password_file = "wifi.secret"
"#;

fn parse(src: &str) -> Result<RigFile, Diagnostic> {
    RigFile::parse(Path::new("/lab/rig.toml"), src)
}

fn line_of(d: &Diagnostic) -> usize {
    d.line_col().map(|l| l.0).unwrap_or(0)
}

#[test]
fn parses_supplies_boards_and_secret_references() {
    let rig = parse(GOOD).unwrap();
    let board = &rig.boards[0];
    assert_eq!(board.mac, "5c:cf:7f:12:34:56");
    assert_eq!((board.supply.as_str(), board.channel), ("psu1", 2));
    assert_eq!(
        rig.limits_of(board),
        Some(ChannelLimits {
            max_volts: 15.0,
            max_amps: 0.5
        })
    );
    let broker = rig.broker.unwrap();
    assert_eq!(broker.password, SecretRef::Env("HIL_MQTT_PASSWORD".into()));
    assert_eq!(
        rig.wifi.unwrap().password,
        SecretRef::File(PathBuf::from("/lab/wifi.secret"))
    );
}

#[test]
fn a_board_on_an_undefined_channel_names_the_line() {
    let d = parse(&GOOD.replace("supply = \"psu1:2\"", "supply = \"psu1:3\"")).unwrap_err();
    assert_eq!(line_of(&d), 12);
    assert!(d.message.contains("no channel 3"), "{}", d.message);
    let d = parse(&GOOD.replace("supply = \"psu1:2\"", "supply = \"psu9:1\"")).unwrap_err();
    assert!(d.message.contains("defined: psu1"), "{}", d.message);
}

#[test]
fn unknown_keys_models_and_bad_addresses_are_refused() {
    let d = parse(&GOOD.replace("driver = \"scpi\"", "drivr = \"scpi\"")).unwrap_err();
    assert_eq!(line_of(&d), 2);
    let d = parse(&GOOD.replace("rigol-dp832", "acme-9000")).unwrap_err();
    assert!(d.message.contains("valid: rigol"), "{}", d.message);
    let d = parse(&GOOD.replace("tcp://127.0.0.1:5555", "127.0.0.1")).unwrap_err();
    assert_eq!(line_of(&d), 4);
    let d = parse(&GOOD.replace("5C:CF:7F:12:34:56", "not-a-mac")).unwrap_err();
    assert!(d.message.contains("not a MAC"), "{}", d.message);
}

#[test]
fn passwords_are_never_inline() {
    let d = parse(&GOOD.replace(
        "password_env = \"HIL_MQTT_PASSWORD\"",
        "password = \"hunter2\"",
    ))
    .unwrap_err();
    assert!(d.message.contains("password"), "{}", d.message);
    assert!(
        !d.message.contains("hunter2"),
        "the error must not echo the secret: {}",
        d.message
    );
    let d =
        parse(&GOOD.replace("mqtt://127.0.0.1:1883", "mqtt://rig:pw@127.0.0.1:1883")).unwrap_err();
    assert!(d.message.contains("not in the url"), "{}", d.message);
}

#[test]
fn secrets_resolve_from_the_environment_or_a_file_and_errors_name_the_source() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "s3cret\n").unwrap();
    assert_eq!(
        SecretRef::File(file.clone()).resolve().unwrap().expose(),
        "s3cret"
    );
    let err = SecretRef::Env("HIL_TEST_SURELY_UNSET_VAR".into())
        .resolve()
        .unwrap_err();
    assert!(err.contains("HIL_TEST_SURELY_UNSET_VAR"), "{err}");
    assert!(SecretRef::File(dir.path().join("missing"))
        .resolve()
        .is_err());
}

#[test]
fn an_mqtts_broker_trusts_the_system_or_its_ca_file() {
    let tls = GOOD.replace("mqtt://127.0.0.1:1883", "mqtts://broker.lab:8883");
    let broker = parse(&tls).unwrap().broker.unwrap();
    assert_eq!(broker.tls, Some(TlsTrust::System));
    let with_ca = tls.replace(
        "username = \"rig\"",
        "username = \"rig\"\nca_file = \"lab-ca.pem\"",
    );
    let broker = parse(&with_ca).unwrap().broker.unwrap();
    assert_eq!(
        broker.tls,
        Some(TlsTrust::CaFile(PathBuf::from("/lab/lab-ca.pem")))
    );
    let plain = GOOD.replace(
        "username = \"rig\"",
        "username = \"rig\"\nca_file = \"lab-ca.pem\"",
    );
    let d = parse(&plain).unwrap_err();
    assert!(d.message.contains("mqtts://"), "{}", d.message);
    assert_eq!(line_of(&d), 18);
}

const SERIAL: &str = r#"[supply.korad]
driver = "korad"
model = "korad-ka3005p"
address = "serial:///dev/ttyACM0"
channels = { 1 = { max_volts = 15.0, max_amps = 1.0 } }

[supply.riden]
driver = "riden"
model = "riden-rd6006p"
address = "serial:///dev/ttyUSB1?baud=9600"
channels = { 1 = { max_volts = 15.0, max_amps = 1.0 } }

[supply.rs232]
driver = "scpi"
model = "rigol-dp832"
address = "serial:///dev/ttyS0?baud=115200"
channels = { 3 = { max_volts = 5.0, max_amps = 0.5 } }
"#;

#[test]
fn korad_riden_and_serial_scpi_supplies_parse() {
    let rig = parse(SERIAL).unwrap();
    let kind = |name: &str| {
        let kind = &rig.supplies[name].kind;
        (kind.driver(), kind.family(), kind.max_channel())
    };
    assert_eq!(kind("korad"), ("korad", "KA3005P", 1));
    assert_eq!(rig.supplies["korad"].address, "serial:///dev/ttyACM0");
    assert_eq!(kind("riden"), ("riden", "RD6006P", 1));
    assert_eq!(kind("rs232"), ("scpi", "RigolDp800", 3));
}

#[test]
fn unknown_drivers_models_serial_options_and_channels_name_their_line() {
    let cases = [
        (
            "driver = \"korad\"",
            "driver = \"visa\"",
            2,
            "valid drivers: scpi, korad, riden",
        ),
        (
            "model = \"korad-ka3005p\"",
            "model = \"rigol-dp832\"",
            3,
            "valid: korad-ka3005p",
        ),
        (
            "model = \"riden-rd6006p\"",
            "model = \"rd6024\"",
            9,
            "riden-rd6006, riden-rd6006p",
        ),
        ("?baud=9600", "?baud=fast", 10, "baud \"fast\""),
        (
            "serial:///dev/ttyACM0",
            "serial://ttyACM0",
            4,
            "absolute path",
        ),
        ("?baud=115200", "?parity=odd", 16, "unknown option"),
    ];
    for (from, to, line, words) in cases {
        let d = parse(&SERIAL.replace(from, to)).unwrap_err();
        assert_eq!(line_of(&d), line, "{to}: {}", d.message);
        assert!(d.message.contains(words), "{to}: {}", d.message);
    }
    let d = parse(&SERIAL.replacen("channels = { 1", "channels = { 2", 1)).unwrap_err();
    assert!(
        d.message.contains("a KA3005P has channels 1..=1"),
        "{}",
        d.message
    );
}

#[test]
fn boards_are_looked_for_on_the_usual_ports_unless_scan_says_where() {
    assert_eq!(
        parse(GOOD).unwrap().scan,
        vec!["/dev/serial/by-id/*", "/dev/ttyUSB*", "/dev/ttyACM*"]
    );
    let with_scan = format!("{GOOD}\n[boards]\nscan = [\"/run/twin/ports/*\", \"ports/*\"]\n");
    assert_eq!(
        parse(&with_scan).unwrap().scan,
        vec!["/run/twin/ports/*", "/lab/ports/*"],
        "relative to the rig file, as its other paths"
    );
    let d = parse(&format!(
        "{GOOD}\n[boards]\nscan = [\"/dev/ttyUSB*\", \"/dev/tty[USB\"]\n"
    ))
    .unwrap_err();
    assert_eq!(line_of(&d), 25);
    assert!(d.message.contains("/dev/tty[USB"), "{}", d.message);
    let d = parse(&format!("{GOOD}\n[boards]\nscn = []\n")).unwrap_err();
    assert_eq!(line_of(&d), 25);
}

#[test]
fn ocp_amps_defaults_to_max_amps_and_must_be_within_it() {
    let rig = parse(&GOOD.replace(
        "2 = { max_volts = 15.0, max_amps = 0.5 }",
        "2 = { max_volts = 15.0, max_amps = 0.5, ocp_amps = 0.3 }",
    ))
    .unwrap();
    let psu = &rig.supplies["psu1"];
    assert_eq!(
        (psu.trip_amps(1), psu.trip_amps(2), psu.trip_amps(3)),
        (Some(1.0), Some(0.3), None)
    );
    for bad in ["0.6", "0", "-0.1", "nan"] {
        let d = parse(&GOOD.replace(
            "max_amps = 0.5 }",
            &format!("max_amps = 0.5, ocp_amps = {bad} }}"),
        ))
        .unwrap_err();
        assert_eq!(line_of(&d), 5, "{bad}: {}", d.message);
        assert!(
            d.message.contains("channel 2: ocp_amps") && d.message.contains("max_amps 0.5"),
            "{bad}: {}",
            d.message
        );
    }
}

#[test]
fn a_board_may_name_its_adapter_by_usb_serial_and_a_bad_one_names_its_line() {
    let named = |serial: &str| {
        GOOD.replace(
            "port = \"/dev/ttyUSB0\"",
            &format!("port = \"/dev/ttyUSB0\"\nusb_serial = {serial}"),
        )
    };
    assert_eq!(parse(GOOD).unwrap().boards[0].usb_serial, None);
    assert_eq!(
        parse(&named("\"A50285BI\"")).unwrap().boards[0]
            .usb_serial
            .as_deref(),
        Some("A50285BI")
    );
    for bad in ["\"\"", "\"00 01\"", "\"ab_12\"", "\"0001/\""] {
        let d = parse(&named(bad)).unwrap_err();
        assert_eq!(
            (line_of(&d), d.line_col().unwrap().1),
            (12, 14),
            "{bad}: {}",
            d.message
        );
        assert!(d.message.contains("usb_serial"), "{bad}: {}", d.message);
        assert!(
            d.render().contains("usb_serial = \"0001\""),
            "{bad}: {}",
            d.render()
        );
    }
    let d = parse(&named("1")).unwrap_err();
    assert_eq!(line_of(&d), 12, "{}", d.message);

    let two = format!(
        "{}\n[[board]]\nname = \"esp-b\"\nmac = \"5c:cf:7f:12:34:57\"\nport = \"/dev/ttyUSB1\"\nusb_serial = \"0001\"\nsupply = \"psu1:1\"\n",
        named("\"0001\"")
    );
    let d = parse(&two).unwrap_err();
    assert_eq!(d.line_col(), Some((29, 14)), "{}", d.render());
    assert!(
        d.message.contains("another board has this usb_serial"),
        "{}",
        d.render()
    );
}

#[test]
fn a_payload_section_sets_the_bench_firmwares_format_and_a_bad_one_names_its_line() {
    use model::payload::{JsonFields, PayloadFormat};
    assert_eq!(parse(GOOD).unwrap().payload, None);
    let rig = parse(&format!(
        "{GOOD}\n[payload]\nfields = {{ volts = \"voltage\" }}\n"
    ))
    .unwrap();
    assert_eq!(
        rig.payload,
        Some(PayloadFormat::Json {
            fields: JsonFields {
                volts: "voltage".into(),
                ..JsonFields::default()
            }
        })
    );
    let d = parse(&format!(
        "{GOOD}\n[payload]\nformat = \"json\"\nunit = \"volts\"\n"
    ))
    .unwrap_err();
    assert_eq!(line_of(&d), 26, "{}", d.render());
    assert!(
        d.message.contains("unit is for format = \"plain\""),
        "{}",
        d.message
    );
}

#[test]
fn boards_flash_at_flash_baud_through_the_named_stub_and_a_bad_one_names_its_line() {
    let plain = parse(GOOD).unwrap();
    assert_eq!(plain.boards[0].flash, FlashSettings::default());
    assert_eq!(plain.boards[0].flash.baud, 460_800);
    let fast = parse(&format!("{GOOD}\n[boards]\nflash_baud = 921600\n")).unwrap();
    assert_eq!(fast.boards[0].flash.baud, 921_600);
    assert_eq!(fast.scan, plain.scan, "no scan key: the usual ports");
    let d = parse(&format!("{GOOD}\n[boards]\nflash_baud = 9600\n")).unwrap_err();
    assert_eq!(line_of(&d), 25);
    assert!(d.message.contains("flash_baud 9600"), "{}", d.message);

    let dir = tempfile::tempdir().unwrap();
    let rig = dir.path().join("rig.toml");
    std::fs::write(dir.path().join("bad.json"), "{").unwrap();
    std::fs::write(
        dir.path().join("stub.json"),
        r#"{"entry": 1074843652, "text": "AAEC", "text_start": 1074843648}"#,
    )
    .unwrap();
    let with_stub =
        |file: &str| RigFile::parse(&rig, &format!("{GOOD}\n[boards]\nstub = \"{file}\"\n"));
    let d = with_stub("bad.json").unwrap_err();
    assert_eq!(line_of(&d), 25);
    assert!(
        d.message.contains("bad.json") && d.message.contains("not a flasher stub"),
        "{}",
        d.message
    );
    let d = with_stub("missing.json").unwrap_err();
    assert!(d.message.contains("missing.json"), "{}", d.message);
    let good = with_stub("stub.json").unwrap();
    assert_eq!(
        good.boards[0].flash.stub,
        Some(dir.path().join("stub.json"))
    );
}
