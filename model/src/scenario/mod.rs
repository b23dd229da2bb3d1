//! Scenario files: parse, validate (every error names file:line:column), resolve defaults.

mod duration;
mod fault;
mod profile;
mod raw;
mod trace_csv;

pub use duration::{parse_duration, Dur, DurationError};
pub use fault::{FaultError, FaultKind, FaultWindow};
pub use profile::{Action, Profile, Step};
pub use raw::Credentials;
pub use trace_csv::HEADER as TRACE_CSV_HEADER;

use crate::diagnostic::{Diagnostic, UserTomlFile};
use crate::payload::PayloadFormat;
use raw::ScenarioFile;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A validated scenario with the rig's defaults filled in.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub name: String,
    pub description: String,
    pub tags: Vec<String>,
    pub requires: Vec<Requirement>,
    pub boards: u32,
    pub duration: f64,
    pub firmware: FirmwareSettings,
    /// The `[payload]` format; None: the rig file's, else JSON.
    pub payload: Option<PayloadFormat>,
    pub supply: SupplyPlan,
    pub expect: Expectations,
    pub faults: Vec<FaultWindow>,
    source: String,
}

#[derive(Debug, Clone)]
enum StepOrigin {
    Scenario(Range<usize>),
    Trace(Range<usize>),
}

/// Something a scenario needs beyond the default bench (`requires = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// A broker that answers a refused CONNECT with its CONNACK code; the embedded rumqttd just closes.
    Mosquitto,
}

impl Requirement {
    pub const ALL: [Requirement; 1] = [Requirement::Mosquitto];

