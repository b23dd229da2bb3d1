//! What every report says it tested: the same named values in index.html, junit.xml and summary.txt.

use super::Baseline;
use model::events::Tested;
use std::sync::Arc;

/// What a run tested, and on which broker.
pub struct RunHeader {
    pub tested: Tested,
    /// The broker's description: never its password.
    pub broker: String,
    /// `--baseline`'s report, which the run was also judged against.
    pub baseline: Option<Arc<Baseline>>,
}

impl RunHeader {
    /// The header as named values, in the order the reports show them.
    pub fn properties(&self) -> Vec<(&'static str, String)> {
        let t = &self.tested;
        let mut properties = vec![
            ("commit", t.commit.clone()),
            ("hil", t.hil.clone()),
            ("date", t.date.clone()),
            ("firmware", t.firmware.clone()),
            ("firmware_sha256", t.firmware_sha256.clone()),
            ("fw", t.fw.clone().unwrap_or_else(|| "not declared".into())),
            ("rig", t.rig.clone()),
            ("broker", self.broker.clone()),
        ];
        if let Some(b) = &self.baseline {
            properties.push(("baseline", b.dir.display().to_string()));
        }
        properties
    }

    /// One `name: value` line per property.
    pub fn text(&self) -> String {
        self.properties()
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect()
    }
}
