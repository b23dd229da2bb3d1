//! Shared parts of the end-to-end tests: a real Mosquitto with a password file, scenario fixtures, and the
//! `hil` binary run as a user would run it.

#![allow(dead_code, reason = "each test binary uses its own subset")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A program the test needs, or a failure that says how to install it.
pub fn require(program: &str, install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("{program} is needed by this test and is not installed: {install}")
        })
}

/// A Mosquitto started by the test on a free loopback port, with a password file made by mosquitto_passwd.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub dir: tempfile::TempDir,
    /// Its listener speaks TLS (`mqtts://`).
    pub tls: bool,
}

impl Mosquitto {
    pub fn start() -> Mosquitto {
        Mosquitto::start_with(None)
    }

    /// A Mosquitto whose only listener speaks TLS, with the server certificate and key given (PEM files) and
    /// `ca` as the CA it names.
    pub fn start_tls(cert: &Path, key: &Path, ca: &Path) -> Mosquitto {
        let options = format!(
            "cafile {}\ncertfile {}\nkeyfile {}\n",
            ca.display(),
            cert.display(),
            key.display()
        );
        Mosquitto::start_with(Some(options))
    }

    /// `tls`: the listener's TLS options, for a TLS-only broker.
    fn start_with(tls: Option<String>) -> Mosquitto {
        let install = "apt-get install -y mosquitto";
        let mosquitto = require("mosquitto", install);
        let passwd = require("mosquitto_passwd", install);
        let dir = tempfile::tempdir().unwrap();
        let user = "bench".to_string();
        let password = fresh_password();
        let pwfile = dir.path().join("passwd");
        let status = Command::new(passwd)
            .args(["-c", "-b"])
            .arg(&pwfile)
            .args([&user, &password])
            .status()
            .unwrap();
        assert!(status.success(), "mosquitto_passwd failed");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path().join("mosquitto.log");
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\n{}allow_anonymous false\npassword_file {}\nlog_dest stderr\n\
                 log_type all\nconnection_messages true\npersistence false\n",
                tls.as_deref().unwrap_or_default(),
                pwfile.display(),
            ),
        )
        .unwrap();
        let child = spawn_mosquitto(&mosquitto, &conf, &log, port);
        Mosquitto {
            child,
            port,
            user,
            password,
            dir,
            tls: tls.is_some(),
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        format!("{scheme}://{}@127.0.0.1:{}", self.user, self.port)
    }

    /// Kills the broker process (as a crash would), waits `down`, and starts it again on the same port.
    pub fn crash_and_restart(&mut self, down: Duration) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(down);
        let mosquitto = require("mosquitto", "apt-get install -y mosquitto");
        let log = self.dir.path().join("mosquitto-restarted.log");
        self.child = spawn_mosquitto(
            &mosquitto,
            &self.dir.path().join("mosquitto.conf"),
            &log,
            self.port,
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }
}

/// A password no other test's broker has: from the OS's random source.
pub fn fresh_password() -> String {
    format!("pw-{}", rig::secret::Secret::generate().expose())
}

