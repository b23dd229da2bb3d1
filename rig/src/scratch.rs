//! One folder per process for everything the rig writes for a while only (twin boards' filesystems, the fork
//! server's and REPL host's scripts, a spawned broker's files), so a lab machine running nightly for a year does
//! not fill its temp folder: the folder goes when the process exits, and one left behind by a process that died
//! without removing it (`kill -9`) is removed by the next process that makes one, or by `sweep_stale`.
//!
//! A folder's owner holds an exclusive `flock` on its `owner.lock` for as long as it lives: the kernel drops
//! the lock when the owner dies, however it dies, so a lock that can be taken marks a folder nobody owns.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

/// Every scratch folder's name starts so, in the system's temp folder.
const PREFIX: &str = "hil-run-";
const OWNER_LOCK: &str = "owner.lock";
/// A folder without its lock file this young may be one being created right now.
const CREATION_GRACE: Duration = Duration::from_secs(60);

struct Scratch {
    path: PathBuf,
    /// Holds the flock for the life of the process.
    _owner: File,
}

static SCRATCH: OnceLock<io::Result<Scratch>> = OnceLock::new();

/// This process's scratch folder, made (after removing stale ones) on first use. A failure is kept and told to
/// every caller, each with its own copy (an io::Error is not Clone), of the same kind.
pub fn dir() -> io::Result<&'static Path> {
    SCRATCH
        .get_or_init(create)
        .as_ref()
        .map(|s| s.path.as_path())
        .map_err(|e| io::Error::new(e.kind(), format!("creating hil's scratch folder: {e}")))
}

/// A new folder inside the scratch folder; dropping it removes it sooner.
pub fn tempdir(prefix: &str) -> io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix(prefix).tempdir_in(dir()?)
}

/// A new file inside the scratch folder; dropping it removes it sooner.
pub fn tempfile(prefix: &str, suffix: &str) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .tempfile_in(dir()?)
}

fn create() -> io::Result<Scratch> {
    sweep_stale();
    let path = tempfile::Builder::new().prefix(PREFIX).tempdir()?.keep();
    let owner = File::create(path.join(OWNER_LOCK))?;
    if !try_lock(&owner)? {
        return Err(io::Error::other(
            "its owner lock is held by another process",
        ));
    }
    REMOVE_AT_EXIT
        .set(path.clone())
        .expect("the scratch folder is made once");
    // SAFETY: atexit with a function that only reads a static set before it and removes files.
    unsafe {
        libc::atexit(remove_at_exit);
    }
    Ok(Scratch {
        path,
        _owner: owner,
    })
}

static REMOVE_AT_EXIT: OnceLock<PathBuf> = OnceLock::new();

/// Runs when the process exits normally (`main` returns, `std::process::exit`), not when a signal kills it.
extern "C" fn remove_at_exit() {
    if let Some(path) = REMOVE_AT_EXIT.get() {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// Whether the exclusive lock on `file` was taken (false: another process holds it).
fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a descriptor this File owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Removes the scratch folders in the temp folder whose owner is gone; returns how many.
pub fn sweep_stale() -> usize {
    sweep_in(&std::env::temp_dir())
}

fn sweep_in(temp: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let path = entry.path();
        if owner_gone(&path) && std::fs::remove_dir_all(&path).is_ok() {
            tracing::debug!("removed {}, left by a hil that died", path.display());
            removed += 1;
        }
    }
    removed
}

fn owner_gone(folder: &Path) -> bool {
    match File::open(folder.join(OWNER_LOCK)) {
        Ok(lock) => try_lock(&lock).unwrap_or(false),
        // No lock file: being created right now, or its creator died before it made one.
        Err(_) => std::fs::metadata(folder)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age > CREATION_GRACE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_whose_owner_holds_its_lock_stays_and_an_ownerless_one_goes() {
        let temp = tempfile::tempdir().unwrap();
        let alive = temp.path().join(format!("{PREFIX}alive"));
        let dead = temp.path().join(format!("{PREFIX}dead"));
        let other = temp.path().join("someone-elses");
        for d in [&alive, &dead, &other] {
            std::fs::create_dir(d).unwrap();
        }
        let held = File::create(alive.join(OWNER_LOCK)).unwrap();
        assert!(try_lock(&held).unwrap());
        // The lock of a process that died is released: a file nobody locks.
        File::create(dead.join(OWNER_LOCK)).unwrap();
        assert_eq!(sweep_in(temp.path()), 1);
        assert!(alive.exists() && other.exists() && !dead.exists());
    }

    #[test]
    fn a_young_folder_without_its_lock_file_is_left_to_its_creator() {
        let temp = tempfile::tempdir().unwrap();
        let young = temp.path().join(format!("{PREFIX}young"));
        std::fs::create_dir(&young).unwrap();
        assert_eq!(sweep_in(temp.path()), 0);
        assert!(young.exists());
    }

    #[test]
    fn the_process_folder_is_made_once_with_its_lock_held() {
        let first = dir().unwrap();
        assert_eq!(dir().unwrap(), first);
        let lock = File::open(first.join(OWNER_LOCK)).unwrap();
        assert!(!try_lock(&lock).unwrap(), "the owner holds the lock");
        let made = tempdir("x-").unwrap();
        assert!(made.path().starts_with(first));
    }
}
