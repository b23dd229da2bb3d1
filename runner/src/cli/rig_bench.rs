//! The bench a rig file describes, for `hil run --rig`: opened (the file, its secrets and broker), claimed (the
//! channels the run's plan uses, locked) and guarded by a second process while the run lasts; and that guard's
//! own hidden command.

use super::{file_error, setup_error, Ended, SetupFailed, EXIT_PASS};
use crate::plan::RigChannel;
use crate::rigfile::{RigFile, SecretRef};
use crate::safety_guard::SafetyGuard;
use crate::schedule::{Claim, ClaimError};
use model::diagnostic::UserTomlFile;
use model::scenario::Scenario;
use rig::mqtt::Broker;
use rig::secret::Secret;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A rig file opened for a run.
pub(super) struct OpenRig {
    pub file: Arc<RigFile>,
    /// The rig's external broker, if it names one.
    pub broker: Option<Arc<Broker>>,
    pub wifi_password: Option<Secret>,
}

impl OpenRig {
    /// Loads the rig file and reads its broker and WiFi passwords from where it says.
    pub fn open(path: &Path) -> Result<OpenRig, SetupFailed> {
        let file = RigFile::load(path).map_err(file_error)?;
        let in_rig_file =
            |e: &dyn fmt::Display| setup_error(format_args!("{}: {e:#}", path.display()));
        let secret = |r: &SecretRef| r.resolve().map_err(|e| in_rig_file(&e));
        let broker = match &file.broker {
            Some(b) => {
                let password = secret(&b.password)?;
                let broker =
                    Broker::external(&b.host, b.port, &b.username, password, b.tls.as_ref())
                        .map_err(|e| in_rig_file(&e))?;
                Some(Arc::new(broker))
            }
            None => None,
        };
        let wifi_password = file
            .wifi
            .as_ref()
            .map(|w| secret(&w.password))
            .transpose()?;
        Ok(OpenRig {
            file: Arc::new(file),
            broker,
            wifi_password,
        })
    }

    /// Packs `scenarios` onto the channels no other run holds and locks those the plan uses, until the claim is
    /// dropped.
    pub fn claim(&self, scenarios: &[Scenario]) -> Result<Claim, SetupFailed> {
        crate::schedule::claim(&self.file, scenarios).map_err(|e| match e {
            ClaimError::Plan(d) => file_error(*d),
            other => setup_error(other),
        })
    }

    /// Starts the process that makes the claimed channels safe should this one die without doing it (SIGKILL).
    pub fn guard(&self, claim: &Claim) -> Result<SafetyGuard, SetupFailed> {
        SafetyGuard::arm(&self.file.path, &claim.plan.channels(), &claim.locks)
            .map_err(|e| setup_error(format_args!("{e:#}; not running a rig without it")))
    }
}

/// `hil safety-guard`: waits for the run that started it, and makes its channels of the rig safe if the run
/// dies.
pub(super) async fn safety_guard(rig: &Path, channels: &[RigChannel]) -> Ended {
    let guarded = crate::safety_guard::watch(rig, channels, std::io::stdin()).await;
    // The run is gone: what it left in its scratch folder goes too.
    rig::scratch::sweep_stale();
    // Its stderr is the run's: its errors say whose they are.
    guarded.map(|_| EXIT_PASS).map_err(|e| {
        eprintln!("hil safety guard: {e:#}");
        SetupFailed
    })
}
