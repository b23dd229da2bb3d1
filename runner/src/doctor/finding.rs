//! What `hil doctor` says about each part of a bench: one line each, OK or what is wrong and how to fix it.

use crate::colour::{paint, Tone};
use std::fmt;

/// One part's verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    Ok {
        part: String,
        said: String,
    },
    Wrong {
        part: String,
        what: String,
        fix: String,
    },
    /// Not checked because another part it needs is wrong; that part's line says why.
    NotTried {
        part: String,
        because: String,
    },
}

impl Finding {
    pub fn ok(part: &str, said: impl Into<String>) -> Finding {
        Finding::Ok {
            part: part.into(),
            said: said.into(),
        }
    }

    pub fn wrong(part: &str, what: impl fmt::Display, fix: impl Into<String>) -> Finding {
        Finding::Wrong {
            part: part.into(),
            what: format!("{what:#}"),
            fix: fix.into(),
        }
    }

    pub fn not_tried(part: &str, because: impl Into<String>) -> Finding {
        Finding::NotTried {
            part: part.into(),
            because: because.into(),
        }
    }

    pub fn is_ok(&self) -> bool {
        matches!(self, Finding::Ok { .. })
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Ok { part, said } => write!(f, "OK    {part}: {said}"),
            Finding::Wrong { part, what, fix } => {
                write!(f, "FAIL  {part}: {what}\n      fix: {fix}")
            }
            Finding::NotTried { part, because } => {
                write!(f, "SKIP  {part}: not checked: {because}")
            }
        }
    }
}

/// The findings so far, each printed on stdout as it is made.
#[derive(Default)]
pub struct Checkup {
    findings: Vec<Finding>,
}

impl Checkup {
    pub fn say(&mut self, finding: Finding) {
        let tone = match &finding {
            Finding::Ok { .. } => Tone::Good,
            Finding::Wrong { .. } => Tone::Bad,
            Finding::NotTried { .. } => Tone::Doubt,
        };
        let line = finding.to_string();
        // The first word (OK, FAIL, SKIP) in its colour.
        let (word, rest) = line.split_at(line.find(' ').unwrap_or(line.len()));
        anstream::println!("{}{rest}", paint(word, tone));
        self.findings.push(finding);
    }

    /// Whether the bench can run: every part checked, and each OK.
    pub fn all_ok(&self) -> bool {
        !self.findings.is_empty() && self.findings.iter().all(Finding::is_ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bench_runs_only_when_every_part_is_ok() {
        let mut checkup = Checkup::default();
        assert!(!checkup.all_ok(), "nothing checked is not a healthy bench");
        checkup.say(Finding::ok("wifi", "ssid \"lab\""));
        assert!(checkup.all_ok());
        checkup.say(Finding::not_tried("tap", "the broker refused"));
        assert!(!checkup.all_ok());
    }

    #[test]
    fn a_wrong_part_says_what_and_how_to_fix_it() {
        let line = Finding::wrong("supply psu1", "no answer", "check its address").to_string();
        assert_eq!(
            line,
            "FAIL  supply psu1: no answer\n      fix: check its address"
        );
    }
}
