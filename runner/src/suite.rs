//! A suite of scenarios: selected by tag, split into those this broker can serve and those it must skip,
//! listed, and run a few at a time.

use crate::exec::{run_scenario, Capabilities, RunContext, ScenarioOutcome};
use crate::report::{SkipKind, Skipped};
use crate::schedule::Turns;
use futures_util::FutureExt;
use model::scenario::{Requirement, Scenario};
use rig::mqtt::BrokerSpec;
use std::collections::{BTreeSet, VecDeque};
use std::fmt::Write;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

/// Scenarios at once when `--jobs` is not given: twin scenarios mostly wait on device time (a run uses about a
/// tenth of a core), so a few overlap well even on a two-core machine without stretching awake times.
pub const DEFAULT_JOBS: usize = 4;

/// No scenario carries any of the tags asked for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no scenario is tagged {}; tags in use: {}", .asked.join(" or "), .in_use.join(", "))]
pub struct NoSuchTag {
    pub asked: Vec<String>,
    /// Every tag the scenarios carry, sorted.
    pub in_use: Vec<String>,
}

/// The scenarios carrying any of `tags` (all of them when none is given); an error naming the tags in use when
/// none matches.
pub fn with_tags(scenarios: Vec<Scenario>, tags: &[String]) -> Result<Vec<Scenario>, NoSuchTag> {
    if tags.is_empty() {
        return Ok(scenarios);
    }
    let in_use: BTreeSet<&str> = scenarios
        .iter()
        .flat_map(|s| s.tags.iter().map(String::as_str))
        .collect();
    let wanted: Vec<Scenario> = scenarios
        .iter()
        .filter(|s| s.tags.iter().any(|t| tags.contains(t)))
        .cloned()
        .collect();
    if wanted.is_empty() {
        return Err(NoSuchTag {
            asked: tags.to_vec(),
            in_use: in_use.into_iter().map(String::from).collect(),
        });
    }
    Ok(wanted)
}

/// Whether `broker` gives what `requirement` asks for. An external broker is taken to be the lab's Mosquitto.
fn provides(broker: &BrokerSpec, requirement: Requirement) -> bool {
    match requirement {
        Requirement::Mosquitto => !matches!(broker, BrokerSpec::Embedded),
    }
}

/// The scenarios `broker` can serve, and the others with the reason each is skipped.
pub fn split_runnable(
    scenarios: Vec<Scenario>,
    broker: &BrokerSpec,
) -> (Vec<Scenario>, Vec<Skipped>) {
    let mut runnable = Vec::new();
    let mut skipped = Vec::new();
    for s in scenarios {
        match s.requires.iter().find(|r| !provides(broker, **r)) {
            Some(Requirement::Mosquitto) => skipped.push(Skipped {
                scenario: s.name.clone(),
                reason:
                    "requires mosquitto: the embedded broker closes a refused connection without \
                         its CONNACK code; run it with --broker mosquitto"
                        .into(),
                kind: SkipKind::Unservable,
            }),
            None => runnable.push(s),
        }
    }
    (runnable, skipped)
}

/// The scenarios a bench with `capabilities` can stage, and the others skipped with the reason.
pub fn split_stageable(
    scenarios: Vec<Scenario>,
    capabilities: Capabilities,
) -> (Vec<Scenario>, Vec<Skipped>) {
    let (stageable, unstageable): (Vec<Scenario>, Vec<Scenario>) = scenarios
        .into_iter()
        .partition(|s| capabilities.refusal(s).is_none());
    let skipped = unstageable
        .iter()
        .filter_map(|s| {
            Some(Skipped {
                scenario: s.name.clone(),
                reason: capabilities.refusal(s)?,
                kind: SkipKind::Unservable,
            })
        })
        .collect();
    (stageable, skipped)
}

/// How many scenarios to run at once. Each job gets a broker of its own, because every scenario's boards are
/// named twin-0, twin-1, … and those names are their MQTT client ids: on one broker, a second twin-0 would take
/// the first one's session over. An external broker is shared, so its scenarios run one at a time.
pub fn jobs_for(broker: &BrokerSpec, asked: usize, scenarios: usize) -> usize {
    let asked = if matches!(broker, BrokerSpec::External { .. }) {
        1
    } else {
        asked.max(1)
    };
    asked.min(scenarios)
}

