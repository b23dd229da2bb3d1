//! The benchmark commands print their figures: `hil bench scale` a row per board count with readings, timing
//! errors and checks; `hil bench peers` the three peer ratios from one run. Figures are not judged here (the
//! machines are shared and noisy): only that each is measured and printed.

mod common;
use common::*;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bench_scale_prints_a_row_of_figures_per_board_count() {
    let out = hil(
        &[
            "bench",
            "scale",
            "--boards",
            "1,2",
            "--speed",
            "20",
            "--minutes",
            "2",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = stdout(&out);
    assert!(
        printed.contains("Pty boards") && printed.contains("cores)"),
        "{printed}"
    );
    for boards in ["1", "2"] {
        let row = printed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(boards))
            .unwrap_or_else(|| panic!("no row for {boards} board(s):\n{printed}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells.len(), 9, "{row}");
        for figure in &cells[1..5] {
            assert!(figure.parse::<f64>().is_ok(), "{figure} in {row}");
        }
        for fraction in [cells[5], cells[8]] {
            let (got, of) = fraction.split_once('/').unwrap_or_else(|| panic!("{row}"));
            assert!(
                got.parse::<u32>().is_ok() && of.parse::<u32>().is_ok_and(|n| n > 0),
                "{row}"
            );
        }
    }
}

#[test]
fn bench_peers_prints_the_three_peer_ratios_from_one_run() {
    require("esptool", "pip install esptool");
    require("mpremote", "pip install mpremote");
    let out = hil(
        &[
            "bench",
            "peers",
            "--image-kib",
            "16",
            "--messages",
            "50",
            "--bauds",
            "115200,460800",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let printed = stdout(&out);
    let ratios = printed
        .split("peer ratios from this run")
        .nth(1)
        .unwrap_or_else(|| panic!("no ratio block:\n{printed}"));
    for line in [
        "ratio flash 115200 baud, ours / esptool (stub, compressed): ",
        "ratio flash 460800 baud, ours / esptool (stub, compressed): ",
        "ratio deploy fresh, ours / mpremote: ",
        "ratio publish round trip, tap / direct: p50 ",
    ] {
        let value = ratios
            .split(line)
            .nth(1)
            .and_then(|rest| rest.split([',', '\n']).next())
            .unwrap_or_else(|| panic!("no {line:?} in:\n{ratios}"));
        assert!(
            value.trim().parse::<f64>().is_ok_and(|r| r > 0.0),
            "{line}{value}"
        );
    }
}
