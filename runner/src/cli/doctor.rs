//! `hil doctor --rig FILE`: the bench's health, part by part, holding every supply channel's lock (a run in
//! progress is not disturbed) and guarded as a run is (a killed check still leaves the supplies safe).

use super::{file_error, setup_error, stop_signal, Ended, EXIT_PASS, EXIT_SETUP};
use crate::doctor::{check_bench, Ended as Checked};
use crate::rigfile::RigFile;
use crate::safety_guard::SafetyGuard;
use crate::schedule::claim_every_channel;
use model::diagnostic::UserTomlFile;
use std::path::Path;

pub(super) async fn doctor(path: &Path) -> Ended {
    let rig = RigFile::load(path).map_err(file_error)?;
    let (channels, locks) = claim_every_channel(&rig).map_err(setup_error)?;
    let guard = SafetyGuard::arm(path, &channels, &locks)
        .map_err(|e| setup_error(format_args!("{e:#}; not touching a rig without it")))?;
    println!("hil doctor: the bench of {}", path.display());
    let checked = check_bench(&rig, stop_signal()).await;
    guard.disarm().await;
    match checked {
        Checked::Checked {
            bench_can_run: true,
        } => {
            println!("the bench can run");
            Ok(EXIT_PASS)
        }
        Checked::Checked {
            bench_can_run: false,
        } => {
            println!("the bench cannot run: mend the parts marked FAIL");
            Ok(EXIT_SETUP)
        }
        Checked::Stopped(signal) => Err(setup_error(format_args!(
            "{signal}: the check stopped; the supplies were put in their safe state"
        ))),
    }
}
