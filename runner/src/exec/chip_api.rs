//! Names a firmware uses that the unix port (the twin's VM) has and the ESP8266 build lacks, where the twin cannot
//! take them away at run time (methods of built-in types, syntax): found in the app's source before a run, each
//! named by file and line, so a firmware that passes on the twin is told what will fail on the chip.

use rig::board::AppFile;

/// What the source shows, and what the chip says of it.
const MISSING: [(&str, &str); 6] = [
    (
        ".center(",
        "str.center is not in the ESP8266 build (AttributeError on the chip)",
    ),
    (
        ".partition(",
        "str.partition is not in the ESP8266 build (AttributeError on the chip)",
    ),
    (
        ".rpartition(",
        "str.rpartition is not in the ESP8266 build (AttributeError on the chip)",
    ),
    (
        ".splitlines(",
        "str.splitlines is not in the ESP8266 build (AttributeError on the chip)",
    ),
    (
        "def __setattr__",
        "the ESP8266 build does not call __setattr__ on assignment",
    ),
    (
        "def __delattr__",
        "the ESP8266 build does not call __delattr__ on deletion",
    ),
];

#[derive(Debug, PartialEq)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub what: &'static str,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// Every use of a missing name or of a complex literal in the app's .py files (comments and strings are not
/// told apart from code: a rare false alarm is cheaper than a miss).
pub fn scan(files: &[AppFile]) -> Vec<Finding> {
    let mut found = Vec::new();
    for file in files.iter().filter(|f| f.path.ends_with(".py")) {
        let text = String::from_utf8_lossy(&file.contents);
        for (n, line) in text.lines().enumerate() {
            let code = line.split('#').next().unwrap_or_default();
            for (needle, what) in MISSING {
                if code.contains(needle) {
                    found.push(Finding {
                        file: file.path.clone(),
                        line: n + 1,
                        what,
                    });
                }
            }
            if has_complex_literal(code) {
                found.push(Finding {
                    file: file.path.clone(),
                    line: n + 1,
                    what: "complex numbers are not in the ESP8266 build (a SyntaxError there)",
                });
            }
        }
    }
    found
}

/// A number directly followed by `j` (`2j`, `1.5j`), not part of a name.
fn has_complex_literal(code: &str) -> bool {
    let bytes = code.as_bytes();
    bytes.iter().enumerate().any(|(i, &b)| {
        (b == b'j' || b == b'J')
            && i > 0
            && bytes[i - 1].is_ascii_digit()
            && bytes
                .get(i + 1)
                .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_')
            && {
                let start = bytes[..i]
                    .iter()
                    .rposition(|c| !(c.is_ascii_digit() || *c == b'.'))
                    .map_or(0, |p| p + 1);
                start == 0
                    || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_')
            }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> AppFile {
        AppFile {
            path: path.into(),
            contents: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn missing_methods_and_complex_literals_are_named_by_file_and_line() {
        let found = scan(&[
            file(
                "app.py",
                "x = 1\nkey, _, value = line.partition('=')\n# a.center( in a comment\n",
            ),
            file(
                "m.py",
                "z = 2j + v1j\nclass A:\n    def __setattr__(self, k, v):\n        pass\n",
            ),
            file("data.txt", "s.partition("),
        ]);
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 3, "{text:#?}");
        assert!(text[0].starts_with("app.py:2: str.partition"));
        assert!(text[1].starts_with("m.py:1: complex numbers"));
        assert!(text[2].starts_with("m.py:3: the ESP8266 build does not call __setattr__"));
    }

    #[test]
    fn the_app_uses_nothing_the_chip_lacks() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/app");
        let files = crate::exec::app_files(&dir).unwrap();
        assert_eq!(scan(&files), Vec::new());
    }
}
