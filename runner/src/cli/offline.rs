//! The commands that read files and need no bench: `check`, `validate`, `list`, `import-trace`; and loading the
//! scenarios a command names, which `run` shares.

use super::{
    file_error, setup_error, BaselineArgs, Ended, SetupFailed, DEFAULT_SPEED, EXIT_FAIL, EXIT_PASS,
};
use crate::colour::{paint, Tone};
use crate::report::Baseline;
use crate::rigfile::RigFile;
use crate::{paths, plan, suite};
use model::checks::run_checks;
use model::diagnostic::UserTomlFile;
use model::events::{read_log, Body, Event};
use model::scenario::{collect_files, Scenario};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The scenarios in `paths` (default: the project's scenarios/), every file's errors reported before stopping.
pub(super) fn load_scenarios(paths: &[PathBuf]) -> Result<Vec<Scenario>, SetupFailed> {
    let paths = if paths.is_empty() {
        let default = paths::default_scenarios();
        if default.is_absolute() {
            eprintln!(
                "hil: no scenarios/ in this folder: using the project's, {}",
                default.display()
            );
        }
        vec![default]
    } else {
        paths.to_vec()
    };
    let files = collect_files(&paths).map_err(setup_error)?;
    let mut scenarios = Vec::new();
    let mut all_valid = Ok(());
    for file in files {
        match Scenario::load(&file) {
            Ok(s) => scenarios.push(s),
            Err(d) => all_valid = Err(file_error(d)),
        }
    }
    let names_unique = unique_names(&scenarios);
    all_valid.and(names_unique)?;
    Ok(scenarios)
}

/// Reports every two scenarios with one name: a name is a report folder.
fn unique_names(scenarios: &[Scenario]) -> Result<(), SetupFailed> {
    let mut seen = HashMap::new();
    let mut unique = Ok(());
    for s in scenarios {
        if let Some(other) = seen.insert(&s.name, &s.path) {
            unique = Err(setup_error(format_args!(
                "{} and {} are both named {:?}: names must be unique (they name report folders)",
                other.display(),
                s.path.display(),
                s.name
            )));
        }
    }
    unique
}

/// Why a log's verdicts may not mean what they seem: it is another scenario's, or its run was cut short.
fn doubts(scenario: &str, events: &[Event]) -> Vec<String> {
    let mut doubts = Vec::new();
    let logged = events.iter().find_map(|e| match &e.body {
        Body::ScenarioStart { scenario, .. } => Some(scenario.as_str()),
        _ => None,
    });
    if let Some(logged) = logged.filter(|l| *l != scenario) {
        doubts.push(format!(
            "the log is of scenario {logged:?}, judged here by {scenario:?}'s checks"
        ));
    }
    if !events
        .iter()
        .any(|e| matches!(e.body, Body::ScenarioEnd { .. }))
    {
        doubts.push(
            "the log has no scenario.end: its run was cut short, so checks judge only what it recorded"
                .into(),
        );
    }
    doubts
}

/// `hil check`: the scenario's checks over a recorded event log.
pub(super) fn check(events: &Path, scenario: &Path, baseline: &BaselineArgs) -> Ended {
    let scenario = Scenario::load(scenario).map_err(file_error)?;
    let baseline = baseline
        .dir
        .as_deref()
        .map(|dir| Baseline::load(dir, baseline.margins()))
        .transpose()
        .map_err(|e| setup_error(format_args!("--baseline: {e}")))?;
    let path = events;
    let events = read_log(path).map_err(setup_error)?;
    if events.is_empty() {
        return Err(setup_error(format_args!(
            "{}: the log holds no events: nothing to judge",
            path.display()
        )));
    }
    let mut verdicts = run_checks(&scenario, &events);
    let failed: Vec<&str> = verdicts
        .iter()
        .filter(|v| !v.pass && v.judged)
        .map(|v| v.name)
        .collect();
    if let Some(behind) = model::bench_lag::fell_behind(&events, &failed) {
        return Err(setup_error(behind));
    }
    // Judged after the bench's lag, as a run judges it: a baseline says nothing of a bench that fell behind.
    if let Some(baseline) = &baseline {
        verdicts.extend(baseline.judge(&scenario, &events));
    }
    for warning in doubts(&scenario.name, &events) {
        eprintln!("warning: {warning}");
    }
    for v in &verdicts {
        let tone = match (v.pass, v.judged) {
            (true, _) => Tone::Good,
            (false, true) => Tone::Bad,
            (false, false) => Tone::Doubt,
        };
        anstream::println!(
            "{} {:<18} {:<8} {}",
            paint(&format!("{:<4}", v.word()), tone),
            v.name,
            v.board.as_deref().unwrap_or("-"),
            v.message
        );
    }
    Ok(if verdicts.iter().all(|v| v.pass) {
        EXIT_PASS
    } else {
        EXIT_FAIL
    })
}

/// `hil validate`: the rig file if given, then each scenario, and each against the rig's channel limits (or the
/// twin's).
pub(super) fn validate(paths: &[PathBuf], rig: Option<&Path>) -> Ended {
    let rig = rig.map(RigFile::load).transpose().map_err(file_error)?;
    if let Some(rig) = &rig {
        println!(
            "ok  {}  ({} supplies, {} boards)",
            rig.path.display(),
            rig.supplies.len(),
            rig.boards.len()
        );
    }
    let mut all_fit = Ok(());
    for s in &load_scenarios(paths)? {
        match plan::check_limits(s, rig.as_ref()) {
            Ok(()) => println!("ok  {}  ({})", s.path.display(), s.name),
            Err(d) => all_fit = Err(file_error(d)),
        }
    }
    all_fit.map(|()| EXIT_PASS)
}

/// `hil list`: the scenarios with their tags, boards, duration and needs.
pub(super) fn list(paths: &[PathBuf], tags: &[String]) -> Ended {
    let scenarios = suite::with_tags(load_scenarios(paths)?, tags).map_err(setup_error)?;
    print!("{}", suite::listing(&scenarios, DEFAULT_SPEED));
    Ok(EXIT_PASS)
}

/// `hil import-trace`: a capture of the firmware's readings as a replay profile's CSV.
pub(super) fn import_trace(capture: &Path, out: &Path, device: Option<&str>) -> Ended {
    let text = std::fs::read_to_string(capture)
        .map_err(|e| setup_error(format_args!("{}: {e}", capture.display())))?;
    let name = capture.file_name().map_or_else(
        || capture.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let imported = model::trace::import(&name, &text, device).map_err(setup_error)?;
    out.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|_| std::fs::write(out, &imported.csv))
        .map_err(|e| setup_error(format_args!("writing {}: {e}", out.display())))?;
    // A replay should fit a scenario of about ten minutes of device time.
    let speedup = (imported.span / 600.0).ceil().max(1.0);
    let (folder, csv) = from_scenario_folder(out);
    let folder = match folder.display().to_string() {
        empty if empty.is_empty() => "this folder".to_string(),
        named => named,
    };
    println!(
        "wrote {}: {} readings of {} over {} (left out: {} late, {} repeated, {} other lines)
         replay it from a scenario file in {folder}: profile = {{ csv = \"{csv}\", speedup = {speedup} }}  \
         (≈{} of device time)",
        out.display(),
        imported.rows,
        imported.device,
        suite::duration_text(imported.span),
        imported.late,
        imported.repeated,
        imported.other,
        suite::duration_text(imported.span / speedup)
    );
    Ok(EXIT_PASS)
}

/// Where a scenario replaying the trace at `out` would be, and the `csv` path it would give: a scenario's paths
/// are relative to its file, and traces go in a `traces/` folder beside the scenarios (else beside the trace).
fn from_scenario_folder(out: &Path) -> (PathBuf, String) {
    let folder = out.parent().unwrap_or(Path::new(""));
    let scenarios = match folder.file_name() {
        Some(name) if name == "traces" => folder.parent().unwrap_or(Path::new("")),
        _ => folder,
    };
    let relative = out.strip_prefix(scenarios).unwrap_or(out);
    let parts: Vec<_> = relative.iter().map(|c| c.to_string_lossy()).collect();
    (scenarios.to_path_buf(), parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: Body) -> Event {
        Event { t: 0.0, body }
    }

    fn start(name: &str) -> Event {
        event(Body::ScenarioStart {
            scenario: name.into(),
            speed: 20.0,
            boards: Vec::new(),
            broker: "b".into(),
            payload: None,
            within_volts: None,
        })
    }

    #[test]
    fn a_trace_is_named_from_the_scenarios_folder() {
        let at = |out: &str| from_scenario_folder(Path::new(out));
        assert_eq!(
            at("scenarios/traces/site.csv"),
            (PathBuf::from("scenarios"), "traces/site.csv".into())
        );
        assert_eq!(
            at("traces/site.csv"),
            (PathBuf::new(), "traces/site.csv".into())
        );
        assert_eq!(
            at("lab/site.csv"),
            (PathBuf::from("lab"), "site.csv".into())
        );
        assert_eq!(at("site.csv"), (PathBuf::new(), "site.csv".into()));
    }

    #[test]
    fn another_scenarios_log_or_one_cut_short_is_doubted() {
        let end = |name: &str| {
            event(Body::ScenarioEnd {
                scenario: name.into(),
            })
        };
        assert!(doubts("a", &[start("a"), end("a")]).is_empty());
        let other = doubts("a", &[start("b"), end("b")]);
        assert_eq!(
            other,
            ["the log is of scenario \"b\", judged here by \"a\"'s checks"]
        );
        let cut = doubts("a", &[start("a")]);
        assert!(cut.len() == 1 && cut[0].contains("cut short"), "{cut:?}");
    }
}