    pub fn name(self) -> &'static str {
        match self {
            Requirement::Mosquitto => "mosquitto",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FirmwareSettings {
    /// The app folder the scenario names (`app`, canonical); None: the run's `--firmware`.
    pub app: Option<PathBuf>,
    pub sleep_ms: u64,
    pub keepalive_s: u16,
    pub low_battery_volts: f64,
    pub samples: u32,
    pub qos: u8,
    pub credentials: Credentials,
    pub legacy_keepalive_zero: bool,
}

/// The supply channels the scenario's boards hang on: one, or one per `[[supply.channel]]`.
#[derive(Debug, Clone)]
pub struct SupplyPlan {
    pub channels: Vec<ChannelPlan>,
}

impl SupplyPlan {
    /// The channel board `board` (0-based) hangs on.
    pub fn channel_of(&self, board: u32) -> usize {
        self.channels
            .iter()
            .position(|c| c.boards.contains(&board))
            .unwrap_or(0)
    }
}

/// One supply channel: the boards on it, its current limit and voltage profile, and where each was written.
#[derive(Debug, Clone)]
pub struct ChannelPlan {
    /// The scenario's boards on this channel (0-based, consecutive).
    pub boards: Range<u32>,
    pub current_limit: f64,
    pub profile: Profile,
    current_limit_span: Option<Range<usize>>,
    /// Where each profile step was written: the scenario file, or a row of its trace.
    step_origins: Vec<StepOrigin>,
    trace: Option<trace_csv::TraceFile>,
}

#[derive(Debug, Clone)]
pub struct Expectations {
    pub readings: Option<ReadingsExpectation>,
    pub period: Option<PeriodExpectation>,
    pub connack: Option<u8>,
    pub keepalive_nonzero: bool,
    /// Every accepted session the board ends itself ends with DISCONNECT (default true).
    pub clean_disconnect: bool,
    /// The boards publish (default true): false asks check `publishes` instead of the message and field checks.
    pub publishes: bool,
    /// Readings carry the retain flag (default false).
    pub retain: bool,
    pub silence_during_faults: bool,
    pub no_lost_readings: bool,
    /// Longest a board may stay awake per wake, seconds.
    pub awake_max: Option<f64>,
    /// Readings below this carry `low: true`, the others `low: false`.
    pub low_battery_below: Option<f64>,
    pub reset: Option<ResetExpectation>,
    pub sleep_drift: Option<SleepDriftExpectation>,
    /// Least free heap (the chip's bytes) every wake must leave; None: the default headroom, judged where a
    /// board reports its heap (checks::heap).
    pub heap_min_free: Option<u64>,
    pub console: Option<ConsoleExpectation>,
    /// Margins of the `baseline` check by metric family (`metrics::Metric::FAMILIES`), as fractions.
    pub baseline_margin: BTreeMap<String, f64>,
}

/// Texts some line of each board's console must contain, and texts none may.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleExpectation {
    pub contains: Vec<String>,
    pub not_contains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ResetExpectation {
    /// The reset the first wake after a power loss reports (`power-on`).
    pub after_power_loss: String,
    /// Supply volts below which the boards lose power.
    pub below_volts: f64,
}

/// The buck converters' minimum input (LM2596, MP1584): below it a board is off and loses its RTC memory.
pub const BUCK_MIN_VOLTS: f64 = 4.5;

pub const RESET_NAMES: [&str; 5] = ["power-on", "deepsleep", "watchdog", "soft", "hard"];

#[derive(Debug, Clone, PartialEq)]
pub struct SleepDriftExpectation {
    /// Largest allowed |actual / requested - 1|.
    pub max: f64,
    /// As written ("3%"), for messages.
    pub max_text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReadingsExpectation {
    pub within_volts: f64,
    pub min_count: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PeriodExpectation {
    pub nominal: f64,
    /// Allowed deviation from nominal, in seconds.
    pub tolerance: f64,
    /// As written ("10%"), for messages.
    pub tolerance_text: String,
}

pub const DEFAULT_SLEEP_MS: u64 = 60_000;
pub const DEFAULT_KEEPALIVE_S: u16 = 60;
pub const DEFAULT_CURRENT_LIMIT: f64 = 0.5;
const MAX_BOARDS: u32 = 200;

impl UserTomlFile for Scenario {
    type Raw = ScenarioFile;
    const KIND: &'static str = "scenario file";
    const FORMAT_HELP: &'static str = "see the scenario format in README.md";

    fn validate(path: &Path, source: &str, file: ScenarioFile) -> Result<Scenario, Diagnostic> {
        Validator { path, source }.validate(file)
    }
}

impl Scenario {
    /// An error pointing at channel `channel`'s current limit, for rig-limit checks made after loading.
    pub fn error_at_current_limit(&self, channel: usize, message: String) -> Diagnostic {
        let span = self
            .supply
            .channels
            .get(channel)
            .and_then(|c| c.current_limit_span.clone());
        Diagnostic::new(&self.path, &self.source, span, message)
    }

    /// An error pointing at step `index` of channel `channel`'s profile: its line in the scenario file, or its
    /// row in the trace.
    pub fn error_at_profile_step(
        &self,
        channel: usize,
        index: usize,
        message: String,
    ) -> Diagnostic {
        let plan = self.supply.channels.get(channel);
        match plan.map(|c| (c.step_origins.get(index), &c.trace)) {
            Some((Some(StepOrigin::Trace(span)), Some(trace))) => {
                Diagnostic::new(&trace.path, &trace.text, Some(span.clone()), message)
            }
            Some((Some(StepOrigin::Scenario(span)), _)) => {
                Diagnostic::new(&self.path, &self.source, Some(span.clone()), message)
            }
            _ => Diagnostic::new(&self.path, &self.source, None, message),
        }
    }
}

struct Validator<'a> {
    path: &'a Path,
    source: &'a str,
}

impl Validator<'_> {
    fn error(&self, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.path, self.source, Some(span), message)
    }

    fn line_of(&self, span: &Range<usize>) -> usize {
        self.source[..span.start.min(self.source.len())]
            .matches('\n')
            .count()
            + 1
    }

    fn validate(&self, file: ScenarioFile) -> Result<Scenario, Diagnostic> {
        let name = file.name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(self
                .error(
                    file.name.span(),
                    "the scenario name must be non-empty letters, digits, '-' or '_'",
                )
                .with_help(
                    "it names report folders and MQTT topics, e.g. name = \"float-charge\"",
                ));
        }
        let duration = file.duration.get_ref().secs();
        if duration <= 0.0 {
            return Err(self.error(file.duration.span(), "duration must be longer than 0s"));
        }
        let firmware = self.firmware(&file.firmware)?;
        let payload = crate::payload::declared(self.path, self.source, file.payload.as_ref())?;
        let supply = self.supply(&file.supply, file.boards.as_ref(), duration)?;
        let boards = supply.channels.last().map_or(1, |c| c.boards.end);
        let expect = self.expect(&file.expect)?;
        let faults = self.faults(&file.fault, duration)?;
        let requires = self.requires(&file.requires)?;
        Ok(Scenario {
            path: self.path.to_path_buf(),
            name,
            description: file.description,
            tags: file.tags,
            requires,
            boards,
            duration,
            firmware,
            payload,
            supply,
            expect,
            faults,
            source: self.source.to_string(),
        })
    }

