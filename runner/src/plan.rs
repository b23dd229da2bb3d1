//! Which rig boards and supply channels a scenario runs on, and whether its profiles stay within their limits.
//!
//! A scenario names channels only by the boards on them; the rig file says which board hangs on which
//! instrument channel. Each scenario channel takes a rig channel of its own (two profiles never fight over one
//! output) and that channel's first boards: the channels needing most boards choose first, each the first free
//! rig channel (in rig-file order) that holds them.

use crate::exec::{Capabilities, TWIN_LIMITS};
use crate::rigfile::{BoardEntry, RigFile, SupplyEntry};
use model::diagnostic::Diagnostic;
use model::scenario::{ChannelPlan, Scenario};
use rig::supply::ChannelLimits;
use std::path::PathBuf;

/// A scenario channel placed on a rig channel.
#[derive(Debug)]
pub struct PlannedChannel<'a> {
    pub supply: &'a SupplyEntry,
    pub channel: u8,
    pub limits: ChannelLimits,
    /// The rig boards standing for the channel's scenario boards, in order.
    pub boards: Vec<&'a BoardEntry>,
}

impl PlannedChannel<'_> {
    pub fn label(&self) -> String {
        format!("{}:{}", self.supply.name, self.channel)
    }
}

/// Why a scenario's channels do not fit on a rig.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// No free rig channel holds the boards of one scenario channel; `have` lists the rig's channels.
    #[error(
        "the scenario {scenario} needs {needed} board(s) on {which}, each scenario channel on a rig channel of \
         its own; the rig {} has {have}",
        rig.display()
    )]
    Shortage {
        scenario: String,
        needed: usize,
        which: String,
        rig: PathBuf,
        have: String,
    },
    #[error("no [supply.{supply}] in the rig file {}", rig.display())]
    NoSupply { supply: String, rig: PathBuf },
    #[error("[supply.{supply}] in {} has no channel {channel}", rig.display())]
    NoChannel {
        supply: String,
        channel: u8,
        rig: PathBuf,
    },
}

/// A rig's supply channel, as a rig file's boards name it (`psu1:2`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RigChannel {
    pub supply: String,
    pub channel: u8,
}

impl std::fmt::Display for RigChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.supply, self.channel)
    }
}

impl std::str::FromStr for RigChannel {
    type Err = String;

    /// `SUPPLY:N`, as a rig file's boards write it.
    fn from_str(s: &str) -> Result<RigChannel, String> {
        s.rsplit_once(':')
            .and_then(|(supply, n)| {
                Some(RigChannel {
                    supply: supply.to_string(),
                    channel: n.parse().ok()?,
                })
            })
            .ok_or_else(|| format!("{s:?}: a rig channel is SUPPLY:N, e.g. psu1:2"))
    }
}

/// The rig's channels that boards hang on, in rig-file order, each with its boards.
pub fn rig_channels(rig: &RigFile) -> Vec<(RigChannel, Vec<&BoardEntry>)> {
    let mut groups: Vec<(RigChannel, Vec<&BoardEntry>)> = Vec::new();
    for board in &rig.boards {
        let key = RigChannel {
            supply: board.supply.clone(),
            channel: board.channel,
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, boards)) => boards.push(board),
            None => groups.push((key, vec![board])),
        }
    }
    groups
}

/// Places each of the scenario's channels, in order, on any of the rig's channels, or says why the rig cannot
/// hold them.
pub fn place<'a>(
    rig: &'a RigFile,
    scenario: &Scenario,
) -> Result<Vec<PlannedChannel<'a>>, PlanError> {
    place_among(rig, scenario, rig_channels(rig))
}

