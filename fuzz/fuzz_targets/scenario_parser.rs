//! Any text as a scenario file parses or gives a located error — never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model::diagnostic::UserTomlFile;
use model::scenario::Scenario;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(d) = Scenario::parse(Path::new("fuzz.toml"), text) {
            let _ = d.render();
        }
    }
});