/// Runs every scenario, each job on its own context, each scenario in its turn, and returns the outcomes in the
/// scenarios' order. A stop (Ctrl-C, SIGTERM) lets running scenarios finish safely and starts no more.
pub async fn run_all(
    scenarios: &[Scenario],
    contexts: Vec<Arc<RunContext>>,
    turns: Turns,
) -> Vec<ScenarioOutcome> {
    run_queue(scenarios, contexts, turns, |scenario, ctx| async move {
        run_scenario(&scenario, &ctx).await
    })
    .await
}

/// What a job needs of its context to take scenarios from the queue.
trait Job: Send + Sync + 'static {
    fn stopped(&self) -> bool;
    fn speed(&self) -> f64;
    /// Whether to say on stderr as each scenario starts and ends (not with `--quiet`).
    fn chatty(&self) -> bool;
    /// Where the scenario's event log is (or would have been) written.
    fn events_path(&self, scenario: &str) -> std::path::PathBuf;
}

impl Job for RunContext {
    fn stopped(&self) -> bool {
        *self.interrupt.borrow()
    }

    fn speed(&self) -> f64 {
        self.speed
    }

    fn chatty(&self) -> bool {
        self.progress
    }

    fn events_path(&self, scenario: &str) -> std::path::PathBuf {
        self.report_dir.join(scenario).join("events.jsonl")
    }
}

