//! Field traces as voltage profiles: `profile = { csv = "traces/x.csv", speedup = 60 }`. The CSV has a
//! `time_s,volts` header, then one row per sample with seconds since the trace's start; `#` lines are comments.
//! Rows become ramps from one sample to the next, so the replay interpolates as a battery would move.

use super::profile::{Action, Step};
use crate::diagnostic::Diagnostic;
use std::ops::Range;
use std::path::{Path, PathBuf};

pub const HEADER: &str = "time_s,volts";

/// A trace file as read, kept for errors that point into it after loading (a rig's limits).
#[derive(Debug, Clone)]
pub struct TraceFile {
    pub path: PathBuf,
    pub text: String,
}

/// A trace as profile steps, each with the span of the row it came from. `Step::line` is the row's line in the
/// CSV file.
pub struct Trace {
    pub file: TraceFile,
    pub steps: Vec<Step>,
    pub spans: Vec<Range<usize>>,
}

/// Parses `text` (read from `path`) into steps; `speedup` compresses trace time into device time, and the
/// replay must end by `duration` (device seconds).
pub fn parse(path: &Path, text: &str, speedup: f64, duration: f64) -> Result<Trace, Diagnostic> {
    let error =
        |span: Range<usize>, message: String| Diagnostic::new(path, text, Some(span), message);
    let mut header_seen = false;
    let mut rows: Vec<(f64, f64, usize, Range<usize>)> = Vec::new();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let span = offset..offset + raw.trim_end().len();
        offset += raw.len();
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header_seen {
            let header: Vec<&str> = line.split(',').map(str::trim).collect();
            if header.join(",") != HEADER {
                return Err(error(
                    span,
                    format!("the first line must be the header `{HEADER}`, found `{line}`"),
                )
                .with_help("columns: seconds since the trace's start, battery volts"));
            }
            header_seen = true;
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [time, volts] = fields[..] else {
            return Err(error(
                span,
                format!("expected 2 values (time_s,volts), found {}", fields.len()),
            ));
        };
        let number = |what: &str, s: &str| match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(error(span.clone(), format!("{what} {s:?} is not a number"))),
        };
        let (t, v) = (number("time_s", time)?, number("volts", volts)?);
        if !(0.0..=60.0).contains(&v) {
            return Err(error(span, format!("{v} V is outside 0..=60 V")));
        }
        match rows.last() {
            None if t != 0.0 => {
                return Err(error(
                    span,
                    format!("the first row must be at time 0, found {t}"),
                )
                .with_help("times count seconds from the trace's start; `hil import-trace` writes them so"))
            }
            Some((previous, ..)) if t <= *previous => {
                return Err(error(
                    span,
                    format!("time {t} does not come after the previous row's {previous}: rows must be in time order"),
                ))
            }
            _ => {}
        }
        if t / speedup > duration {
            return Err(error(
                span,
                format!(
                    "this row plays at {:.1}s of device time (trace {t}s ÷ speedup {speedup}), after the scenario ends ({duration}s)",
                    t / speedup
                ),
            )
            .with_help("raise `speedup` or the scenario's `duration`, or cut the trace"));
        }
        rows.push((t, v, index + 1, span));
    }
    if rows.is_empty() {
        return Err(Diagnostic::new(
            path,
            text,
            None,
            format!("the trace has no rows: expected a `{HEADER}` header, then one row per sample"),
        ));
    }
    let mut steps = Vec::with_capacity(rows.len());
    let mut spans = Vec::with_capacity(rows.len());
    let mut previous: Option<f64> = None;
    for (t, v, line, span) in rows {
        let action = match previous {
            None => Action::Set(v),
            Some(p) => Action::Ramp {
                to: v,
                over: (t - p) / speedup,
            },
        };
        steps.push(Step {
            at: previous.unwrap_or(0.0) / speedup,
            action,
            line,
        });
        spans.push(span);
        previous = Some(t);
    }
    Ok(Trace {
        file: TraceFile {
            path: path.to_path_buf(),
            text: text.to_string(),
        },
        steps,
        spans,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Profile;

    fn parse_text(text: &str, speedup: f64, duration: f64) -> Result<Trace, Diagnostic> {
        parse(Path::new("traces/t.csv"), text, speedup, duration)
    }

    #[test]
    fn rows_become_ramps_in_device_time() {
        let trace = parse_text(
            "# a comment\ntime_s,volts\n0,12.6\n600,12.0\n\n1200,13.2\n",
            60.0,
            60.0,
        )
        .unwrap();
        let profile = Profile {
            steps: trace.steps.clone(),
        };
        assert_eq!(trace.steps.len(), 3);
        assert_eq!(trace.steps[1].line, 4);
        assert_eq!(trace.steps[2].line, 6);
        assert_eq!(profile.volts_at(0.0), 12.6);
        assert!((profile.volts_at(5.0) - 12.3).abs() < 1e-9);
        assert!((profile.volts_at(15.0) - 12.6).abs() < 1e-9);
        assert_eq!(profile.volts_at(30.0), 13.2);
        assert_eq!(profile.max_volts(), (13.2, 6));
    }

    #[test]
    fn errors_name_the_csv_line() {
        let at = |text: &str| {
            let d = parse_text(text, 1.0, 100.0).err().expect("must be refused");
            (d.location(), d.message)
        };
        let (loc, msg) = at("time,v\n0,12\n");
        assert_eq!(loc, "traces/t.csv:1:1");
        assert!(msg.contains("header `time_s,volts`"), "{msg}");
        let (loc, msg) = at("time_s,volts\n0,12\n5,twelve\n");
        assert_eq!(loc, "traces/t.csv:3:1");
        assert!(msg.contains("\"twelve\" is not a number"), "{msg}");
        let (loc, msg) = at("time_s,volts\n0,12\n5,12,1\n");
        assert_eq!(loc, "traces/t.csv:3:1");
        assert!(msg.contains("expected 2 values"), "{msg}");
        let (_, msg) = at("time_s,volts\n1,12\n");
        assert!(msg.contains("first row must be at time 0"), "{msg}");
        let (loc, msg) = at("time_s,volts\n0,12\n5,12\n5,12.1\n");
        assert_eq!(loc, "traces/t.csv:4:1");
        assert!(msg.contains("time order"), "{msg}");
        let (_, msg) = at("time_s,volts\n0,12\n5,99\n");
        assert!(msg.contains("outside 0..=60"), "{msg}");
        let (loc, msg) = at("time_s,volts\n0,12\n50,12\n200,12\n");
        assert_eq!(loc, "traces/t.csv:4:1");
        assert!(msg.contains("after the scenario ends"), "{msg}");
        let (_, msg) = at("time_s,volts\n");
        assert!(msg.contains("no rows"), "{msg}");
    }
}
