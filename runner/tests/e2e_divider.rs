//! A firmware copy whose ADC conversion is wrong by 10 % is caught by the readings check (exit 1).

mod common;
use common::*;

#[test]
fn a_ten_percent_divider_error_fails_the_readings_check() {
    let fx = Fixture::new();
    let firmware = fx.firmware_reading_high();
    let scenario = fx.write("steady.toml", &short_scenario("steady", 12.6, 0, ""));
    let report = fx.path("report");
    let out = run_hil(
        &scenario,
        &report,
        &["--firmware", firmware.to_str().unwrap()],
        &[],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("readings.accuracy"), "{all}");
    assert!(
        all.contains("off by 1.2"),
        "12.6 V read 10 % high is 13.86 V, off by ~1.26 V:\n{all}"
    );
}
