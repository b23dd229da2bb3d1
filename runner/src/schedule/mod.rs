//! Which scenarios run where and when: a night split over benches (`--partition`), scenarios packed onto a
//! rig's channels to run at once, and the turns that keep the packed order.

mod claim;
mod partition;
mod rig_packer;
mod turns;

pub use claim::{claim, Claim, ClaimError};
pub use partition::{BadPartition, Partition};
pub use rig_packer::{pack, PlannedScenario, RigPlan};
pub use turns::Turns;
