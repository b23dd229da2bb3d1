//! Which scenarios run where and when: a night split over benches (`--partition`), scenarios packed onto a
//! rig's channels to run at once, and the turns that keep the packed order.

mod claim;
mod partition;
mod rig_packer;
mod turns;

pub use claim::{claim, claim_every_channel, Claim, ClaimError};
pub use partition::{BadPartition, Partition};
pub use rig_packer::{pack, PlannedScenario, RigPlan};
pub use turns::Turns;

/// The scenarios' indices, longest first, ties by name: the order both `--partition` and the rig packer take
/// them in, so the same scenarios always give the same split and plan.
fn longest_first(scenarios: &[model::scenario::Scenario]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scenarios.len()).collect();
    order.sort_by(|&a, &b| {
        scenarios[b]
            .duration
            .total_cmp(&scenarios[a].duration)
            .then_with(|| scenarios[a].name.cmp(&scenarios[b].name))
    });
    order
}
