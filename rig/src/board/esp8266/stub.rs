//! The ESP8266 flasher stub: Espressif's esp-flasher-stub build that esptool 5.x ships as
//! `esptool/targets/stub_flasher/2/esp8266.json` (Apache-2.0/MIT, not ours to vendor), read from an installed
//! esptool or a path the rig file names. Loaded here, uploaded by `flasher.rs`. We load it by hand because
//! espflash, which would, dropped the ESP8266 in 3.0.

use base64::Engine as _;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// Where esptool keeps the stub, under its package folder ("2": the esp-flasher-stub; "1" is the legacy one).
const STUB_IN_PACKAGE: &str = "targets/stub_flasher/2/esp8266.json";
/// Asking Python where esptool is takes well under a second; a hung interpreter is not waited for.
const FIND_TIMEOUT: Duration = Duration::from_secs(10);

/// One stub: its code and data segments, where they load in RAM, and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlasherStub {
    pub path: PathBuf,
    pub text: Vec<u8>,
    pub text_start: u32,
    pub data: Vec<u8>,
    pub data_start: u32,
    pub entry: u32,
}

/// Why no stub could be read; each says what to do about it.
#[derive(Debug, Error)]
pub enum StubError {
    #[error("no esptool found by python3 ({detail}): install it (python3 -m pip install esptool) or name the stub's file with `[boards] stub` in the rig file")]
    NoEsptool { detail: String },
    #[error("{}: {error}: reinstall esptool or correct `[boards] stub` in the rig file", path.display())]
    Unreadable {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: not a flasher stub's JSON ({detail}): reinstall esptool or correct `[boards] stub` in the rig file", path.display())]
    Corrupt { path: PathBuf, detail: String },
}

#[derive(Deserialize)]
struct StubJson {
    text: String,
    text_start: u32,
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    data_start: Option<u32>,
    entry: u32,
}

impl FlasherStub {
    /// Reads and decodes a stub JSON file.
    pub fn load(path: &Path) -> Result<FlasherStub, StubError> {
        let text = std::fs::read_to_string(path).map_err(|error| StubError::Unreadable {
            path: path.to_path_buf(),
            error,
        })?;
        FlasherStub::parse(path, &text)
    }

    /// Decodes a stub JSON text (`path` only names it in errors).
    pub fn parse(path: &Path, json: &str) -> Result<FlasherStub, StubError> {
        let corrupt = |detail: String| StubError::Corrupt {
            path: path.to_path_buf(),
            detail,
        };
        let raw: StubJson = serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?;
        let decode = |field: &str, b64: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| corrupt(format!("`{field}` is not base64: {e}")))
        };
        let text = decode("text", &raw.text)?;
        if text.is_empty() {
            return Err(corrupt("`text` is empty".into()));
        }
        let data = raw
            .data
            .as_deref()
            .map(|d| decode("data", d))
            .transpose()?
            .unwrap_or_default();
        if !data.is_empty() && raw.data_start.is_none() {
            return Err(corrupt("`data` without `data_start`".into()));
        }
        Ok(FlasherStub {
            path: path.to_path_buf(),
            text,
            text_start: raw.text_start,
            data,
            data_start: raw.data_start.unwrap_or(0),
            entry: raw.entry,
        })
    }

    /// The stub of the esptool that `python3` imports, found the way Python finds the package.
    pub async fn installed() -> Result<FlasherStub, StubError> {
        FlasherStub::load(&installed_path().await?)
    }
}

/// `esptool/targets/stub_flasher/2/esp8266.json` of the esptool `python3` imports.
pub async fn installed_path() -> Result<PathBuf, StubError> {
    let mut cmd = tokio::process::Command::new("python3");
    cmd.args([
        "-c",
        "import esptool, os; print(os.path.dirname(esptool.__file__))",
    ])
    .kill_on_drop(true);
    let out = match tokio::time::timeout(FIND_TIMEOUT, cmd.output()).await {
        Err(_) => {
            return Err(StubError::NoEsptool {
                detail: format!("python3 gave no answer in {FIND_TIMEOUT:?}"),
            })
        }
        Ok(Err(e)) => {
            return Err(StubError::NoEsptool {
                detail: format!("running python3: {e}"),
            })
        }
        Ok(Ok(out)) => out,
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(StubError::NoEsptool {
            detail: stderr.lines().last().unwrap_or("no output").to_string(),
        });
    }
    let package = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok(Path::new(&package).join(STUB_IN_PACKAGE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_segments_and_names_what_is_wrong() {
        let path = Path::new("stub.json");
        let ok = r#"{"entry": 1074847748, "text": "AAEC", "text_start": 1074847744,
                     "data": "/w==", "data_start": 1073658796, "bss_start": 1073643776}"#;
        let stub = FlasherStub::parse(path, ok).unwrap();
        assert_eq!(stub.text, vec![0, 1, 2]);
        assert_eq!(stub.data, vec![0xFF]);
        assert_eq!(
            (stub.text_start, stub.data_start, stub.entry),
            (0x4010_E000, 0x3FFE_BBAC, 0x4010_E004)
        );
        let bad_b64 = r#"{"entry": 1, "text": "not base64!", "text_start": 2}"#;
        let err = FlasherStub::parse(path, bad_b64).unwrap_err().to_string();
        assert!(
            err.contains("stub.json") && err.contains("`text` is not base64"),
            "{err}"
        );
        let not_json = FlasherStub::parse(path, "{").unwrap_err().to_string();
        assert!(not_json.contains("not a flasher stub's JSON"), "{not_json}");
        let no_entry = FlasherStub::parse(path, r#"{"text": "AAEC", "text_start": 2}"#)
            .unwrap_err()
            .to_string();
        assert!(no_entry.contains("entry"), "{no_entry}");
    }
}
