//! `hil bench up` stands the twin bench up on its own, described by a rig file that validates, that esptool and a
//! raw SCPI client can use unmodified, and whose limits refuse an over-voltage scenario; SIGTERM takes it down
//! and removes the secrets it wrote.

mod common;
use common::*;
use model::diagnostic::UserTomlFile;
use std::io::{BufRead, BufReader, Write};
use std::process::Command;
use std::time::Duration;

#[test]
fn bench_up_writes_a_rig_file_that_real_tools_can_use() {
    let esptool = require("esptool", "pip install esptool");
    let fx = Fixture::new();
    let rig_path = fx.path("lab.toml");
    let bench = start_bench_up(&rig_path, &["--bootloader"]);
    let rig = std::fs::read_to_string(&rig_path).unwrap();

    let ok = hil(
        &[
            "validate",
            "--rig",
            rig_path.to_str().unwrap(),
            project_root()
                .join("scenarios/float-charge.toml")
                .to_str()
                .unwrap(),
        ],
        &[],
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let hot = fx.write("hot.toml", &short_scenario("hot", 17.0, 0, ""));
    let refused = hil(
        &[
            "validate",
            "--rig",
            rig_path.to_str().unwrap(),
            hot.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("max_volts = 16 V"),
        "{}",
        text(&refused)
    );

    let address = rig_field(&rig, "address");
    let mut scpi = std::net::TcpStream::connect(address.trim_start_matches("tcp://")).unwrap();
    scpi.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    scpi.write_all(b"*IDN?\n").unwrap();
    let mut idn = String::new();
    BufReader::new(&scpi).read_line(&mut idn).unwrap();
    assert!(
        idn.to_ascii_uppercase().contains("DP8"),
        "a DP800 answers *IDN?: {idn:?}"
    );

    let port = rig_field(&rig, "port");
    let mac = rig_field(&rig, "mac");
    let out = Command::new(esptool)
        .args([
            "--chip", "esp8266", "--port", &port, "--before", "no-reset", "--after", "no-reset",
            "read-mac",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && said.contains(&mac),
        "esptool read-mac:\n{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let secret = fx.path("lab.broker-password");
    assert!(secret.exists());
    stop_bench(bench);
    assert!(
        !secret.exists(),
        "the broker password file is removed when the bench goes down"
    );
}

/// The rig file's strings are TOML strings, escaped: a folder with quotes in its name gives a rig file that
/// loads and names the same files.
#[test]
fn a_rig_file_in_a_folder_named_with_quotes_loads_and_names_its_files() {
    let fx = Fixture::new();
    let dir = fx.path("the \"lab\" o'clock");
    std::fs::create_dir_all(&dir).unwrap();
    let rig_path = dir.join("lab.toml");
    let bench = start_bench_up(&rig_path, &[]);
    let rig =
        runner::rigfile::RigFile::load(&rig_path).unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(rig.scan, [format!("{}/*", dir.join("lab.ports").display())]);
    let password = std::fs::read_to_string(dir.join("lab.broker-password")).unwrap();
    let broker = rig.broker.as_ref().expect("a [broker]");
    assert_eq!(broker.password.resolve().unwrap().expose(), password);
    assert!(
        std::path::Path::new(&rig.boards[0].port).exists(),
        "{}",
        rig.boards[0].port
    );
    stop_bench(bench);
}