/// The queue behind `run_all`: a job takes the next scenario and waits for its turn. Each outcome is kept as
/// soon as its scenario ends, so a panic (a bug) in a later scenario loses none of them; the panicking scenario
/// is reported as an error naming the panic.
async fn run_queue<C, F, Fut>(
    scenarios: &[Scenario],
    contexts: Vec<Arc<C>>,
    turns: Turns,
    run: F,
) -> Vec<ScenarioOutcome>
where
    C: Job,
    F: Fn(Scenario, Arc<C>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ScenarioOutcome> + Send,
{
    let queue = Arc::new(Mutex::new(
        scenarios
            .iter()
            .cloned()
            .enumerate()
            .collect::<VecDeque<_>>(),
    ));
    let done = Arc::new(Mutex::new(Vec::new()));
    let turns = Arc::new(turns);
    let mut workers = tokio::task::JoinSet::new();
    for ctx in contexts {
        let (queue, done, run, turns) = (queue.clone(), done.clone(), run.clone(), turns.clone());
        workers.spawn(async move {
            loop {
                if ctx.stopped() {
                    break;
                }
                let next = lock(&queue).pop_front();
                let Some((index, scenario)) = next else {
                    break;
                };
                if !turns.wait(index, || ctx.stopped()).await {
                    break;
                }
                if ctx.chatty() {
                    eprintln!(
                        "▶ {} — {} boards, {:.0}s device time (≈{:.0}s here)",
                        scenario.name,
                        scenario.boards,
                        scenario.duration,
                        scenario.duration / ctx.speed()
                    );
                }
                let started = std::time::Instant::now();
                let name = scenario.name.clone();
                let outcome = match AssertUnwindSafe(run(scenario, ctx.clone()))
                    .catch_unwind()
                    .await
                {
                    Ok(outcome) => outcome,
                    Err(panic) => {
                        let mut outcome = ScenarioOutcome::new(&name, ctx.events_path(&name));
                        outcome.error = Some(format!(
                            "hil panicked while running this scenario ({}): a bug, please report it",
                            panic_message(panic.as_ref())
                        ));
                        outcome.wall = started.elapsed();
                        outcome
                    }
                };
                if ctx.chatty() {
                    anstream::eprintln!(
                        "{} {} ({:.1}s)",
                        crate::colour::verdict(
                            outcome.passed(),
                            if outcome.passed() { "✔" } else { "✘" }
                        ),
                        name,
                        outcome.wall.as_secs_f64()
                    );
                }
                lock(&done).push((index, outcome));
                turns.end(index);
            }
        });
    }
    while let Some(joined) = workers.join_next().await {
        if let Err(e) = joined {
            eprintln!("error: a scenario job stopped: {e}");
        }
    }
    let mut outcomes = std::mem::take(&mut *lock(&done));
    outcomes.sort_by_key(|(index, _)| *index);
    outcomes.into_iter().map(|(_, o)| o).collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A panic's message, as `panic!` was given it.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// The `n` scenarios that took longest in wall-clock time, as "name 12.3s, name 11.0s".
pub fn slowest(outcomes: &[ScenarioOutcome], n: usize) -> String {
    let mut by_wall: Vec<&ScenarioOutcome> = outcomes.iter().collect();
    by_wall.sort_by_key(|o| std::cmp::Reverse(o.wall));
    by_wall
        .iter()
        .take(n)
        .map(|o| format!("{} {:.1}s", o.scenario, o.wall.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "45s", "6m", "2m30s", "1h35m": device time as scenario files write it.
pub fn duration_text(secs: f64) -> String {
    let total = secs.round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
    }
    if s > 0 || total == 0 {
        let _ = write!(out, "{s}s");
    }
    out
}

/// The `hil list` table: one row per scenario, then the total device time and what it costs at `speed`.
pub fn listing(scenarios: &[Scenario], speed: f64) -> String {
    let width = scenarios
        .iter()
        .map(|s| s.name.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  boards  duration  {:<28}  requires",
        "scenario", "tags"
    );
    for s in scenarios {
        let requires: Vec<&str> = s.requires.iter().map(|r| r.name()).collect();
        let _ = writeln!(
            out,
            "{:<width$}  {:>6}  {:>8}  {:<28}  {}",
            s.name,
            s.boards,
            duration_text(s.duration),
            s.tags.join(", "),
            requires.join(", ")
        );
    }
    let total: f64 = scenarios.iter().map(|s| s.duration).sum();
    let _ = writeln!(
        out,
        "{} scenarios, {} of device time (≈{} at {speed}x one at a time, ≈{} with --jobs {DEFAULT_JOBS})",
        scenarios.len(),
        duration_text(total),
        duration_text(total / speed),
        duration_text(total / speed / DEFAULT_JOBS.min(scenarios.len().max(1)) as f64)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::diagnostic::UserTomlFile;
    use std::path::Path;

    fn scenario(name: &str, tags: &str, requires: &str) -> Scenario {
        let src = format!(
            "name = \"{name}\"\ntags = [{tags}]\nrequires = [{requires}]\nduration = \"2m30s\"\n\
             [supply]\nprofile = [{{ at = \"0s\", volts = 12.6 }}]\n"
        );
        Scenario::parse(Path::new("s.toml"), &src).unwrap()
    }

    #[test]
    fn slowest_lists_the_longest_walls_first() {
        let outcome = |name: &str, ms| ScenarioOutcome {
            scenario: name.into(),
            boards: Vec::new(),
            verdicts: Vec::new(),
            error: None,
            interrupted: false,
            events_path: std::path::PathBuf::new(),
            wall: std::time::Duration::from_millis(ms),
            readings: 0,
        };
        let all = [outcome("a", 1200), outcome("b", 9800), outcome("c", 4100)];
        assert_eq!(slowest(&all, 2), "b 9.8s, c 4.1s");
    }

    struct TestJob;

    impl Job for TestJob {
        fn stopped(&self) -> bool {
            false
        }
        fn speed(&self) -> f64 {
            1.0
        }
        fn chatty(&self) -> bool {
            false
        }
        fn events_path(&self, scenario: &str) -> std::path::PathBuf {
            std::path::PathBuf::from(scenario).join("events.jsonl")
        }
    }

    #[tokio::test]
    async fn a_panic_in_one_scenario_loses_no_finished_result_and_is_reported() {
        let all: Vec<Scenario> = ["a", "b", "c", "d"]
            .iter()
            .map(|n| scenario(n, "", ""))
            .collect();
        // One job runs them in order: a and b finish, c panics (outside any catch of the run itself), d runs.
        let outcomes = run_queue(
            &all,
            vec![Arc::new(TestJob)],
            Turns::free(4),
            |s, _ctx| async move {
                assert_ne!(s.name, "c", "injected bug in c");
                ScenarioOutcome::new(&s.name, std::path::PathBuf::new())
            },
        )
        .await;
        let names: Vec<&str> = outcomes.iter().map(|o| o.scenario.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        let c = outcomes[2].error.as_deref().unwrap();
        assert!(
            c.contains("hil panicked") && c.contains("injected bug in c"),
            "{c}"
        );
        assert_eq!(
            outcomes[2].events_path,
            std::path::Path::new("c/events.jsonl")
        );
    }

    #[test]
    fn tags_select_any_match_and_an_unknown_tag_lists_those_in_use() {
        let all = vec![
            scenario("a", "\"nightly\"", ""),
            scenario("b", "\"smoke\", \"nightly\"", ""),
            scenario("c", "\"release\"", ""),
        ];
        let names = |v: Vec<Scenario>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(
            names(with_tags(all.clone(), &["nightly".into()]).unwrap()),
            ["a", "b"]
        );
        assert_eq!(
            names(with_tags(all.clone(), &["smoke".into(), "release".into()]).unwrap()),
            ["b", "c"]
        );
        assert_eq!(names(with_tags(all.clone(), &[]).unwrap()).len(), 3);
        let e = with_tags(all, &["lab".into(), "bench".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "no scenario is tagged lab or bench; tags in use: nightly, release, smoke"
        );
    }

    #[test]
    fn mosquitto_scenarios_are_skipped_on_the_embedded_broker_only() {
        let all = vec![scenario("a", "", ""), scenario("b", "", "\"mosquitto\"")];
        let (run, skip) = split_runnable(all.clone(), &BrokerSpec::Embedded);
        assert_eq!(run.len(), 1);
        assert_eq!(skip[0].scenario, "b");
        assert!(skip[0].reason.contains("--broker mosquitto"));
        let (run, skip) = split_runnable(all, &BrokerSpec::Mosquitto);
        assert_eq!((run.len(), skip.len()), (2, 0));
    }

    #[test]
    fn what_a_rig_cannot_stage_is_skipped_with_the_reason() {
        let wifi_off = Scenario::parse(
            Path::new("w.toml"),
            "name = \"w\"\nduration = \"2m\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
             [[fault]]\nkind = \"wifi-off\"\nat = \"30s\"\nfor = \"30s\"\n",
        )
        .unwrap_or_else(|d| panic!("{}", d.render()));
        let all = vec![scenario("a", "", ""), wifi_off];
        let (run, skip) = split_stageable(all.clone(), Capabilities::RIG);
        assert_eq!((run.len(), skip[0].scenario.as_str()), (1, "w"));
        assert!(
            skip[0].reason.contains("which a rig cannot"),
            "{}",
            skip[0].reason
        );
        assert_eq!(split_stageable(all, Capabilities::TWIN).0.len(), 2);
    }

    #[test]
    fn jobs_are_bounded_by_the_scenarios_and_an_external_broker() {
        assert_eq!(jobs_for(&BrokerSpec::Embedded, 4, 17), 4);
        assert_eq!(jobs_for(&BrokerSpec::Embedded, 4, 2), 2);
        assert_eq!(jobs_for(&BrokerSpec::Embedded, 0, 2), 1);
        let lab = BrokerSpec::External {
            host: "h".into(),
            port: 1,
            username: "u".into(),
            tls: None,
        };
        assert_eq!(jobs_for(&lab, 4, 17), 1);
    }

    #[test]
    fn durations_read_as_scenario_files_write_them() {
        assert_eq!(duration_text(45.0), "45s");
        assert_eq!(duration_text(360.0), "6m");
        assert_eq!(duration_text(150.0), "2m30s");
        assert_eq!(duration_text(5700.0), "1h35m");
        assert_eq!(duration_text(0.0), "0s");
    }

    #[test]
    fn the_listing_shows_tags_boards_duration_and_needs() {
        let text = listing(
            &[
                scenario("float", "\"smoke\", \"nightly\"", ""),
                scenario("refused", "", "\"mosquitto\""),
            ],
            20.0,
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].starts_with("float"), "{text}");
        assert!(
            lines[1].contains("2m30s") && lines[1].contains("smoke, nightly"),
            "{text}"
        );
        assert!(lines[2].trim_end().ends_with("mosquitto"), "{text}");
        assert!(
            lines[3].starts_with("2 scenarios, 5m of device time (≈15s at 20x"),
            "{text}"
        );
    }
}
