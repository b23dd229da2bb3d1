//! Scenarios packed onto a rig's channels to run at once: longest first (ties by name), each on the channels
//! that free soonest and hold its boards, each holding exactly the channels it uses.

use crate::plan::{self, RigChannel};
use crate::rigfile::{BoardEntry, RigFile};
use crate::suite::duration_text;
use model::diagnostic::Diagnostic;
use model::scenario::Scenario;
use std::collections::BTreeMap;
use std::time::Duration;

/// Where and in which order a scenario runs.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedScenario {
    /// Its index in the scenarios given to `pack`.
    pub scenario: usize,
    pub name: String,
    /// The rig channels it holds, in the order its placement prefers them (`plan::place_among` places it the
    /// same way again from them).
    pub channels: Vec<RigChannel>,
    /// Device seconds from the run's start at which it would start were there no set-up time.
    pub start: f64,
}

/// The packed run.
#[derive(Debug, Clone, PartialEq)]
pub struct RigPlan {
    /// Ordered by planned start (ties by the order they were packed in).
    pub scenarios: Vec<PlannedScenario>,
    /// Device seconds queued on each rig channel the run uses.
    pub queued: BTreeMap<RigChannel, f64>,
    /// The longest scenario's device seconds.
    pub longest: f64,
    /// Every scenario's device seconds.
    pub device_time: f64,
}

impl RigPlan {
    /// The busiest channel and its queued device seconds.
    pub fn busiest(&self) -> Option<(&RigChannel, f64)> {
        self.queued
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(c, t)| (c, *t))
    }

    /// No packing ends sooner than its longest scenario or its busiest channel's queue.
    pub fn bound(&self) -> f64 {
        self.busiest()
            .map_or(self.longest, |(_, t)| t.max(self.longest))
    }

    /// For each planned scenario (in plan order), the earlier ones sharing one of its channels: they end first.
    pub fn predecessors(&self) -> Vec<Vec<usize>> {
        self.scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| {
                self.scenarios[..i]
                    .iter()
                    .enumerate()
                    .filter(|(_, earlier)| earlier.channels.iter().any(|c| s.channels.contains(c)))
                    .map(|(j, _)| j)
                    .collect()
            })
            .collect()
    }

    /// What the run cost against what it could not beat: "device time 26m (1560 s) in 5 scenario(s); bound 11m
    /// (660 s: longest scenario 600 s, busiest channel psu:2 660 s); wall 11m40s (700 s, 1.06 × bound)".
    pub fn against(&self, wall: Duration) -> String {
        let (busiest, queued) = self
            .busiest()
            .map_or(("none".to_string(), 0.0), |(c, t)| (c.to_string(), t));
        let wall = wall.as_secs_f64();
        let bound = self.bound();
        let ratio = if bound > 0.0 { wall / bound } else { 0.0 };
        format!(
            "device time {} ({:.0} s) in {} scenario(s); bound {} ({bound:.0} s: longest scenario {:.0} s, \
             busiest channel {busiest} {queued:.0} s); wall {} ({wall:.0} s, {ratio:.2} × bound)",
            duration_text(self.device_time),
            self.device_time,
            self.scenarios.len(),
            duration_text(bound),
            self.longest,
            duration_text(wall),
        )
    }

    /// Every rig channel the run holds.
    pub fn channels(&self) -> Vec<RigChannel> {
        self.queued.keys().cloned().collect()
    }
}

