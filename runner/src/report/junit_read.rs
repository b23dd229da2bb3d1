//! A report's junit.xml read back: what the event logs do not hold (each scenario's wall time, a run error, a
//! scenario skipped and why), for `hil report merge`.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::path::{Path, PathBuf};

/// One `<testsuite>`: one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct SuiteRead {
    pub name: String,
    /// Seconds of wall time (absent on a skipped scenario's suite).
    pub time: Option<f64>,
    pub cases: Vec<CaseRead>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CaseRead {
    Success,
    Failure(String),
    Error(String),
    Skipped(String),
}

#[derive(Debug, thiserror::Error)]
pub enum JunitReadError {
    #[error("reading {}: {cause}", path.display())]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("{}: not a junit.xml hil wrote: {cause}", path.display())]
    Xml {
        path: PathBuf,
        cause: quick_xml::Error,
    },
}

pub fn read_junit(path: &Path) -> Result<Vec<SuiteRead>, JunitReadError> {
    let text = std::fs::read_to_string(path).map_err(|cause| JunitReadError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    parse_junit(&text).map_err(|cause| JunitReadError::Xml {
        path: path.to_path_buf(),
        cause,
    })
}

fn parse_junit(text: &str) -> Result<Vec<SuiteRead>, quick_xml::Error> {
    let mut reader = Reader::from_str(text);
    let mut suites: Vec<SuiteRead> = Vec::new();
    loop {
        let element = match reader.read_event()? {
            Event::Start(e) | Event::Empty(e) => e,
            Event::Eof => return Ok(suites),
            _ => continue,
        };
        let message = || attribute(&element, "message").unwrap_or_default();
        match element.name().as_ref() {
            b"testsuite" => suites.push(SuiteRead {
                name: attribute(&element, "name").unwrap_or_default(),
                time: attribute(&element, "time").and_then(|t| t.parse().ok()),
                cases: Vec::new(),
            }),
            b"testcase" => {
                if let Some(suite) = suites.last_mut() {
                    suite.cases.push(CaseRead::Success);
                }
            }
            kind @ (b"failure" | b"error" | b"skipped") => {
                let status = match kind {
                    b"failure" => CaseRead::Failure(message()),
                    b"error" => CaseRead::Error(message()),
                    _ => CaseRead::Skipped(message()),
                };
                if let Some(case) = suites.last_mut().and_then(|s| s.cases.last_mut()) {
                    *case = status;
                }
            }
            _ => {}
        }
    }
}

fn attribute(element: &BytesStart, name: &str) -> Option<String> {
    let a = element.try_get_attribute(name).ok()??;
    a.unescape_value().ok().map(|v| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_cases_and_their_messages_read_back() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="hil" tests="3" failures="1" errors="1">
    <testsuite name="a" tests="2" time="9.5">
        <properties><property name="rig" value="twin bench"/></properties>
        <testcase name="a/b0" classname="a"><system-out>ok</system-out></testcase>
        <testcase name="a/b1" classname="a"><failure message="period: 1 of 2 &lt;late&gt;">x</failure></testcase>
    </testsuite>
    <testsuite name="c" tests="1" time="0.1">
        <testcase name="c/setup" classname="c"><error message="run error: no broker"/></testcase>
    </testsuite>
    <testsuite name="d" tests="1">
        <testcase name="d" classname="d"><skipped message="needs mosquitto"/></testcase>
    </testsuite>
</testsuites>"#;
        let suites = parse_junit(xml).unwrap();
        assert_eq!(suites.len(), 3);
        assert_eq!(suites[0].time, Some(9.5));
        assert_eq!(
            suites[0].cases,
            [
                CaseRead::Success,
                CaseRead::Failure("period: 1 of 2 <late>".into())
            ]
        );
        assert_eq!(
            suites[1].cases,
            [CaseRead::Error("run error: no broker".into())]
        );
        assert_eq!((suites[2].name.as_str(), suites[2].time), ("d", None));
        assert_eq!(
            suites[2].cases,
            [CaseRead::Skipped("needs mosquitto".into())]
        );
        assert!(parse_junit("<testsuites><testsuite name=\"a\"></testcase>").is_err());
    }
}
