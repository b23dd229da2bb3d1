//! `hil doctor --rig FILE`: checks a bench without running a scenario and without harm, one line per part: the
//! supplies (identity, limits, protection, a safe voltage read back), the boards (found by MAC through the ROM
//! loader, reset back into their app), the broker and the tap (the rig's credentials), the WiFi settings. The
//! supplies' channels are on only while the boards are checked, and end in the rig's safe state however the
//! checks end. Nothing is flashed or deployed.

mod boards;
mod broker;
mod finding;
mod supply;
mod wifi;

pub use finding::{Checkup, Finding};
pub use supply::identity_names_model;

use crate::exec::make_safe;
use crate::rigfile::RigFile;
use supply::Powered;

/// How the checks ended.
pub enum Ended {
    /// Every part was checked; whether all are OK.
    Checked { bench_can_run: bool },
    /// Ctrl-C or SIGTERM came first (named).
    Stopped(&'static str),
}

/// Checks the bench `rig` describes, printing a line per part, until done or `stop`; the supply channels it
/// switched on are then put in the rig's safe state (an error doing so is a failed check).
pub async fn check_bench(
    rig: &RigFile,
    stop: impl std::future::Future<Output = &'static str>,
) -> Ended {
    let powered = Powered::default();
    let mut checkup = Checkup::default();
    let checked = tokio::select! {
        () = check_parts(rig, &powered, &mut checkup) => None,
        signal = stop => Some(signal),
    };
    // Checks that ran to the end made their channels safe already; a stop came before they could.
    make_powered_safe(&powered, &mut checkup).await;
    match checked {
        Some(signal) => Ended::Stopped(signal),
        None => Ended::Checked {
            bench_can_run: checkup.all_ok(),
        },
    }
}

async fn check_parts(rig: &RigFile, powered: &Powered, checkup: &mut Checkup) {
    let passed = supply::check_supplies(rig, powered, checkup).await;
    boards::check_boards(rig, &passed, checkup).await;
    // The boards are done with: their supplies go back to their safe state before the network checks.
    make_powered_safe(powered, checkup).await;
    broker::check_broker_and_tap(rig, checkup).await;
    checkup.say(wifi::check_wifi(rig));
}

/// Puts the channels the checks switched on in the rig's safe state; failing to is a failed check.
async fn make_powered_safe(powered: &Powered, checkup: &mut Checkup) {
    let channels = std::mem::take(&mut *powered.lock().unwrap_or_else(|e| e.into_inner()));
    if let Err(e) = make_safe(&channels, None).await {
        checkup.say(Finding::wrong(
            "supply",
            format_args!("{e:#}"),
            "switch its outputs off by hand, and check the supply's connection",
        ));
    }
}
