//! Which rig boards and supply channels a scenario runs on (DESIGN §1, `runner::plan`).
//!
//! A scenario names channels only by the boards on them; the rig file says which board hangs on which
//! instrument channel. Each scenario channel takes a rig channel of its own (two profiles never fight over one
//! output) and that channel's first boards: the channels needing most boards choose first, each the first free
//! rig channel (in rig-file order) that holds them.

use crate::rigfile::{BoardEntry, RigFile, SupplyEntry};
use model::scenario::Scenario;
use rig::supply::ChannelLimits;

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

/// Places each of the scenario's channels, in order, or says why the rig cannot hold them.
pub fn place<'a>(rig: &'a RigFile, scenario: &Scenario) -> Result<Vec<PlannedChannel<'a>>, String> {
    let mut groups: Vec<((&str, u8), Vec<&BoardEntry>)> = Vec::new();
    for board in &rig.boards {
        let key = (board.supply.as_str(), board.channel);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, boards)) => boards.push(board),
            None => groups.push((key, vec![board])),
        }
    }
    let mut taken = vec![false; groups.len()];
    let mut order: Vec<usize> = (0..scenario.supply.channels.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(scenario.supply.channels[i].boards.len()));
    let mut placed: Vec<Option<PlannedChannel>> = Vec::new();
    placed.resize_with(order.len(), || None);
    for index in order {
        let needed = scenario.supply.channels[index].boards.len();
        let free = groups
            .iter()
            .enumerate()
            .find(|(g, (_, boards))| !taken[*g] && boards.len() >= needed);
        let Some((g, ((supply, channel), boards))) = free else {
            return Err(shortage(rig, scenario, index, needed, &groups, &taken));
        };
        taken[g] = true;
        let entry = rig.supplies.get(*supply).ok_or_else(|| {
            format!(
                "no [supply.{supply}] in the rig file {}",
                rig.path.display()
            )
        })?;
        let limits = *entry.channels.get(channel).ok_or_else(|| {
            format!(
                "[supply.{supply}] in {} has no channel {channel}",
                rig.path.display()
            )
        })?;
        placed[index] = Some(PlannedChannel {
            supply: entry,
            channel: *channel,
            limits,
            boards: boards.iter().take(needed).copied().collect(),
        });
    }
    let placed = placed.into_iter().flatten().collect();
    Ok(placed)
}

/// Why scenario channel `index` found no rig channel, with what the rig has.
fn shortage(
    rig: &RigFile,
    scenario: &Scenario,
    index: usize,
    needed: usize,
    groups: &[((&str, u8), Vec<&BoardEntry>)],
    taken: &[bool],
) -> String {
    let have: Vec<String> = groups
        .iter()
        .zip(taken)
        .map(|(((supply, channel), boards), taken)| {
            let names: Vec<&str> = boards.iter().map(|b| b.name.as_str()).collect();
            let state = if *taken { ", taken" } else { "" };
            format!("{supply}:{channel} [{}{state}]", names.join(", "))
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
    format!(
        "the scenario {} needs {needed} board(s) on {which}, each scenario channel on a rig channel of its own; \
         the rig {} has {}",
        scenario.name,
        rig.path.display(),
        if have.is_empty() {
            "no boards".to_string()
        } else {
            have.join("; ")
        }
    )
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
        let e = place(&rig, &s).unwrap_err();
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
        let e = place(&rig, &s).unwrap_err();
        assert!(e.contains("channel 2 of 2"), "{e}");
        assert!(e.contains("psu1:1 [a, b, taken]"), "{e}");
    }
}
