//! The report folder: created, or emptied of an earlier run's report so that no stale scenario stays beside the
//! new summary; a folder holding anything else is refused rather than emptied.

use std::path::{Path, PathBuf};

/// The files a run writes at the top of its report folder.
const REPORT_FILES: [&str; 3] = ["index.html", "junit.xml", "summary.txt"];

#[derive(Debug, thiserror::Error)]
pub enum ReportFolderError {
    #[error(
        "the report folder {} is not empty and is not a hil report ({} is not one of ours); \
         name a new or empty folder (`--report`, `--out`)",
        folder.display(), foreign.display()
    )]
    Foreign { folder: PathBuf, foreign: PathBuf },
    #[error("cannot prepare the report folder {}: {cause}", folder.display())]
    Io {
        folder: PathBuf,
        cause: std::io::Error,
    },
}

/// Makes `folder` ready for a new report: created if missing; an earlier report's scenario folders (those holding
/// an `events.jsonl`) and files removed.
pub fn prepare_report_folder(folder: &Path) -> Result<(), ReportFolderError> {
    let io = |cause| ReportFolderError::Io {
        folder: folder.to_path_buf(),
        cause,
    };
    std::fs::create_dir_all(folder).map_err(io)?;
    let mut stale = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if !is_report_output(&path) {
            return Err(ReportFolderError::Foreign {
                folder: folder.to_path_buf(),
                foreign: path,
            });
        }
        stale.push(path);
    }
    for path in stale {
        if path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(io)?;
        } else {
            std::fs::remove_file(&path).map_err(io)?;
        }
    }
    Ok(())
}

fn is_report_output(path: &Path) -> bool {
    if path.is_dir() {
        path.join("events.jsonl").is_file()
    } else {
        path.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| REPORT_FILES.contains(&n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_earlier_report_is_emptied_and_a_foreign_folder_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report");
        prepare_report_folder(&report).unwrap();
        std::fs::create_dir(report.join("old-scenario")).unwrap();
        std::fs::write(report.join("old-scenario/events.jsonl"), "").unwrap();
        std::fs::write(report.join("summary.txt"), "").unwrap();
        prepare_report_folder(&report).unwrap();
        assert_eq!(std::fs::read_dir(&report).unwrap().count(), 0);

        std::fs::write(report.join("notes.txt"), "mine").unwrap();
        std::fs::write(report.join("junit.xml"), "").unwrap();
        let e = prepare_report_folder(&report).unwrap_err();
        assert!(e.to_string().contains("notes.txt"), "{e}");
        assert!(report.join("notes.txt").is_file() && report.join("junit.xml").is_file());
    }
}
