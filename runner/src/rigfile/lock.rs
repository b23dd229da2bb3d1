//! Bench locks: one per part of a rig (a supply channel, a board), so runs on disjoint channels share a bench. An
//! OS file lock (released by the kernel when its holders die, so a stale lock from a dead process is free again)
//! plus a note saying who holds it. A run's safety guard inherits its locks, so after a run is killed its
//! channels are free only once the guard has made them safe.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why the bench lock was not taken. Causes are part of the message rather than a `source()`, as the run prints
/// it whole.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{part} of the bench {} is in use: {holder} (lock {})", rig.display(), lock.display())]
    InUse {
        rig: PathBuf,
        /// The part of the rig: `psu1:2`, `board lab-3`.
        part: String,
        /// The holder's note: its pid, command line and start time.
        holder: String,
        lock: PathBuf,
    },
    #[error("cannot create {}: {cause}", folder.display())]
    CreateFolder {
        folder: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot open the bench lock {}: {cause}", lock.display())]
    Open {
        lock: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot write the bench lock {}: {cause}", lock.display())]
    Write {
        lock: PathBuf,
        cause: std::io::Error,
    },
}

pub struct BenchLock {
    file: File,
    pub path: PathBuf,
}

impl BenchLock {
    /// The locked file's descriptor: a process that inherits it holds the lock too, until it exits.
    pub fn fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.file)
    }

    /// Takes the lock on `part` (a supply channel `psu1:2`, a board `board lab-3`) of the rig file at `rig`, or
    /// says who holds it.
    pub fn acquire(rig: &Path, part: &str) -> Result<BenchLock, LockError> {
        let path = lock_path(rig, part);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|cause| LockError::CreateFolder {
                folder: dir.to_path_buf(),
                cause,
            })?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|cause| LockError::Open {
                lock: path.clone(),
                cause,
            })?;
        if file.try_lock().is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            return Err(LockError::InUse {
                rig: rig.to_path_buf(),
                part: part.to_string(),
                holder: holder.trim().to_string(),
                lock: path,
            });
        }
        let note = format!(
            "pid {} ({}) since {}",
            std::process::id(),
            std::env::args().collect::<Vec<_>>().join(" "),
            crate::local_time::local_date(std::time::SystemTime::now())
        );
        let written = file
            .set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(note.as_bytes()))
            .and_then(|_| file.flush());
        written.map_err(|cause| LockError::Write {
            lock: path.clone(),
            cause,
        })?;
        Ok(BenchLock { file, path })
    }
}

/// One lock per part of a rig file, wherever it is run from (HIL_LOCK_DIR, default the system's temp folder).
fn lock_path(rig: &Path, part: &str) -> PathBuf {
    let canonical = rig.canonicalize().unwrap_or_else(|_| rig.to_path_buf());
    let hash = canonical
        .to_string_lossy()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
    let dir = std::env::var_os("HIL_LOCK_DIR")
        .map_or_else(|| std::env::temp_dir().join("hil-locks"), PathBuf::from);
    let stem = canonical
        .file_stem()
        .map_or("rig".into(), |s| s.to_string_lossy().into_owned());
    let part: String = part
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    dir.join(format!("{stem}-{hash:016x}.{part}.lock"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_of_a_part_is_refused_and_told_who_holds_it_then_may_take_it_after_release() {
        let dir = tempfile::tempdir().unwrap();
        let rig = dir.path().join("lab.toml");
        std::fs::write(&rig, "").unwrap();
        let first = BenchLock::acquire(&rig, "psu:1").unwrap();
        let other_channel = BenchLock::acquire(&rig, "psu:2");
        assert!(
            other_channel.is_ok(),
            "another channel of the bench is free"
        );
        match BenchLock::acquire(&rig, "psu:1") {
            Err(LockError::InUse { holder, part, .. }) => {
                assert_eq!(part, "psu:1");
                assert!(
                    holder.starts_with(&format!("pid {} (", std::process::id())),
                    "{holder}"
                );
                let since = holder.rsplit(" since ").next().unwrap_or_default();
                assert!(
                    chrono::DateTime::parse_from_str(since, "%Y-%m-%d %H:%M:%S %:z").is_ok(),
                    "a local date: {holder}"
                );
            }
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("the bench is held"),
        }
        drop(first);
        assert!(
            BenchLock::acquire(&rig, "psu:1").is_ok(),
            "released on drop"
        );
    }
}
