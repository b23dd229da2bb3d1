//! Times as a person at the bench reads them: the local date and time with its offset from UTC.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use std::time::SystemTime;

/// `2026-11-29 07:05:12 +01:00` in the machine's time zone (UTC when it has none).
pub fn local_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let offset = FixedOffset::east_opt(utc_offset_secs(secs)).unwrap_or(Utc.fix());
    DateTime::from_timestamp(secs, 0).map_or_else(
        || format!("unix time {secs}"),
        |utc| {
            utc.with_timezone(&offset)
                .format("%Y-%m-%d %H:%M:%S %:z")
                .to_string()
        },
    )
}

/// The local zone's offset from UTC at `secs`, as the C library knows it (TZ, /etc/localtime).
fn utc_offset_secs(secs: i64) -> i32 {
    let t = secs as libc::time_t;
    // SAFETY: all zeros is a valid `tm` (integers and a null zone name), which localtime_r overwrites.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the call; localtime_r is the thread-safe form and keeps no pointer.
    let converted = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if converted {
        tm.tm_gmtoff as i32
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_local_date_names_the_same_instant_with_its_offset() {
        let instant = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_914_417);
        let text = local_date(instant);
        let parsed = DateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S %:z")
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed.timestamp(), 1_795_914_417, "{text}");
    }
}