/// Places each of the scenario's channels, in order, on the rig channels `groups` offers, preferring those it
/// lists first.
pub fn place_among<'a>(
    rig: &'a RigFile,
    scenario: &Scenario,
    groups: Vec<(RigChannel, Vec<&'a BoardEntry>)>,
) -> Result<Vec<PlannedChannel<'a>>, PlanError> {
    let mut taken = vec![false; groups.len()];
    let mut order: Vec<usize> = (0..scenario.supply.channels.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(scenario.supply.channels[i].boards.len()));
    let mut placed: Vec<Option<PlannedChannel>> = Vec::new();
    placed.resize_with(order.len(), || None);
    for index in order {
        let wanted = &scenario.supply.channels[index];
        let needed = wanted.boards.len();
        let roomy = |g: usize| !taken[g] && groups[g].1.len() >= needed;
        // A channel whose limits hold the profile, where one is free; else the first with the boards, whose
        // limits then refuse it with the profile step that is too much.
        let free = (0..groups.len())
            .find(|&g| roomy(g) && limits_of(rig, &groups[g].0).is_some_and(|l| fits(wanted, &l)))
            .or_else(|| (0..groups.len()).find(|&g| roomy(g)))
            .map(|g| (g, &groups[g]));
        let Some((g, (key, boards))) = free else {
            return Err(shortage(rig, scenario, index, needed, &groups, &taken));
        };
        taken[g] = true;
        let entry = rig
            .supplies
            .get(&key.supply)
            .ok_or_else(|| PlanError::NoSupply {
                supply: key.supply.clone(),
                rig: rig.path.clone(),
            })?;
        let limits = *entry
            .channels
            .get(&key.channel)
            .ok_or_else(|| PlanError::NoChannel {
                supply: key.supply.clone(),
                channel: key.channel,
                rig: rig.path.clone(),
            })?;
        placed[index] = Some(PlannedChannel {
            supply: entry,
            channel: key.channel,
            limits,
            boards: boards.iter().take(needed).copied().collect(),
        });
    }
    let placed = placed.into_iter().flatten().collect();
    Ok(placed)
}

/// The limits the rig file gives `channel`, if it names that supply and channel.
fn limits_of(rig: &RigFile, channel: &RigChannel) -> Option<ChannelLimits> {
    rig.supplies
        .get(&channel.supply)?
        .channels
        .get(&channel.channel)
        .copied()
}

/// Whether a channel with `limits` can run `plan`'s profile at its current limit.
fn fits(plan: &ChannelPlan, limits: &ChannelLimits) -> bool {
    plan.profile.max_volts().0 <= limits.max_volts && plan.current_limit <= limits.max_amps
}

/// Why scenario channel `index` found no rig channel, with what the rig has.
fn shortage(
    rig: &RigFile,
    scenario: &Scenario,
    index: usize,
    needed: usize,
    groups: &[(RigChannel, Vec<&BoardEntry>)],
    taken: &[bool],
) -> PlanError {
    let have: Vec<String> = groups
        .iter()
        .zip(taken)
        .map(|((key, boards), taken)| {
            let names: Vec<&str> = boards.iter().map(|b| b.name.as_str()).collect();
            let state = if *taken { ", taken" } else { "" };
            format!("{key} [{}{state}]", names.join(", "))
        })
        .collect();
    let which = if scenario.supply.channels.len() == 1 {
        "its supply channel".to_string()
    } else {
        format!(
            "its supply channel {} of {}",
            index + 1,
            scenario.supply.channels.len()
        )
    };
    PlanError::Shortage {
        scenario: scenario.name.clone(),
        needed,
        which,
        rig: rig.path.clone(),
        have: if have.is_empty() {
            "no boards".to_string()
        } else {
            have.join("; ")
        },
    }
}

/// Refuses, before anything is sent, a scenario that asks a supply channel for more than its limits: the limits
/// of the rig channel each scenario channel is placed on when a rig file is given, else the twin's.
pub fn check_limits(scenario: &Scenario, rig: Option<&RigFile>) -> Result<(), Diagnostic> {
    match rig {
        Some(rig) => {
            refuse_incapable(scenario, Capabilities::RIG)?;
            let placed = place(rig, scenario)
                .map_err(|e| Diagnostic::new(&scenario.path, "", None, e.to_string()))?;
            check_placed_limits(scenario, &placed)
        }
        None => {
            refuse_incapable(scenario, Capabilities::TWIN)?;
            let twin: Vec<(ChannelLimits, String)> = (1..=scenario.supply.channels.len())
                .map(|n| (TWIN_LIMITS, format!("twin:{n}")))
                .collect();
            within_limits(scenario, &twin)
        }
    }
}

