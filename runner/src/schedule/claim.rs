//! A run's claim on a rig: the channels no other run holds, the run's scenarios packed onto them, and the locks
//! of exactly the channels the plan uses (a channel's lock covers the boards hanging on it).

use super::{pack, RigPlan};
use crate::plan::{rig_channels, RigChannel};
use crate::rigfile::{BenchLock, LockError, RigFile};
use model::diagnostic::Diagnostic;
use model::scenario::Scenario;

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

/// Locks every free channel, packs the scenarios onto them, and lets go of those the plan leaves unused.
pub fn claim(rig: &RigFile, scenarios: &[Scenario]) -> Result<Claim, ClaimError> {
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