    fn requires(&self, entries: &[Spanned<String>]) -> Result<Vec<Requirement>, Diagnostic> {
        let mut requires = Vec::new();
        for entry in entries {
            let known = Requirement::ALL
                .into_iter()
                .find(|r| r.name() == entry.get_ref().as_str());
            let Some(requirement) = known else {
                let names: Vec<&str> = Requirement::ALL.iter().map(|r| r.name()).collect();
                return Err(self.error(
                    entry.span(),
                    format!(
                        "unknown requirement {:?}; known: {}",
                        entry.get_ref(),
                        names.join(", ")
                    ),
                ));
            };
            if !requires.contains(&requirement) {
                requires.push(requirement);
            }
        }
        Ok(requires)
    }

    fn firmware(&self, f: &raw::FirmwareOverrides) -> Result<FirmwareSettings, Diagnostic> {
        let legacy = f.legacy_keepalive_zero.unwrap_or(false);
        let sleep_ms = match &f.sleep {
            Some(s) if s.get_ref().secs() < 1.0 => {
                return Err(self.error(s.span(), "sleep must be at least 1s"))
            }
            Some(s) => (s.get_ref().secs() * 1000.0).round() as u64,
            None => DEFAULT_SLEEP_MS,
        };
        let keepalive_s = match &f.keepalive {
            Some(k) => {
                let secs = k.get_ref().secs();
                if secs.fract() != 0.0 || secs > f64::from(u16::MAX) {
                    return Err(
                        self.error(k.span(), "keepalive must be whole seconds, 0s..=65535s")
                    );
                }
                if secs == 0.0 && !legacy {
                    return Err(self
                        .error(
                            k.span(),
                            "keepalive 0 is refused by Mosquitto >= 2.0.12 (CONNACK 2)",
                        )
                        .with_help(
                            "to reproduce that field bug, set legacy_keepalive_zero = true instead",
                        ));
                }
                secs as u16
            }
            None => DEFAULT_KEEPALIVE_S,
        };
        let samples = match &f.samples {
            Some(s) if !(1..=64).contains(s.get_ref()) => {
                return Err(self.error(s.span(), "samples must be 1..=64"))
            }
            Some(s) => *s.get_ref(),
            None => 16,
        };
        let qos = match &f.qos {
            Some(q) if *q.get_ref() > 1 => return Err(self.error(q.span(), "qos must be 0 or 1")),
            Some(q) => *q.get_ref(),
            None => 0,
        };
        Ok(FirmwareSettings {
            app: f.app.as_ref().map(|a| self.app(a)).transpose()?,
            sleep_ms,
            keepalive_s: if legacy { 0 } else { keepalive_s },
            low_battery_volts: f.low_battery_volts.unwrap_or(11.8),
            samples,
            qos,
            credentials: f.credentials.unwrap_or(Credentials::Valid),
            legacy_keepalive_zero: legacy,
        })
    }

