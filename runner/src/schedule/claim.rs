//! A run's claim on a rig: the channels no other run holds, the run's scenarios packed onto them, and the locks
//! of exactly the channels the plan uses (a channel's lock covers the boards hanging on it).

use super::{pack, RigPlan};
use crate::plan::{rig_channels, RigChannel};
use crate::rigfile::{BenchLock, LockError, RigFile};
use model::diagnostic::Diagnostic;
use model::scenario::Scenario;
use std::time::{Duration, Instant};

/// The run's plan and the locks it holds until it ends.
pub struct Claim {
    pub plan: RigPlan,
    pub locks: Vec<BenchLock>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(transparent)]
    Lock(LockError),
    /// A scenario does not fit the rig (its file's error).
    #[error("{}", .0.message)]
    Plan(Box<Diagnostic>),
    /// A scenario does not fit the channels other runs left free.
    #[error("{}; {}", .plan.message, .held.join("; "))]
    Held {
        plan: Box<Diagnostic>,
        held: Vec<String>,
    },
}

/// How long a run waits for channels another run holds only while packing: each run briefly locks every free
/// channel before it lets go of those its plan leaves unused, so two runs started at once would otherwise refuse
/// each other.
const PACKING_PATIENCE: Duration = Duration::from_secs(3);
const PACKING_RETRY: Duration = Duration::from_millis(100);

/// Locks every free channel, packs the scenarios onto them, and lets go of those the plan leaves unused. Where
/// the scenarios do not fit for channels other runs hold, tries again for a moment (another run may be packing).
pub fn claim(rig: &RigFile, scenarios: &[Scenario]) -> Result<Claim, ClaimError> {
    let deadline = Instant::now() + PACKING_PATIENCE;
    loop {
        match claim_free(rig, scenarios) {
            Err(ClaimError::Held { .. }) if Instant::now() < deadline => {
                // At start-up, before any bench is touched: blocking here holds up nothing else.
                std::thread::sleep(PACKING_RETRY);
            }
            claimed => return claimed,
        }
    }
}

/// One attempt of `claim`, on the channels free now.
fn claim_free(rig: &RigFile, scenarios: &[Scenario]) -> Result<Claim, ClaimError> {
    let mut free = Vec::new();
    let mut locks = Vec::new();
    let mut held = Vec::new();
    for (channel, boards) in rig_channels(rig) {
        match BenchLock::acquire(&rig.path, &channel.to_string()) {
            Ok(lock) => {
                locks.push((channel.clone(), lock));
                free.push((channel, boards));
            }
            Err(e @ LockError::InUse { .. }) => held.push(e.to_string()),
            Err(e) => return Err(ClaimError::Lock(e)),
        }
    }
    let plan = pack(rig, &free, scenarios).map_err(|plan| match held.is_empty() {
        true => ClaimError::Plan(Box::new(plan)),
        false => ClaimError::Held {
            plan: Box::new(plan),
            held: held.clone(),
        },
    })?;
    let used = plan.channels();
    let locks = locks
        .into_iter()
        .filter(|(channel, _)| used.contains(channel))
        .map(|(_, lock)| lock)
        .collect();
    Ok(Claim { plan, locks })
}

/// Every channel of the rig's supplies and its lock, for a command that switches them all (`hil doctor`); a
/// channel another run holds is an error naming its holder, as the bench is not the command's to touch then.
pub fn claim_every_channel(rig: &RigFile) -> Result<(Vec<RigChannel>, Vec<BenchLock>), LockError> {
    let channels: Vec<RigChannel> = rig
        .supplies
        .values()
        .flat_map(|entry| {
            entry.channels.keys().map(|&channel| RigChannel {
                supply: entry.name.clone(),
                channel,
            })
        })
        .collect();
    let locks = channels
        .iter()
        .map(|channel| BenchLock::acquire(&rig.path, &channel.to_string()))
        .collect::<Result<_, _>>()?;
    Ok((channels, locks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::diagnostic::UserTomlFile;

    #[test]
    fn a_channel_another_run_holds_while_packing_is_waited_for_a_moment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.toml");
        let text = "[supply.psu]\ndriver = \"scpi\"\nmodel = \"rigol-dp832\"\n\
                    address = \"tcp://127.0.0.1:5555\"\nchannels = { 1 = { max_volts = 15.0, max_amps = 1.0 } }\n\
                    [[board]]\nname = \"b1\"\nchip = \"esp8266\"\nmac = \"5c:cf:7f:00:00:01\"\n\
                    port = \"/dev/ttyUSB1\"\nsupply = \"psu:1\"\n";
        std::fs::write(&path, text).unwrap();
        let rig = RigFile::parse(&path, text).unwrap_or_else(|d| panic!("{}", d.render()));
        let scenario = Scenario::parse(
            &dir.path().join("s.toml"),
            "name = \"s\"\nduration = \"1m\"\n[supply]\nprofile = [{ at = \"0s\", volts = 12.6 }]\n",
        )
        .unwrap_or_else(|d| panic!("{}", d.render()));

        let packing = BenchLock::acquire(&path, "psu:1").unwrap();
        let other_run = std::thread::spawn(move || {
            std::thread::sleep(PACKING_RETRY * 3);
            drop(packing);
        });
        let claimed = claim(&rig, std::slice::from_ref(&scenario));
        other_run.join().unwrap();
        let claimed = claimed.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(claimed.locks.len(), 1, "psu:1, once the other run let go");

        let e = claim(&rig, std::slice::from_ref(&scenario))
            .err()
            .expect("held for the whole run");
        assert!(
            matches!(e, ClaimError::Held { .. }) && e.to_string().contains("psu:1"),
            "{e}"
        );
    }
}
