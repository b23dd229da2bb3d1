//! The bench a rig file describes, for `hil run --rig`: opened (the file, its lock, its secrets and broker) and
//! guarded by a second process while the run lasts; and that guard's own hidden command.

use super::{file_error, setup_error, Ended, SetupFailed, EXIT_PASS};
use crate::rigfile::{BenchLock, RigFile, SecretRef};
use crate::safety_guard::SafetyGuard;
use model::diagnostic::UserTomlFile;
use rig::mqtt::Broker;
use rig::secret::Secret;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A rig file opened for a run: its bench lock is held until this is dropped.
pub(super) struct OpenRig {
    pub file: Arc<RigFile>,
    pub lock: BenchLock,
    /// The rig's external broker, if it names one.
    pub broker: Option<Arc<Broker>>,
    pub wifi_password: Option<Secret>,
}

impl OpenRig {
    /// Loads the rig file, takes its bench lock, and reads its broker and WiFi passwords from where it says.
    pub fn open(path: &Path) -> Result<OpenRig, SetupFailed> {
        let file = RigFile::load(path).map_err(file_error)?;
        let lock = BenchLock::acquire(path).map_err(setup_error)?;
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
            lock,
            broker,
            wifi_password,
        })
    }

    /// Starts the process that makes the supplies safe should this one die without doing it (SIGKILL).
    pub fn guard(&self) -> Result<SafetyGuard, SetupFailed> {
        SafetyGuard::arm(&self.file.path, &self.lock)
            .map_err(|e| setup_error(format_args!("{e:#}; not running a rig without it")))
    }
}

/// `hil safety-guard`: waits for the run that started it, and makes the rig safe if the run dies.
pub(super) async fn safety_guard(rig: &Path) -> Ended {
    let guarded = crate::safety_guard::watch(rig, std::io::stdin()).await;
    // The run is gone: what it left in its scratch folder goes too.
    rig::scratch::sweep_stale();
    // Its stderr is the run's: its errors say whose they are.
    guarded.map(|_| EXIT_PASS).map_err(|e| {
        eprintln!("hil safety guard: {e:#}");
        SetupFailed
    })
}