    /// The app folder `app` names, relative to the scenario file: a folder with a main.py, as `--firmware` takes.
    fn app(&self, app: &Spanned<String>) -> Result<PathBuf, Diagnostic> {
        let folder = self
            .path
            .parent()
            .unwrap_or(Path::new(""))
            .join(app.get_ref());
        let help = "the path is relative to the scenario file, e.g. app = \"../firmware/examples/umqtt-simple\"";
        if !folder.is_dir() {
            return Err(self
                .error(
                    app.span(),
                    format!("no firmware folder at {}", folder.display()),
                )
                .with_help(help));
        }
        if !folder.join("main.py").is_file() {
            return Err(self
                .error(
                    app.span(),
                    format!(
                        "{} has no main.py: app must name a MicroPython app folder",
                        folder.display()
                    ),
                )
                .with_help(help));
        }
        // Canonical, so scenarios naming one folder by different paths share its build.
        folder
            .canonicalize()
            .map_err(|e| self.error(app.span(), format!("{}: {e}", folder.display())))
    }

    /// The supply's channels, each with its boards; `boards` (when written) must match their sum.
    fn supply(
        &self,
        section: &Spanned<raw::SupplySection>,
        boards: Option<&Spanned<u32>>,
        duration: f64,
    ) -> Result<SupplyPlan, Diagnostic> {
        let s = section.get_ref();
        let count = |b: &Spanned<u32>| {
            if *b.get_ref() == 0 || *b.get_ref() > MAX_BOARDS {
                return Err(self.error(b.span(), format!("boards must be 1..={MAX_BOARDS}")));
            }
            Ok(*b.get_ref())
        };
        if s.channel.is_empty() {
            let boards = boards.map(count).transpose()?.unwrap_or(1);
            let profile = s.profile.as_ref().ok_or_else(|| {
                self.error(section.span(), "the supply has no profile")
                    .with_help("add profile = [{ at = \"0s\", volts = 12.6 }]")
            })?;
            let channel = self.channel(
                0..boards,
                s.current_limit.as_ref(),
                profile,
                s.ripple.as_ref(),
                duration,
            )?;
            return Ok(SupplyPlan {
                channels: vec![channel],
            });
        }
        let mut channels = Vec::with_capacity(s.channel.len());
        let mut next = 0;
        for entry in &s.channel {
            let c = entry.get_ref();
            let on_channel = count(&c.boards)?;
            let profile = c.profile.as_ref().or(s.profile.as_ref()).ok_or_else(|| {
                self.error(
                    entry.span(),
                    "this channel has no profile, and [supply] has none to give it",
                )
                .with_help("add profile = [...] to this channel or to [supply]")
            })?;
            let limit = c.current_limit.as_ref().or(s.current_limit.as_ref());
            let ripple = c.ripple.as_ref().or(s.ripple.as_ref());
            channels.push(self.channel(
                next..next + on_channel,
                limit,
                profile,
                ripple,
                duration,
            )?);
            next += on_channel;
        }
        match boards {
            Some(b) if *b.get_ref() != next => Err(self.error(
                b.span(),
                format!(
                    "boards = {} but the [[supply.channel]] entries hold {next}",
                    b.get_ref()
                ),
            )
            .with_help("each channel's `boards` counts the boards on it; leave `boards` out to use their sum")),
            _ if next > MAX_BOARDS => Err(self.error(
                section.span(),
                format!("the channels hold {next} boards; at most {MAX_BOARDS}"),
            )),
            _ => Ok(SupplyPlan { channels }),
        }
    }