fn spawn_mosquitto(mosquitto: &Path, conf: &Path, log: &Path, port: u16) -> Child {
    let child = Command::new(mosquitto)
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        // Mosquitto started as root drops to its own user and could not open a log file in our folder.
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "mosquitto did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A short scenario for end-to-end tests: 30 s sleeps over 3 minutes of device time (9 s at speed 20).
pub fn short_scenario(name: &str, volts: f64, expect_connack: u8, firmware_extra: &str) -> String {
    format!(
        r#"name = "{name}"
description = "end-to-end test fixture"
duration = "3m"

[firmware]
sleep = "30s"
{firmware_extra}

[supply]
profile = [{{ at = "0s", volts = {volts} }}]

[expect]
readings = {{ within_volts = 0.15, min_count = 4 }}
period = {{ nominal = "33s", tolerance = "15%" }}
connack = {expect_connack}
"#
    )
}

/// A two-minute scenario of 30 s sleeps at 12.6 V, for tests of reports across runs: at least `min_count`
/// readings expected (100 fails it whatever the firmware), `expect_extra` added to its `[expect]`.
pub fn two_minute_scenario(name: &str, min_count: u32, expect_extra: &str) -> String {
    format!(
        r#"name = "{name}"
duration = "2m"

[firmware]
sleep = "30s"

[supply]
profile = [{{ at = "0s", volts = 12.6 }}]

[expect]
readings = {{ within_volts = 0.15, min_count = {min_count} }}
{expect_extra}
"#
    )
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
}

thread_local! {
    /// The state folders of the fixtures alive on this thread, newest last: see `hil_command`.
    static STATE_DIRS: std::cell::RefCell<Vec<PathBuf>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Fixture {
    /// A test's folder. Every `hil` the test starts from this thread while it lives keeps its flash records in
    /// the fixture's `state` folder, not in the user's: passed in the child's environment, never set in this
    /// process's, which other tests' threads share.
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        STATE_DIRS.with(|dirs| dirs.borrow_mut().push(dir.path().join("state")));
        Fixture { dir }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A copy of the project's firmware app, to mutate.
    pub fn firmware_copy(&self) -> PathBuf {
        let target = self.path("firmware");
        std::fs::create_dir_all(&target).unwrap();
        let source = project_root().join("firmware").join("app");
        for entry in std::fs::read_dir(source).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_file() {
                std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
            }
        }
        target
    }

    /// A copy of the project's firmware app whose readings are all 10 % high, as a mis-specified divider would
    /// make them.
    pub fn firmware_reading_high(&self) -> PathBuf {
        let firmware = self.firmware_copy();
        let battery = firmware.join("battery.py");
        let mut source = std::fs::read_to_string(&battery).unwrap();
        assert!(
            source.contains("def counts_to_volts("),
            "battery.py must define counts_to_volts"
        );
        source.push_str(
            "\n_exact_counts_to_volts = counts_to_volts\n\n\ndef counts_to_volts(counts, divider, full_scale_volts):\n    return _exact_counts_to_volts(counts, divider / 1.1, full_scale_volts)\n",
        );
        std::fs::write(&battery, source).unwrap();
        firmware
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let state = self.dir.path().join("state");
        STATE_DIRS.with(|dirs| dirs.borrow_mut().retain(|d| *d != state));
    }
}

/// The `hil` binary, with HIL_STATE_DIR set to the state folder of this thread's newest fixture, if any.
pub fn hil_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hil"));
    if let Some(state) = STATE_DIRS.with(|dirs| dirs.borrow().last().cloned()) {
        cmd.env("HIL_STATE_DIR", state);
    }
    cmd
}

/// Starts `hil` with the arguments and environment given and its output piped, for a test that acts on it while
/// it runs.
pub fn spawn_hil<S: AsRef<std::ffi::OsStr>>(args: &[S], env: &[(&str, &str)]) -> Child {
    let mut cmd = hil_command();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `hil` with the arguments and environment given, bounded in time.
pub fn hil(args: &[&str], env: &[(&str, &str)]) -> Output {
    let env: Vec<(&str, &str)> = [("HIL_LOG", "warn")]
        .into_iter()
        .chain(env.iter().copied())
        .collect();
    finish(spawn_hil(args, &env), &format!("hil {args:?}"))
}

/// Waits, at most 90 s, for a `hil` the test started to end, and takes its output; `what` names it if it does not.
pub fn finish(child: Child, what: &str) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("{what} did not finish within 90 s");
        }
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "--- exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every file under `dir`, recursively, as (path, contents).
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// Device-time speed for end-to-end runs: fast, with margin for the real-time overhead a busy CI machine adds
/// (each real millisecond of host work is 20 ms of device time).
pub const TEST_SPEED: &str = "20";

/// `hil run SCENARIO --speed TEST_SPEED --report REPORT EXTRA...` with the environment given.
pub fn run_hil(scenario: &Path, report: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--speed",
        TEST_SPEED,
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    hil(&args, env)
}

