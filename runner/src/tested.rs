//! What a run tested, for its reports: the firmware (folder, content hash, its own version), the commit it came
//! from, the hil version, the date and the bench.

use model::events::Tested;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// Describes the run about to start on `firmware` (a folder), on the rig file `rig` or the twin bench.
pub fn describe(firmware: &Path, rig: Option<&Path>) -> std::io::Result<Tested> {
    Ok(Tested {
        commit: commit_of(firmware),
        hil: env!("CARGO_PKG_VERSION").into(),
        date: rfc3339_utc(SystemTime::now()),
        firmware: firmware.display().to_string(),
        firmware_sha256: content_hash(firmware)?,
        fw: std::fs::read_to_string(firmware.join("app.py"))
            .ok()
            .and_then(|source| fw_version(&source)),
        rig: rig.map_or_else(|| "twin bench".into(), |r| r.display().to_string()),
    })
}

/// `git describe --always --dirty` of the repository holding `folder`, or `unknown` outside one (or without git).
fn commit_of(folder: &Path) -> String {
    Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|text| text.trim().to_string())
        .filter(|text| !text.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// sha256 over every file under `folder`, in order of their relative paths: each path, a NUL, its length and its
/// bytes, so that moving bytes from one file to the next changes the hash.
pub fn content_hash(folder: &Path) -> std::io::Result<String> {
    let mut files = Vec::new();
    files_under(folder, folder, &mut files)?;
    files.sort();
    let mut hash = Sha256::new();
    for relative in files {
        let bytes = std::fs::read(folder.join(&relative))?;
        hash.update(relative.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_be_bytes());
        hash.update(&bytes);
    }
    Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

fn files_under(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files_under(root, &path, files)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            files.push(relative.to_path_buf());
        }
    }
    Ok(())
}

/// The version the firmware puts in its payloads' `fw`: its app.py's `FW = "…"` line.
pub fn fw_version(app_py: &str) -> Option<String> {
    app_py.lines().find_map(|line| {
        let value = line.strip_prefix("FW")?.trim_start().strip_prefix('=')?;
        let value = value.trim();
        let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let inner = &value[1..];
        Some(inner[..inner.find(quote)?].to_string())
    })
}

/// `2026-11-29T05:40:35Z`.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let since_epoch = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    chrono::DateTime::from_timestamp(since_epoch.as_secs() as i64, 0).map_or_else(
        || "unknown".into(),
        |date| date.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_fw_version_is_read_from_its_assignment_only() {
        assert_eq!(
            fw_version("import x\nFW = \"0.1.0\"\n").as_deref(),
            Some("0.1.0")
        );
        assert_eq!(
            fw_version("FW='2.0-rc1'  # release").as_deref(),
            Some("2.0-rc1")
        );
        assert_eq!(fw_version("FWD = \"x\"\nprint(FW)\n"), None);
    }

    #[test]
    fn the_hash_changes_with_a_file_name_or_content_and_not_with_creation_order() {
        let a = tempfile::tempdir().unwrap();
        std::fs::create_dir(a.path().join("lib")).unwrap();
        std::fs::write(a.path().join("main.py"), "run()").unwrap();
        std::fs::write(a.path().join("lib/x.py"), "x = 1").unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir(b.path().join("lib")).unwrap();
        std::fs::write(b.path().join("lib/x.py"), "x = 1").unwrap();
        std::fs::write(b.path().join("main.py"), "run()").unwrap();
        let hash = content_hash(a.path()).unwrap();
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, content_hash(b.path()).unwrap());
        std::fs::write(b.path().join("lib/x.py"), "x = 2").unwrap();
        assert_ne!(hash, content_hash(b.path()).unwrap());
        std::fs::rename(b.path().join("lib/x.py"), b.path().join("lib/y.py")).unwrap();
        std::fs::write(b.path().join("lib/y.py"), "x = 1").unwrap();
        assert_ne!(hash, content_hash(b.path()).unwrap());
    }

    #[test]
    fn dates_are_rfc3339_in_utc() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_914_417);
        assert_eq!(rfc3339_utc(time), "2026-11-29T01:06:57Z");
    }

    #[test]
    fn outside_a_repository_the_commit_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(commit_of(dir.path()), "unknown");
    }
}