    fn channel(
        &self,
        boards: Range<u32>,
        current_limit: Option<&Spanned<f64>>,
        profile: &Spanned<raw::ProfileField>,
        ripple: Option<&Spanned<raw::RippleSpec>>,
        duration: f64,
    ) -> Result<ChannelPlan, Diagnostic> {
        if let Some(limit) = current_limit {
            if not_positive(*limit.get_ref()) {
                return Err(self.error(limit.span(), "current_limit must be more than 0 A"));
            }
        }
        let (steps, mut origins, trace) = match profile.get_ref() {
            raw::ProfileField::Steps(entries) => {
                let (steps, spans) = self.steps(entries, profile.span(), duration)?;
                let origins = spans.into_iter().map(StepOrigin::Scenario).collect();
                (steps, origins, None)
            }
            raw::ProfileField::Csv(csv) => {
                let trace = self.trace(csv, duration)?;
                let origins = trace.spans.into_iter().map(StepOrigin::Trace).collect();
                (trace.steps, origins, Some(trace.file))
            }
        };
        let mut profile = Profile { steps };
        if let Some(ripple) = ripple {
            profile = self.ripple(&profile, ripple, duration)?;
            origins = vec![StepOrigin::Scenario(ripple.span()); profile.steps.len()];
        }
        Ok(ChannelPlan {
            boards,
            current_limit: current_limit.map_or(DEFAULT_CURRENT_LIMIT, |c| *c.get_ref()),
            profile,
            current_limit_span: current_limit.map(Spanned::span),
            step_origins: origins,
            trace,
        })
    }