/// `hil run --rig RIG SCENARIO --report REPORT`, keeping what it remembers between runs (the flash records) in
/// `state`, not the user's state folder.
pub fn hil_on_rig(rig: &Path, scenario: &Path, report: &Path, state: &Path) -> Output {
    hil(
        &rig_run_args(rig, scenario, report),
        &[("HIL_STATE_DIR", state.to_str().unwrap())],
    )
}

/// The arguments of `hil run --rig RIG SCENARIO --report REPORT`.
pub fn rig_run_args<'a>(rig: &'a Path, scenario: &'a Path, report: &'a Path) -> [&'a str; 6] {
    [
        "run",
        "--rig",
        rig.to_str().unwrap(),
        scenario.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]
}

/// A `hil bench up` a test started. Dropping it kills and reaps the bench, so a test that fails before it stops
/// the bench leaves none running (its boards die with it).
pub struct BenchUp {
    child: Child,
}

impl std::ops::Deref for BenchUp {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.child
    }
}

impl Drop for BenchUp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hil bench up --write-rig RIG EXTRA...` and waits (bounded) until it has written the rig file.
pub fn start_bench_up(rig: &Path, extra: &[&str]) -> BenchUp {
    let bench = BenchUp {
        child: hil_command()
            .args(["bench", "up", "--write-rig"])
            .arg(rig)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !rig.exists() {
        assert!(Instant::now() < deadline, "no rig file within 20 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    bench
}

/// The first `key = "value"` in a rig file's text.
pub fn rig_field(rig: &str, key: &str) -> String {
    rig.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or_else(|| panic!("no {key} in the rig file:\n{rig}"))
        .to_string()
}

/// A rig file's text with `edit` applied to its TOML (`rig["supply"]["twin"]...`); comments are not kept.
pub fn edit_rig(text: &str, edit: impl FnOnce(&mut toml::Table)) -> String {
    let mut rig: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}\n{text}"));
    edit(&mut rig);
    rig.to_string()
}

/// The lines of a supply journal (`hil bench up --supply-journal`) about channel `channel`, oldest first.
pub fn journal_of_channel(journal: &Path, channel: u8) -> Vec<String> {
    let name = format!("ch{channel}");
    std::fs::read_to_string(journal)
        .unwrap()
        .lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(name.as_str()))
        .map(str::to_string)
        .collect()
}

/// One line to an SCPI instrument at `tcp://HOST:PORT` (`hil bench up`'s supply) from a client of its own, and
/// its one-line reply, as any lab tool would ask it.
pub fn scpi(address: &str, command: &str) -> String {
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::net::TcpStream::connect(address.trim_start_matches("tcp://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("{command}\n").as_bytes()).unwrap();
    let mut answer = String::new();
    BufReader::new(&s).read_line(&mut answer).unwrap();
    answer.trim().to_string()
}

/// Sends `signal` (e.g. "-TERM", "-USR1") to a child started by a test.
pub fn signal(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {signal} {}", child.id());
}

/// Stops `hil bench up` with SIGTERM; it must exit cleanly.
pub fn stop_bench(mut bench: BenchUp) {
    signal(&bench, "-TERM");
    let status = bench.child.wait().unwrap();
    assert!(status.success(), "hil bench up ended with {status}");
}

/// Waits, at most `limit`, until there is a file at `path` (a run's event log, once its timeline starts).
pub fn wait_for_file(path: &Path, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "no {} within {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What a killed run's stderr still receives, to its end: its safety guard holds that stderr until it is done,
/// so this returns once the guard has exited, within `limit`.
pub fn stderr_to_end(run: &mut Child, limit: Duration) -> String {
    let mut stderr = run.stderr.take().expect("the run's stderr is piped");
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut all);
        all
    });
    let deadline = Instant::now() + limit;
    while !reader.is_finished() {
        assert!(
            Instant::now() < deadline,
            "the safety guard still runs {limit:?} after the run was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// Waits, at most `limit`, until the file at `path` (an event log being written) holds `needle`.
pub fn wait_for_log(path: &Path, needle: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !std::fs::read_to_string(path)
        .unwrap_or_default()
        .contains(needle)
    {
        assert!(
            Instant::now() < deadline,
            "no {needle} in {} within {limit:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