/// Refuses a scenario whose profiles ask the rig channels it was placed on for more than their limits.
pub fn check_placed_limits(
    scenario: &Scenario,
    placed: &[PlannedChannel],
) -> Result<(), Diagnostic> {
    refuse_incapable(scenario, Capabilities::RIG)?;
    let limits: Vec<(ChannelLimits, String)> =
        placed.iter().map(|p| (p.limits, p.label())).collect();
    within_limits(scenario, &limits)
}

fn refuse_incapable(scenario: &Scenario, capabilities: Capabilities) -> Result<(), Diagnostic> {
    match capabilities.refusal(scenario) {
        Some(refusal) => Err(Diagnostic::new(&scenario.path, "", None, refusal)),
        None => Ok(()),
    }
}

/// Each scenario channel's profile and current limit against the limits (and label) of where it runs.
fn within_limits(
    scenario: &Scenario,
    limits: &[(ChannelLimits, String)],
) -> Result<(), Diagnostic> {
    for (index, (plan, (limits, label))) in scenario.supply.channels.iter().zip(limits).enumerate()
    {
        let (max, line) = plan.profile.max_volts();
        if max > limits.max_volts {
            let step = plan
                .profile
                .steps
                .iter()
                .position(|s| s.line == line)
                .unwrap_or(0);
            return Err(scenario.error_at_profile_step(
                index,
                step,
                format!(
                    "{max} V is above the supply channel's max_volts = {} V ({label})",
                    limits.max_volts
                ),
            ));
        }
        if plan.current_limit > limits.max_amps {
            return Err(scenario.error_at_current_limit(
                index,
                format!(
                    "current_limit {} A is above the supply channel's max_amps = {} A ({label})",
                    plan.current_limit, limits.max_amps
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::diagnostic::UserTomlFile;
    use std::path::Path;

    const RIG: &str = r#"
[supply.psu1]
driver = "scpi"
model = "rigol-dp832"
address = "tcp://127.0.0.1:5555"
channels = { 1 = { max_volts = 15.0, max_amps = 1.0 }, 2 = { max_volts = 14.0, max_amps = 0.5 } }

[[board]]
name = "a"
chip = "esp8266"
mac = "5c:cf:7f:00:00:01"
port = "/dev/ttyUSB0"
supply = "psu1:1"

[[board]]
name = "b"
chip = "esp8266"
mac = "5c:cf:7f:00:00:02"
port = "/dev/ttyUSB1"
supply = "psu1:1"

[[board]]
name = "c"
chip = "esp8266"
mac = "5c:cf:7f:00:00:03"
port = "/dev/ttyUSB2"
supply = "psu1:2"
"#;

    fn scenario(supply: &str) -> Scenario {
        let src = format!("name = \"s\"\nduration = \"1m\"\n{supply}");
        Scenario::parse(Path::new("s.toml"), &src).unwrap_or_else(|d| panic!("{}", d.render()))
    }

    fn rig() -> RigFile {
        RigFile::parse(Path::new("rig.toml"), RIG).unwrap_or_else(|d| panic!("{}", d.render()))
    }

    #[test]
    fn each_scenario_channel_takes_a_rig_channel_of_its_own() {
        let rig = rig();
        let s = scenario(
            "[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
             [[supply.channel]]\nboards = 1\n[[supply.channel]]\nboards = 1\n",
        );
        let placed = place(&rig, &s).unwrap();
        let summary: Vec<(String, Vec<&str>)> = placed
            .iter()
            .map(|p| {
                (
                    p.label(),
                    p.boards.iter().map(|b| b.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("psu1:1".to_string(), vec!["a"]),
                ("psu1:2".to_string(), vec!["c"])
            ]
        );
        assert_eq!(placed[1].limits.max_volts, 14.0);
    }

    #[test]
    fn a_channel_with_more_boards_than_the_rig_channel_holds_is_refused_with_what_the_rig_has() {
        let rig = rig();
        let s = scenario("boards = 3\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n");
        let e = place(&rig, &s).unwrap_err().to_string();
        assert!(e.contains("needs 3 board(s)"), "{e}");
        assert!(e.contains("psu1:1 [a, b]; psu1:2 [c]"), "{e}");
        let s = scenario(
            "[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
             [[supply.channel]]\nboards = 1\n[[supply.channel]]\nboards = 2\n",
        );
        let placed = place(&rig, &s).unwrap();
        assert_eq!(
            (placed[0].label(), placed[1].label()),
            ("psu1:2".into(), "psu1:1".into())
        );
        let s = scenario(
            "[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n\
             [[supply.channel]]\nboards = 2\n[[supply.channel]]\nboards = 2\n",
        );
        let e = place(&rig, &s).unwrap_err().to_string();
        assert!(e.contains("channel 2 of 2"), "{e}");
        assert!(e.contains("psu1:1 [a, b, taken]"), "{e}");
    }

    #[test]
    fn a_channel_whose_limits_hold_the_profile_is_taken_before_one_offered_sooner() {
        let rig = rig();
        let mut sooner_first = rig_channels(&rig);
        sooner_first.reverse();
        let hungry =
            scenario("[supply]\ncurrent_limit = 0.8\nprofile = [{ at = \"0s\", volts = 12.0 }]\n");
        let placed = place_among(&rig, &hungry, sooner_first.clone()).unwrap();
        assert_eq!(placed[0].label(), "psu1:1", "psu1:2 allows 0.5 A only");
        let modest = scenario("[supply]\nprofile = [{ at = \"0s\", volts = 12.0 }]\n");
        let placed = place_among(&rig, &modest, sooner_first).unwrap();
        assert_eq!(
            placed[0].label(),
            "psu1:2",
            "the one offered first, as it fits"
        );
    }

    #[test]
    fn limits_are_the_placed_rig_channels_or_the_twins_and_errors_point_at_the_line() {
        let rig = rig();
        let profile = |volts: f64| {
            scenario(&format!(
                "[supply]\nprofile = [\n  {{ at = \"0s\", volts = 12.0 }},\n  {{ at = \"10s\", volts = {volts} }},\n]\n"
            ))
        };
        assert!(check_limits(&profile(14.5), Some(&rig)).is_ok());
        assert!(
            check_limits(&profile(15.5), None).is_ok(),
            "the twin allows 16 V"
        );
        let over = check_limits(&profile(15.5), Some(&rig)).unwrap_err();
        assert_eq!(
            over.message,
            "15.5 V is above the supply channel's max_volts = 15 V (psu1:1)"
        );
        assert_eq!(
            over.line_col(),
            Some((6, 3)),
            "the second step's line and column"
        );
        let twin_over = check_limits(&profile(17.0), None).unwrap_err();
        assert!(
            twin_over.message.ends_with("max_volts = 16 V (twin:1)"),
            "{}",
            twin_over.message
        );

        let hungry = scenario(
            "[supply]\ncurrent_limit = 0.8\nprofile = [{ at = \"0s\", volts = 12.0 }]\n\
             [[supply.channel]]\nboards = 1\n[[supply.channel]]\nboards = 1\n",
        );
        let amps = check_limits(&hungry, Some(&rig)).unwrap_err();
        assert_eq!(
            amps.message,
            "current_limit 0.8 A is above the supply channel's max_amps = 0.5 A (psu1:2)"
        );

        let crowd = scenario("boards = 3\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n");
        let unplaced = check_limits(&crowd, Some(&rig)).unwrap_err();
        assert!(
            unplaced.message.contains("needs 3 board(s)"),
            "{}",
            unplaced.message
        );
        assert_eq!(unplaced.line_col(), None);
    }
}