    /// Reads the trace a CSV profile names, relative to the scenario file.
    fn trace(&self, csv: &raw::CsvProfile, duration: f64) -> Result<trace_csv::Trace, Diagnostic> {
        let speedup = match &csv.speedup {
            Some(s) if not_positive(*s.get_ref()) || !s.get_ref().is_finite() => {
                return Err(self.error(s.span(), "speedup must be a number more than 0"))
            }
            Some(s) => *s.get_ref(),
            None => 1.0,
        };
        let relative = Path::new(csv.csv.get_ref());
        let path = self.path.parent().unwrap_or(Path::new("")).join(relative);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.error(
                csv.csv.span(),
                format!("cannot read the trace {}: {e}", path.display()),
            )
            .with_help("the path is relative to the scenario file; `hil import-trace` makes one from a capture")
        })?;
        trace_csv::parse(&path, &text, speedup, duration)
    }

    /// The profile with a square-wave ripple on top: a `Set` step every `every`, alternately above and below.
    fn ripple(
        &self,
        base: &Profile,
        ripple: &Spanned<raw::RippleSpec>,
        duration: f64,
    ) -> Result<Profile, Diagnostic> {
        const MIN_EVERY: f64 = 0.5;
        const MAX_STEPS: f64 = 20_000.0;
        let spec = ripple.get_ref();
        let every = spec.every.secs();
        if not_positive(spec.volts) || spec.volts > 5.0 {
            return Err(self.error(
                ripple.span(),
                "ripple volts must be more than 0 and at most 5",
            ));
        }
        if every < MIN_EVERY || duration / every > MAX_STEPS {
            return Err(self.error(
                ripple.span(),
                format!(
                    "ripple every must be at least {MIN_EVERY}s and give at most {MAX_STEPS} steps over the scenario"
                ),
            ));
        }
        let line = self.line_of(&ripple.span());
        let mut steps = Vec::new();
        let mut k = 0u32;
        while f64::from(k) * every < duration {
            let at = f64::from(k) * every;
            let sign = if k.is_multiple_of(2) { 1.0 } else { -1.0 };
            let volts = (base.volts_at(at) + sign * spec.volts).max(0.0);
            if volts > 60.0 {
                return Err(self.error(ripple.span(), format!("{volts} V is outside 0..=60 V")));
            }
            steps.push(Step {
                at,
                action: Action::Set((volts * 1000.0).round() / 1000.0),
                line,
            });
            k += 1;
        }
        Ok(Profile { steps })
    }

    fn steps(
        &self,
        entries: &[Spanned<raw::ProfileStep>],
        whole: Range<usize>,
        duration: f64,
    ) -> Result<(Vec<Step>, Vec<Range<usize>>), Diagnostic> {
        if entries.is_empty() {
            return Err(self
                .error(whole, "the profile is empty")
                .with_help("start with { at = \"0s\", volts = 12.6 }"));
        }
        let mut steps = Vec::with_capacity(entries.len());
        let mut previous_end = 0.0;
        for (i, entry) in entries.iter().enumerate() {
            let span = entry.span();
            let step = entry.get_ref();
            let at = step.at.secs();
            let action =
                match (step.volts, step.ramp_to, step.over) {
                    (Some(v), None, None) => Action::Set(v),
                    (None, Some(to), Some(over)) => {
                        if i == 0 {
                            return Err(self
                                .error(span, "the profile must start with a voltage, not a ramp")
                                .with_help("start with { at = \"0s\", volts = 12.6 }"));
                        }
                        Action::Ramp {
                            to,
                            over: over.secs(),
                        }
                    }
                    (None, Some(_), None) => return Err(self.error(
                        span,
                        "a ramp needs `over`, e.g. { at = \"2m\", ramp_to = 11.2, over = \"15m\" }",
                    )),
                    _ => {
                        return Err(self.error(
                            span,
                            "each profile step is either { at, volts } or { at, ramp_to, over }",
                        ))
                    }
                };
            if i == 0 && at != 0.0 {
                return Err(self.error(span, "the first profile step must be at \"0s\""));
            }
            if at < previous_end {
                return Err(self.error(
                    span,
                    format!("this step at {at}s starts before the previous step ends ({previous_end}s): steps must be in time order and ramps must not overlap"),
                ));
            }
            if at > duration {
                return Err(self.error(
                    span,
                    format!("this step at {at}s is after the scenario ends ({duration}s)"),
                ));
            }
            let volts = match action {
                Action::Set(v) | Action::Ramp { to: v, .. } => v,
            };
            if !(0.0..=60.0).contains(&volts) {
                return Err(self.error(span, format!("{volts} V is outside 0..=60 V")));
            }
            previous_end = match action {
                Action::Ramp { over, .. } => at + over,
                Action::Set(_) => at,
            };
            steps.push(Step {
                at,
                action,
                line: self.line_of(&span),
            });
        }
        Ok((steps, entries.iter().map(Spanned::span).collect()))
    }

    fn expect(&self, e: &raw::Expect) -> Result<Expectations, Diagnostic> {
        let readings = match &e.readings {
            Some(r) if not_positive(*r.within_volts.get_ref()) => {
                return Err(self.error(r.within_volts.span(), "within_volts must be more than 0"))
            }
            Some(r) => Some(ReadingsExpectation {
                within_volts: *r.within_volts.get_ref(),
                min_count: r.min_count,
            }),
            None => None,
        };
        let period = match &e.period {
            Some(p) => {
                let text = p.tolerance.get_ref().trim().to_string();
                let nominal = p.nominal.secs();
                let tolerance = if let Some(pct) = text.strip_suffix('%') {
                    match pct.trim().parse::<f64>() {
                        Ok(v) if (0.0..100.0).contains(&v) => nominal * v / 100.0,
                        _ => {
                            return Err(self.error(p.tolerance.span(), "tolerance must be a percentage 0-100 like \"10%\" or a duration like \"5s\""))
                        }
                    }
                } else {
                    parse_duration(&text)
                        .map_err(|msg| {
                            self.error(
                                p.tolerance.span(),
                                format!("tolerance: {msg}; or a percentage like \"10%\""),
                            )
                        })?
                        .secs()
                };
                Some(PeriodExpectation {
                    nominal,
                    tolerance,
                    tolerance_text: text,
                })
            }
            None => None,
        };
        let connack = match &e.connack {
            Some(c) if *c.get_ref() > 5 => {
                return Err(self.error(c.span(), "connack must be an MQTT 3.1.1 return code 0..=5"))
            }
            Some(c) => Some(*c.get_ref()),
            None => None,
        };
        Ok(Expectations {
            readings,
            period,
            connack,
            keepalive_nonzero: e.keepalive_nonzero.unwrap_or(false),
            clean_disconnect: e.clean_disconnect.unwrap_or(true),
            publishes: e.publishes.unwrap_or(true),
            retain: e.retain.unwrap_or(false),
            silence_during_faults: e.silence_during_faults.unwrap_or(false),
            no_lost_readings: e.no_lost_readings.unwrap_or(false),
            awake_max: e.awake.as_ref().map(|a| a.max.secs()),
            low_battery_below: match &e.low_battery {
                Some(l) if !(0.0..=60.0).contains(l.below_volts.get_ref()) => {
                    return Err(self.error(l.below_volts.span(), "below_volts must be 0..=60 V"))
                }
                Some(l) => Some(*l.below_volts.get_ref()),
                None => None,
            },
            reset: e.reset.as_ref().map(|r| self.reset(r)).transpose()?,
            sleep_drift: match &e.sleep_drift {
                Some(d) => {
                    let text = d.max.get_ref().trim().to_string();
                    match text.strip_suffix('%').map(|p| p.trim().parse::<f64>()) {
                        Some(Ok(pct)) if pct > 0.0 && pct < 100.0 => Some(SleepDriftExpectation {
                            max: pct / 100.0,
                            max_text: text,
                        }),
                        _ => {
                            return Err(self.error(
                                d.max.span(),
                                "max must be a percentage above 0 and below 100, like \"3%\"",
                            ))
                        }
                    }
                }
                None => None,
            },
            heap_min_free: match &e.heap {
                Some(h) => Some(self.bytes(&h.min_free)?),
                None => None,
            },
            console: e.console.as_ref().map(|c| self.console(c)).transpose()?,
            baseline_margin: match &e.baseline_margin {
                Some(margins) => self.baseline_margin(margins)?,
                None => BTreeMap::new(),
            },
        })
    }

    /// `baseline_margin = { awake = 0.3 }`: known metric families, each a fraction above 0.
    fn baseline_margin(
        &self,
        margins: &BTreeMap<Spanned<String>, Spanned<f64>>,
    ) -> Result<BTreeMap<String, f64>, Diagnostic> {
        let families = crate::metrics::Metric::FAMILIES;
        let mut out = BTreeMap::new();
        for (family, margin) in margins {
            if !families.contains(&family.get_ref().as_str()) {
                return Err(self
                    .error(
                        family.span(),
                        format!("baseline_margin has no metric {:?}", family.get_ref()),
                    )
                    .with_help(format!("the metrics are {}", families.join(", "))));
            }
            let value = *margin.get_ref();
            if !(value.is_finite() && value > 0.0) {
                return Err(self
                    .error(
                        margin.span(),
                        format!(
                            "baseline_margin {} must be a fraction above 0",
                            family.get_ref()
                        ),
                    )
                    .with_help("0.3 lets the metric grow by 30 % of the baseline's value"));
            }
            out.insert(family.get_ref().clone(), value);
        }
        Ok(out)
    }

    /// `console = { contains = …, not_contains = … }`: non-empty one-line texts, at least one, none in both.
    fn console(&self, c: &Spanned<raw::ConsoleExpect>) -> Result<ConsoleExpectation, Diagnostic> {
        let texts = |field: &Option<Spanned<raw::Texts>>, key: &str| {
            let Some(field) = field else {
                return Ok(Vec::new());
            };
            let texts = &field.get_ref().0;
            if texts.is_empty() {
                return Err(self.error(field.span(), format!("{key} is an empty list")));
            }
            if let Some(bad) = texts
                .iter()
                .find(|t| t.is_empty() || t.contains(['\n', '\r']))
            {
                return Err(self
                    .error(
                        field.span(),
                        format!("{key} text {bad:?} must be non-empty and on one line"),
                    )
                    .with_help("console lines are matched one at a time"));
            }
            Ok(texts.clone())
        };
        let expect = c.get_ref();
        let contains = texts(&expect.contains, "contains")?;
        let not_contains = texts(&expect.not_contains, "not_contains")?;
        if contains.is_empty() && not_contains.is_empty() {
            return Err(self
                .error(c.span(), "console needs contains or not_contains")
                .with_help("console = { contains = \"MQTTException: 2\" }"));
        }
        if let Some(both) = contains.iter().find(|t| not_contains.contains(t)) {
            return Err(self.error(
                c.span(),
                format!("{both:?} is both in contains and in not_contains"),
            ));
        }
        Ok(ConsoleExpectation {
            contains,
            not_contains,
        })
    }

    /// "4096", "4KB", "4 KiB", "4k": bytes of the chip's heap, at most its 38 KiB.
    fn bytes(&self, text: &Spanned<String>) -> Result<u64, Diagnostic> {
        let t = text.get_ref().trim().to_ascii_lowercase();
        let (number, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
            Some(i) => (t[..i].trim(), t[i..].trim()),
            None => (t.as_str(), ""),
        };
        let scale = match unit {
            "" | "b" => Some(1.0),
            "k" | "kb" | "kib" => Some(1024.0),
            _ => None,
        };
        match (number.parse::<f64>(), scale) {
            (Ok(n), Some(scale)) if n >= 0.0 && n * scale <= 38.0 * 1024.0 => {
                Ok((n * scale).round() as u64)
            }
            _ => Err(self.error(
                text.span(),
                "min_free must be bytes of the chip's 38 KiB heap, like \"4096\" or \"4KB\"",
            )),
        }
    }

    fn reset(&self, r: &raw::ResetExpect) -> Result<ResetExpectation, Diagnostic> {
        let name = r.after_power_loss.get_ref().as_str();
        if !RESET_NAMES.contains(&name) {
            return Err(self.error(
                r.after_power_loss.span(),
                format!(
                    "unknown reset {name:?}; the firmware reports {}",
                    RESET_NAMES.join(", ")
                ),
            ));
        }
        let below_volts = match &r.below_volts {
            Some(b) if not_positive(*b.get_ref()) || *b.get_ref() > 60.0 => {
                return Err(self.error(b.span(), "below_volts must be more than 0 and at most 60"))
            }
            Some(b) => *b.get_ref(),
            None => BUCK_MIN_VOLTS,
        };
        Ok(ResetExpectation {
            after_power_loss: name.to_string(),
            below_volts,
        })
    }

    fn faults(
        &self,
        entries: &[Spanned<raw::FaultEntry>],
        duration: f64,
    ) -> Result<Vec<FaultWindow>, Diagnostic> {
        let mut windows: Vec<FaultWindow> = Vec::new();
        for entry in entries {
            let span = entry.span();
            let f = entry.get_ref();
            let kind = FaultKind::parse(f.kind.get_ref(), f.rc, f.ms)
                .map_err(|e| self.error(span.clone(), e.to_string()))?;
            let (start, end) = (f.at.secs(), f.at.secs() + f.lasts.secs());
            if f.lasts.secs() <= 0.0 {
                return Err(self.error(span, "a fault's `for` must be longer than 0s"));
            }
            if end > duration {
                return Err(self.error(
                    span,
                    format!("this fault ends at {end}s, after the scenario ends ({duration}s)"),
                ));
            }
            if let Some(other) = windows
                .iter()
                .find(|w| w.kind.name() == kind.name() && start < w.end && w.start < end)
            {
                return Err(self.error(
                    span,
                    format!(
                        "this {} fault ({start}s..{end}s) overlaps another from {}s to {}s: merge them into one",
                        kind.name(),
                        other.start,
                        other.end
                    ),
                ));
            }
            windows.push(FaultWindow { start, end, kind });
        }
        windows.sort_by(|a, b| a.start.total_cmp(&b.start));
        Ok(windows)
    }
}

/// True for zero, negatives and NaN (TOML can spell `nan`).
fn not_positive(x: f64) -> bool {
    x.is_nan() || x <= 0.0
}

/// Why the scenario files under a path cannot be listed.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{}: {cause}", folder.display())]
    ReadFolder {
        folder: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: no scenario files (*.toml) in this folder", .0.display())]
    NoScenarioFiles(PathBuf),
    #[error("{}: no such file or folder", .0.display())]
    NotFound(PathBuf),
}

/// Scenario files under the given paths (files as given, folders searched for `*.toml`, sorted).
pub fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CollectError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|cause| CollectError::ReadFolder {
                    folder: path.clone(),
                    cause,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(CollectError::NoScenarioFiles(path.clone()));
            }
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(CollectError::NotFound(path.clone()));
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests;
