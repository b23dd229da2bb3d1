//! What was flashed last onto each board, by MAC: lets a loader that cannot hash flash (the ESP8266 ROM) skip an
//! image the board already runs. Only this rig's writes are recorded: a board flashed elsewhere since needs its
//! record deleted.

use super::Mac;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use thiserror::Error;

pub struct FlashRecords {
    dir: PathBuf,
}

#[derive(Debug, Error)]
pub enum RecordError {
    #[error("creating {}: {error}", dir.display())]
    Folder { dir: PathBuf, error: std::io::Error },
    #[error("writing {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct Record {
    offset: u32,
    len: usize,
    sha256: String,
}

impl FlashRecords {
    pub fn new(dir: &Path) -> Self {
        FlashRecords {
            dir: dir.to_path_buf(),
        }
    }

    fn path(&self, mac: Mac) -> PathBuf {
        self.dir
            .join(format!("{}.json", mac.to_string().replace(':', "")))
    }

    fn record(offset: u32, data: &[u8]) -> Record {
        Record {
            offset,
            len: data.len(),
            sha256: hex(&Sha256::digest(data)),
        }
    }

    pub fn holds(&self, mac: Mac, offset: u32, data: &[u8]) -> bool {
        std::fs::read(self.path(mac))
            .ok()
            .and_then(|b| serde_json::from_slice::<Record>(&b).ok())
            .is_some_and(|r| r == Self::record(offset, data))
    }

    pub fn store(&self, mac: Mac, offset: u32, data: &[u8]) -> Result<(), RecordError> {
        std::fs::create_dir_all(&self.dir).map_err(|error| RecordError::Folder {
            dir: self.dir.clone(),
            error,
        })?;
        let json = serde_json::to_vec(&Self::record(offset, data))
            .expect("a record of numbers and a string serializes");
        let path = self.path(mac);
        std::fs::write(&path, json).map_err(|error| RecordError::Write { path, error })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_holds_only_the_same_bytes_at_the_same_offset_for_the_same_mac() {
        let dir = tempfile::tempdir().unwrap();
        let records = FlashRecords::new(&dir.path().join("records"));
        let mac = Mac([0x5c, 0xcf, 0x7f, 0, 0, 1]);
        assert!(!records.holds(mac, 0, b"image"));
        records.store(mac, 0, b"image").unwrap();
        assert!(records.holds(mac, 0, b"image"));
        assert!(!records.holds(mac, 0, b"other"));
        assert!(!records.holds(mac, 0x1000, b"image"));
        assert!(!records.holds(Mac([0x5c, 0xcf, 0x7f, 0, 0, 2]), 0, b"image"));
        assert!(dir.path().join("records/5ccf7f000001.json").is_file());
    }
}
