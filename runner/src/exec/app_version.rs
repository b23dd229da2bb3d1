//! The version a deployed app declares: the string its `app` module assigns to `FW` (firmware/README.md), read
//! from `app.py`, or from `app.mpy` as mpy-cross compiled it. The checks hold each payload's `fw` to it.

use rig::board::AppFile;

/// `FW = "…"` of the app among `files`; None when it declares no version (an app that is not ours).
pub fn declared(files: &[AppFile]) -> Option<String> {
    let file = |name: &str| files.iter().find(|f| f.path == name);
    if let Some(source) = file("app.py") {
        return from_source(&String::from_utf8_lossy(&source.contents));
    }
    from_mpy(&file("app.mpy")?.contents)
}

fn from_source(source: &str) -> Option<String> {
    source.lines().find_map(|line| {
        let value = line
            .strip_prefix("FW")?
            .trim_start()
            .strip_prefix('=')?
            .trim();
        let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let inner = &value[1..];
        Some(inner[..inner.find(quote)?].to_string())
    })
}

/// MicroPython's bytecode: `LOAD_CONST_STRING qstr` then `STORE_NAME qstr`, as a module-level `FW = "…"` compiles.
const LOAD_CONST_STRING: u8 = 0x10;
const STORE_NAME: u8 = 0x16;

/// Reads an .mpy of version 6 (MicroPython 1.19 and later): its qstr table, then the bytecode that stores a
/// string constant in `FW`. Qstr operands in its bytecode are indices into that table.
fn from_mpy(mpy: &[u8]) -> Option<String> {
    if mpy.len() < 4 || mpy[0] != b'M' || mpy[1] != 6 {
        return None;
    }
    let mut at = 4;
    let qstrs = read_uint(mpy, &mut at)?;
    let _objects = read_uint(mpy, &mut at)?;
    let mut table: Vec<Option<&[u8]>> = Vec::new();
    for _ in 0..qstrs {
        let len_and_static = read_uint(mpy, &mut at)?;
        if len_and_static & 1 == 1 {
            // A qstr of the firmware's own static table, by number: never the app's strings.
            table.push(None);
            continue;
        }
        let len = usize::try_from(len_and_static >> 1).ok()?;
        table.push(Some(mpy.get(at..at + len)?));
        at += len + 1;
    }
    let fw = table.iter().position(|q| *q == Some(b"FW".as_slice()))?;
    let store_fw = [vec![STORE_NAME], encode_uint(fw as u64)].concat();
    table.iter().enumerate().find_map(|(index, value)| {
        let load = [vec![LOAD_CONST_STRING], encode_uint(index as u64)].concat();
        let pattern = [load, store_fw.clone()].concat();
        let stored = mpy.windows(pattern.len()).any(|w| w == pattern.as_slice());
        value
            .filter(|_| stored)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    })
}

/// MicroPython's variable-length unsigned integer: 7 bits a byte, most significant first, the top bit set on all
/// but the last.
fn read_uint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value: u64 = 0;
    loop {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value = (value << 7) | u64::from(byte & 0x7F);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
}

fn encode_uint(mut value: u64) -> Vec<u8> {
    let mut out = vec![(value & 0x7F) as u8];
    value >>= 7;
    while value > 0 {
        out.insert(0, (value & 0x7F) as u8 | 0x80);
        value >>= 7;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, contents: &[u8]) -> AppFile {
        AppFile {
            path: path.into(),
            contents: contents.to_vec(),
        }
    }

    #[test]
    fn the_version_is_read_from_the_source() {
        let app = file("app.py", b"import time\n\nFW = \"0.1.0\"\nX = 1\n");
        assert_eq!(declared(&[app]), Some("0.1.0".into()));
        let single = file("app.py", b"FW='2.0-rc1'  # release\n");
        assert_eq!(declared(&[single]), Some("2.0-rc1".into()));
        let none = file("app.py", b"FIRMWARE = \"1\"\nFW_NAME = \"x\"\n");
        assert_eq!(declared(&[none]), None);
        assert_eq!(declared(&[file("main.py", b"FW = \"1\"\n")]), None);
    }

    /// An .mpy as mpy-cross lays one out: header, qstr table (one static entry among them, as the firmware's
    /// own names are), then bytecode holding `FW = "0.2.0"`; qstr index 200 takes two bytes.
    fn mpy(version_index: u64) -> Vec<u8> {
        let mut qstrs: Vec<Vec<u8>> = vec![b"app.py".to_vec(), b"FW".to_vec()];
        while (qstrs.len() as u64) < version_index {
            qstrs.push(format!("name{}", qstrs.len()).into_bytes());
        }
        qstrs.push(b"0.2.0".to_vec());
        let mut out = vec![b'M', 6, 0x1A, 31];
        out.extend(encode_uint(qstrs.len() as u64 + 1));
        out.extend(encode_uint(0));
        out.extend(encode_uint((86 << 1) | 1));
        for q in &qstrs {
            out.extend(encode_uint((q.len() as u64) << 1));
            out.extend(q);
            out.push(0);
        }
        // The static entry came first, so every index above is one more.
        out.extend([0x11, 0x05, LOAD_CONST_STRING]);
        out.extend(encode_uint(version_index + 1));
        out.push(STORE_NAME);
        out.extend(encode_uint(2));
        out.extend([0x51, 0x63]);
        out
    }

    #[test]
    fn the_version_is_read_from_the_compiled_module() {
        assert_eq!(from_mpy(&mpy(2)), Some("0.2.0".into()));
        assert_eq!(from_mpy(&mpy(200)), Some("0.2.0".into()));
        assert_eq!(declared(&[file("app.mpy", &mpy(2))]), Some("0.2.0".into()));
        let mut other_version = mpy(2);
        other_version[1] = 5;
        assert_eq!(from_mpy(&other_version), None, "only mpy v6 is read");
        assert_eq!(from_mpy(b"M\x06"), None);
        let truncated = &mpy(2)[..12];
        assert_eq!(from_mpy(truncated), None);
    }

    #[test]
    fn uints_round_trip() {
        for value in [0, 1, 127, 128, 200, 16_383, 16_384, 1 << 40] {
            let bytes = encode_uint(value);
            let mut at = 0;
            assert_eq!(read_uint(&bytes, &mut at), Some(value));
            assert_eq!(at, bytes.len());
        }
    }
}