/// Packs `scenarios` onto `free`, the rig channels (with their boards) this run may use, and checks each one's
/// profiles against the limits of the channels it got. The error points at the scenario that does not fit.
pub fn pack(
    rig: &RigFile,
    free: &[(RigChannel, Vec<&BoardEntry>)],
    scenarios: &[Scenario],
) -> Result<RigPlan, Diagnostic> {
    let longest_first = super::longest_first(scenarios);
    let mut free_at: Vec<f64> = vec![0.0; free.len()];
    let mut planned = Vec::with_capacity(scenarios.len());
    let mut queued = BTreeMap::new();
    for index in longest_first {
        let scenario = &scenarios[index];
        let mut soonest: Vec<usize> = (0..free.len()).collect();
        soonest.sort_by(|&a, &b| free_at[a].total_cmp(&free_at[b]).then(a.cmp(&b)));
        let offered = soonest.iter().map(|&g| free[g].clone()).collect();
        let placed = plan::place_among(rig, scenario, offered)
            .map_err(|e| Diagnostic::new(&scenario.path, "", None, e.to_string()))?;
        plan::check_placed_limits(scenario, &placed)?;
        let held: Vec<usize> = soonest
            .into_iter()
            .filter(|&g| {
                placed
                    .iter()
                    .any(|p| p.supply.name == free[g].0.supply && p.channel == free[g].0.channel)
            })
            .collect();
        let start = held.iter().map(|&g| free_at[g]).fold(0.0, f64::max);
        for &g in &held {
            free_at[g] = start + scenario.duration;
            *queued.entry(free[g].0.clone()).or_insert(0.0) += scenario.duration;
        }
        planned.push(PlannedScenario {
            scenario: index,
            name: scenario.name.clone(),
            channels: held.iter().map(|&g| free[g].0.clone()).collect(),
            start,
        });
    }
    planned.sort_by(|a, b| a.start.total_cmp(&b.start));
    Ok(RigPlan {
        scenarios: planned,
        queued,
        longest: scenarios.iter().map(|s| s.duration).fold(0.0, f64::max),
        device_time: scenarios.iter().map(|s| s.duration).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::diagnostic::UserTomlFile;
    use std::path::Path;

    fn rig(channels: u8) -> RigFile {
        let mut text = format!(
            "[supply.psu]\ndriver = \"scpi\"\nmodel = \"rigol-dp832\"\naddress = \"tcp://127.0.0.1:5555\"\n\
             channels = {{ {} }}\n",
            (1..=channels)
                .map(|c| format!("{c} = {{ max_volts = 15.0, max_amps = 1.0 }}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for c in 1..=channels {
            text.push_str(&format!(
                "[[board]]\nname = \"b{c}\"\nchip = \"esp8266\"\nmac = \"5c:cf:7f:00:00:0{c}\"\n\
                 port = \"/dev/ttyUSB{c}\"\nsupply = \"psu:{c}\"\n"
            ));
        }
        RigFile::parse(Path::new("rig.toml"), &text).unwrap_or_else(|d| panic!("{}", d.render()))
    }

    fn scenario(name: &str, duration: &str, channels: usize) -> Scenario {
        let mut src = format!(
            "name = \"{name}\"\nduration = \"{duration}\"\n[supply]\nprofile = [{{ at = \"0s\", volts = 12.6 }}]\n"
        );
        if channels > 1 {
            src.push_str(&"[[supply.channel]]\nboards = 1\n".repeat(channels));
        }
        Scenario::parse(Path::new(&format!("{name}.toml")), &src)
            .unwrap_or_else(|d| panic!("{}", d.render()))
    }

    fn layout(plan: &RigPlan, all: &[Scenario]) -> Vec<(String, Vec<String>, f64)> {
        plan.scenarios
            .iter()
            .map(|p| {
                (
                    all[p.scenario].name.clone(),
                    p.channels.iter().map(|c| c.to_string()).collect(),
                    p.start,
                )
            })
            .collect()
    }

    #[test]
    fn longest_first_each_on_the_channel_that_frees_soonest() {
        let rig = rig(3);
        let all = vec![
            scenario("short", "2m", 1),
            scenario("long", "10m", 1),
            scenario("mid-b", "5m", 1),
            scenario("mid-a", "5m", 1),
            scenario("pair", "4m", 2),
        ];
        let plan = pack(&rig, &crate::plan::rig_channels(&rig), &all).unwrap();
        let l = |n: &str, c: &[&str], t: f64| {
            (
                n.to_string(),
                c.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                t,
            )
        };
        assert_eq!(
            layout(&plan, &all),
            [
                l("long", &["psu:1"], 0.0),
                l("mid-a", &["psu:2"], 0.0),
                l("mid-b", &["psu:3"], 0.0),
                l("pair", &["psu:2", "psu:3"], 300.0),
                l("short", &["psu:2"], 540.0),
            ]
        );
        assert_eq!(
            plan.busiest().map(|(c, t)| (c.to_string(), t)),
            Some(("psu:2".into(), 660.0))
        );
        assert_eq!(plan.bound(), 660.0);
        assert_eq!(
            plan.against(Duration::from_secs(700)),
            "device time 26m (1560 s) in 5 scenario(s); bound 11m (660 s: longest scenario 600 s, busiest \
             channel psu:2 660 s); wall 11m40s (700 s, 1.06 × bound)"
        );
        assert_eq!(plan.device_time, 1560.0);
        assert_eq!(
            plan.predecessors(),
            [vec![], vec![], vec![], vec![1, 2], vec![1, 3]]
        );
    }

    #[test]
    fn a_scenario_no_free_channel_holds_is_refused_naming_it() {
        let rig = rig(3);
        let free: Vec<_> = crate::plan::rig_channels(&rig)
            .into_iter()
            .take(1)
            .collect();
        let e = pack(&rig, &free, &[scenario("pair", "4m", 2)]).unwrap_err();
        assert_eq!(e.path, Path::new("pair.toml"));
        assert!(e.message.contains("channel 2 of 2"), "{}", e.message);
    }
}
