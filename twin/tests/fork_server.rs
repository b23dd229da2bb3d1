//! The fork server behind twin boards' host processes: a forked child is what `python3 -u SCRIPT ARGS` would
//! be (argv, cwd, environment, stdio, exit status), it can be signalled and killed, and it dies with the server.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use twin::fork_server::{ForkServer, Forked};
use twin::host_process::HostCommand;

const BOUND: Duration = Duration::from_secs(10);

fn python() -> PathBuf {
    let ok = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 is missing: apt-get install -y python3 (the fork server runs on CPython 3)"
    );
    PathBuf::from("python3")
}

fn command(dir: &Path, script: &str, stdin_piped: bool) -> HostCommand {
    let path = dir.join("script.py");
    std::fs::write(&path, script).unwrap();
    HostCommand {
        python: python(),
        argv: vec![path.into(), "first".into(), "second arg".into()],
        cwd: dir.to_path_buf(),
        env: vec![("HIL_FORK_TEST".into(), "hello from the rig".into())],
        stdin_piped,
        preload: None,
    }
}

type StdoutLines = tokio::io::Lines<BufReader<tokio::net::unix::pipe::Receiver>>;

/// A child that says `ready` and sleeps 30 s.
async fn start_sleeper(server: &ForkServer, dir: &Path) -> (Forked, StdoutLines) {
    let script = "import time\nprint('ready', flush=True)\ntime.sleep(30)\n";
    let mut child = server.spawn(&command(dir, script, false)).unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(BOUND, lines.next_line())
        .await
        .unwrap();
    assert_eq!(first.unwrap().as_deref(), Some("ready"));
    (child, lines)
}

async fn read_all(child: &mut Forked) -> (String, String) {
    let mut out = String::new();
    let mut err = String::new();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    tokio::time::timeout(BOUND, async {
        stdout.read_to_string(&mut out).await.unwrap();
        stderr.read_to_string(&mut err).await.unwrap();
    })
    .await
    .expect("the child's output did not end in time");
    (out, err)
}

#[tokio::test]
async fn child_gets_argv_cwd_env_stdio_and_exit_status() {
    let server = ForkServer::start(&python(), None).expect("starting the fork server");
    let dir = tempfile::tempdir().unwrap();
    let script = r#"
import os, sys
print("argv", sys.argv[1:])
print("cwd", os.getcwd())
print("env", os.environ["HIL_FORK_TEST"])
print("name", __name__, os.path.basename(__file__))
print("path0", sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
print("stdin", sys.stdin.readline().strip())
print("to stderr", file=sys.stderr)
sys.exit(7)
"#;
    let mut child = server.spawn(&command(dir.path(), script, true)).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"a line from the rig\n").await.unwrap();
    drop(stdin);
    let (out, err) = read_all(&mut child).await;
    let status = tokio::time::timeout(BOUND, child.wait())
        .await
        .unwrap()
        .unwrap();
    let cwd = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        out.contains("argv ['first', 'second arg']"),
        "stdout: {out}"
    );
    assert!(
        out.contains(&format!("cwd {}", cwd.display())),
        "stdout: {out}"
    );
    assert!(out.contains("env hello from the rig"), "stdout: {out}");
    assert!(out.contains("name __main__ script.py"), "stdout: {out}");
    assert!(out.contains("path0 True"), "stdout: {out}");
    assert!(out.contains("stdin a line from the rig"), "stdout: {out}");
    assert_eq!(err.trim(), "to stderr");
    assert_eq!(status.code(), Some(7));
    assert!(child.id().is_some(), "the server reports the child's pid");
    let cpu = server.cpu_seconds().unwrap();
    assert!(
        cpu > 0.0,
        "the server's CPU (its start-up and reaped children) is counted: {cpu}"
    );
}

#[tokio::test]
async fn uncaught_exception_and_interrupt_end_as_cpython_would() {
    use std::os::unix::process::ExitStatusExt;
    let server = ForkServer::start(&python(), None).expect("starting the fork server");
    let dir = tempfile::tempdir().unwrap();
    let mut child = server
        .spawn(&command(dir.path(), "raise ValueError('boom')\n", false))
        .unwrap();
    let (_, err) = read_all(&mut child).await;
    let status = tokio::time::timeout(BOUND, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(err.contains("ValueError: boom"), "stderr: {err}");
    assert_eq!(status.code(), Some(1));

    // A default SIGINT handler: Ctrl-C is a KeyboardInterrupt, and uncaught it ends the process by SIGINT.
    let (mut child, _stdout) = start_sleeper(&server, dir.path()).await;
    child.signaller().send(libc::SIGINT).unwrap();
    let status = tokio::time::timeout(BOUND, child.wait())
        .await
        .expect("SIGINT did not end the child")
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGINT));
}

#[tokio::test]
async fn kill_and_drop_end_the_child() {
    use std::os::unix::process::ExitStatusExt;
    let server = ForkServer::start(&python(), None).expect("starting the fork server");
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _stdout) = start_sleeper(&server, dir.path()).await;
    child.signaller().send(libc::SIGKILL).unwrap();
    let status = tokio::time::timeout(BOUND, child.wait())
        .await
        .expect("the kill did not end the child")
        .unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));

    // Dropping the handle kills the child: its stdout ends.
    let (child, mut lines) = start_sleeper(&server, dir.path()).await;
    drop(child);
    let end = tokio::time::timeout(BOUND, lines.next_line())
        .await
        .expect("the dropped child is still running");
    assert_eq!(end.unwrap(), None);
}

#[tokio::test]
async fn children_die_with_the_server() {
    let server = ForkServer::start(&python(), None).expect("starting the fork server");
    let dir = tempfile::tempdir().unwrap();
    let (mut child, mut lines) = start_sleeper(&server, dir.path()).await;
    // SAFETY: kill(2) on the server process this test started.
    unsafe {
        libc::kill(server.pid() as libc::pid_t, libc::SIGKILL);
    }
    // The child's stdout ends only when the child is gone (the server closed its copy after the fork).
    let end = tokio::time::timeout(BOUND, lines.next_line())
        .await
        .expect("the child outlived its fork server");
    assert_eq!(end.unwrap(), None);
    let waited = tokio::time::timeout(BOUND, child.wait()).await.unwrap();
    assert!(waited.is_err(), "no exit status comes from a dead server");
}

#[tokio::test]
async fn host_command_falls_back_to_a_fresh_interpreter_when_turned_off() {
    const NAME: &str = "host_command_falls_back_to_a_fresh_interpreter_when_turned_off";
    let off = std::env::var(twin::fork_server::DISABLE_ENV).is_ok_and(|v| v == "0");
    if !off {
        // The switch is read from the environment: this test runs again in a process of its own with it set,
        // rather than setting it in this one, whose environment other tests' threads read.
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([NAME, "--exact", "--nocapture", "--test-threads", "1"])
            .env(twin::fork_server::DISABLE_ENV, "0")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && said.contains("1 passed"),
            "{said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    // HostCommand::spawn_here with the server turned off must still run the script, as a child of this process.
    let dir = tempfile::tempdir().unwrap();
    let mut process = command(
        dir.path(),
        "import os, sys\nprint('fresh', os.getppid())\nsys.exit(3)\n",
        false,
    )
    .spawn_here()
    .unwrap();
    let mut out = String::new();
    tokio::time::timeout(
        BOUND,
        process.stdout.take().unwrap().read_to_string(&mut out),
    )
    .await
    .unwrap()
    .unwrap();
    let status = tokio::time::timeout(BOUND, process.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.trim(), format!("fresh {}", std::process::id()));
    assert_eq!(status.code(), Some(3));
}
