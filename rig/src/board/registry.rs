//! The chips the rig drives, by the name a rig file's `[[board]] chip` gives: how a board's MAC is checked, how a
//! board is opened on its port, and the image a twin board is flashed with when the rig names none. A chip is a
//! folder under `board/` and a line in [`ChipRegistry::default`]; tests and tools add theirs with
//! [`ChipRegistry::with`].

use super::chip::Chip;
use super::esp8266::Esp8266;
use std::sync::Arc;
use thiserror::Error;

/// A rig file names a chip the registry does not hold.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "chip {name:?} is not one this rig drives: chip must be {}",
    one_of(known)
)]
pub struct UnknownChip {
    pub name: String,
    pub known: Vec<String>,
}

fn one_of(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match &quoted[..] {
        [one] => one.clone(),
        several => format!("one of {}", several.join(", ")),
    }
}

#[derive(Debug, Clone)]
pub struct ChipRegistry {
    /// The first is the chip of a board whose rig file names none.
    chips: Vec<Arc<dyn Chip>>,
}

impl Default for ChipRegistry {
    /// Every chip the rig ships, one line each.
    fn default() -> Self {
        ChipRegistry::starting_with(Esp8266)
    }
}

impl ChipRegistry {
    /// A registry of one chip, which is also the chip of a board whose rig file names none.
    pub fn starting_with(chip: impl Chip + 'static) -> Self {
        ChipRegistry {
            chips: vec![Arc::new(chip)],
        }
    }

    /// Adds a chip; one of the same name is replaced.
    pub fn with(mut self, chip: impl Chip + 'static) -> Self {
        let chip: Arc<dyn Chip> = Arc::new(chip);
        match self.chips.iter_mut().find(|c| c.name() == chip.name()) {
            Some(same) => *same = chip,
            None => self.chips.push(chip),
        }
        self
    }

    pub fn get(&self, name: &str) -> Result<Arc<dyn Chip>, UnknownChip> {
        self.chips
            .iter()
            .find(|c| c.name() == name)
            .cloned()
            .ok_or_else(|| UnknownChip {
                name: name.to_string(),
                known: self.chips.iter().map(|c| c.name().to_string()).collect(),
            })
    }

    /// The chip of a board whose rig file names none.
    pub fn default_chip(&self) -> Arc<dyn Chip> {
        self.chips[0].clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_chip_is_an_error_listing_the_known_ones() {
        let chips = ChipRegistry::default();
        assert_eq!(chips.default_chip().name(), "esp8266");
        assert_eq!(chips.get("esp8266").unwrap().name(), "esp8266");
        let err = chips.get("esp32").unwrap_err();
        assert_eq!(
            err.to_string(),
            "chip \"esp32\" is not one this rig drives: chip must be \"esp8266\""
        );
        let two = UnknownChip {
            name: "x".into(),
            known: vec!["a".into(), "b".into()],
        };
        assert!(two
            .to_string()
            .ends_with("chip must be one of \"a\", \"b\""));
    }
}
