//! Errors in files a user wrote: each names the file, line and column, what is wrong and what would be valid.

use ariadne::{Config, IndexType, Label, Report, ReportKind, Source};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub path: PathBuf,
    source: String,
    span: Option<Range<usize>>,
    pub message: String,
    help: Option<String>,
}

impl Diagnostic {
    pub fn new(
        path: &Path,
        source: &str,
        span: Option<Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            path: path.to_path_buf(),
            source: source.to_string(),
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// 1-based line and column of the error, when it has a place in the file.
    pub fn line_col(&self) -> Option<(usize, usize)> {
        let start = self.span.as_ref()?.start.min(self.source.len());
        let before = &self.source[..start];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Some((line, col))
    }

    /// `file:line:col` (or just the file).
    pub fn location(&self) -> String {
        match self.line_col() {
            Some((line, col)) => format!("{}:{line}:{col}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// The full report: a one-line header a terminal or CI log can be grepped for, then the source excerpt.
    pub fn render(&self) -> String {
        let mut out = format!("error: {}: {}\n", self.location(), self.message);
        if let Some(span) = &self.span {
            let id = self.path.display().to_string();
            let span =
                span.start.min(self.source.len())..span.end.min(self.source.len()).max(span.start);
            let mut report = Report::build(ReportKind::Error, (id.clone(), span.clone()))
                .with_config(
                    Config::default()
                        .with_color(false)
                        .with_index_type(IndexType::Byte),
                )
                .with_message(&self.message)
                .with_label(Label::new((id.clone(), span)).with_message(&self.message));
            if let Some(help) = &self.help {
                report = report.with_help(help);
            }
            let mut buf = Vec::new();
            if report
                .finish()
                .write((id, Source::from(self.source.as_str())), &mut buf)
                .is_ok()
            {
                out.push_str(&String::from_utf8_lossy(&buf));
            }
        } else if let Some(help) = &self.help {
            out.push_str(&format!("  help: {help}\n"));
        }
        out
    }
}

/// Reads a file a user wrote (`what` names its kind in the error).
pub fn read_user_file(path: &Path, what: &str) -> Result<String, Diagnostic> {
    std::fs::read_to_string(path)
        .map_err(|e| Diagnostic::new(path, "", None, format!("cannot read the {what}: {e}")))
}

/// Parses TOML a user wrote into `T`; syntax errors, unknown keys and bad values are located in the file.
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    source: &str,
    help: &str,
) -> Result<T, Diagnostic> {
    toml::from_str(source).map_err(|e| {
        Diagnostic::new(path, source, e.span(), e.message().trim_end().to_string()).with_help(help)
    })
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_spans_by_line_and_column() {
        let src = "a = 1\nbb = oops\n";
        let d = Diagnostic::new(Path::new("x.toml"), src, Some(11..15), "bad value");
        assert_eq!(d.line_col(), Some((2, 6)));
        let text = d.render();
        assert!(text.starts_with("error: x.toml:2:6: bad value\n"), "{text}");
        assert!(text.contains("bb = oops"), "{text}");
    }
}
