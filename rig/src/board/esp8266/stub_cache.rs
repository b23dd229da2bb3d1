//! The flasher stub each rig setting names, read once a process: a missing or corrupt stub is said once (a
//! warning naming what is wrong) and its boards are flashed through the ROM from then on.

use super::flasher::FlashLink;
use super::stub::{installed_path, FlasherStub};
use crate::board::chip::FlashSettings;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Keyed by the rig file's `stub` path (None: the installed esptool's); None: no usable stub there.
type Loaded = HashMap<Option<PathBuf>, Option<Arc<FlasherStub>>>;

fn loaded() -> &'static tokio::sync::Mutex<Loaded> {
    static LOADED: std::sync::OnceLock<tokio::sync::Mutex<Loaded>> = std::sync::OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// How to flash under `settings`: through the stub when it can be read, else the ROM at 115200.
pub async fn flash_link(settings: &FlashSettings) -> FlashLink {
    // Held while the stub is read, so boards flashed side by side read it (and warn about it) once.
    let mut loaded = loaded().lock().await;
    let stub = match loaded.get(&settings.stub) {
        Some(stub) => stub.clone(),
        None => {
            let read = match &settings.stub {
                Some(path) => FlasherStub::load(path),
                None => match installed_path().await {
                    Ok(path) => FlasherStub::load(&path),
                    Err(e) => Err(e),
                },
            };
            let stub = read
                .map_err(|e| {
                    tracing::warn!(
                        "flasher stub: {e}; flashing through the ROM loader at 115200 instead"
                    )
                })
                .ok()
                .map(Arc::new);
            loaded.insert(settings.stub.clone(), stub.clone());
            stub
        }
    };
    drop(loaded);
    match stub {
        Some(stub) => FlashLink {
            stub: Some(stub),
            baud: settings.baud,
        },
        None => FlashLink::rom(),
    }
}

/// After a stub failed to start on a board: the rest of the run flashes through the ROM.
pub async fn give_up(settings: &FlashSettings) {
    loaded().lock().await.insert(settings.stub.clone(), None);
}
