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
                // The message is on the `error:` line above: the label only points.
                .with_label(Label::new((id.clone(), span)).with_message("here"));
            if let Some(help) = &self.help {
                report = report.with_help(help);
            }
            let mut buf = Vec::new();
            if report
                .finish()
                .write((id, Source::from(self.source.as_str())), &mut buf)
                .is_ok()
            {
                // Without the report's own `Error:` header, which would say the message a second time.
                let drawn = String::from_utf8_lossy(&buf);
                out.push_str(
                    drawn
                        .split_once('\n')
                        .map_or(&drawn, |(_, snippet)| snippet),
                );
            }
        } else if let Some(help) = &self.help {
            out.push_str(&format!("  help: {help}\n"));
        }
        out
    }
}

/// A file a user writes in TOML (a scenario, a rig file): read, parsed into its raw serde type (spans kept), then
/// validated, every error a `Diagnostic` located in the file.
pub trait UserTomlFile: Sized {
    /// The file as serde reads it, with `deny_unknown_fields` so that a misspelt key is an error.
    type Raw: serde::de::DeserializeOwned;
    /// What errors call it: "scenario file".
    const KIND: &'static str;
    /// Where its format is described, for the help under a syntax error, unknown key or bad value.
    const FORMAT_HELP: &'static str;

    /// Checks what the raw file says; errors point into `source`, the text of `path`.
    fn validate(path: &Path, source: &str, raw: Self::Raw) -> Result<Self, Diagnostic>;

    fn load(path: &Path) -> Result<Self, Diagnostic> {
        let source = std::fs::read_to_string(path).map_err(|e| {
            Diagnostic::new(
                path,
                "",
                None,
                format!("cannot read the {}: {e}", Self::KIND),
            )
        })?;
        Self::parse(path, &source)
    }

    /// `source` as the text of the file at `path`.
    fn parse(path: &Path, source: &str) -> Result<Self, Diagnostic> {
        Self::validate(path, source, Self::parse_raw(path, source)?)
    }

    /// `source` as serde reads it, before validation (for a caller that validates with more context).
    fn parse_raw(path: &Path, source: &str) -> Result<Self::Raw, Diagnostic> {
        toml::from_str(source).map_err(|e| {
            Diagnostic::new(
                path,
                source,
                e.span(),
                in_plain_words(e.message().trim_end()),
            )
            .with_help(Self::FORMAT_HELP)
        })
    }
}

/// serde's words for a value of the wrong type, as someone writing the file would say them.
const PLAIN_WORDS: [(&str, &str); 12] = [
    ("invalid type: ", "got "),
    ("invalid value: ", "got "),
    ("expected f64", "expected a number"),
    ("expected f32", "expected a number"),
    ("expected u8", "expected a whole number from 0"),
    ("expected u16", "expected a whole number from 0"),
    ("expected u32", "expected a whole number from 0"),
    ("expected u64", "expected a whole number from 0"),
    ("expected usize", "expected a whole number from 0"),
    ("expected i64", "expected a whole number"),
    (
        "expected a sequence",
        "expected a list, like [\"a\", \"b\"]",
    ),
    ("expected a boolean", "expected true or false"),
];

fn in_plain_words(serde_message: &str) -> String {
    PLAIN_WORDS
        .iter()
        .fold(serde_message.to_string(), |text, (serde, plain)| {
            text.replace(serde, plain)
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
        assert_eq!(text.matches("bad value").count(), 1, "said once: {text}");
        assert!(text.contains("bb = oops"), "{text}");
    }

    #[test]
    fn type_errors_are_said_in_the_files_words() {
        assert_eq!(
            in_plain_words("invalid type: string \"high\", expected f64"),
            "got string \"high\", expected a number"
        );
        assert_eq!(
            in_plain_words("invalid value: integer `-1`, expected u32"),
            "got integer `-1`, expected a whole number from 0"
        );
        assert_eq!(
            in_plain_words("invalid type: string \"a\", expected a sequence"),
            "got string \"a\", expected a list, like [\"a\", \"b\"]"
        );
    }

    /// A one-key file whose `n` must be even.
    #[derive(Debug)]
    struct Even(u32);

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct EvenRaw {
        n: toml::Spanned<u32>,
    }

    impl UserTomlFile for Even {
        type Raw = EvenRaw;
        const KIND: &'static str = "even file";
        const FORMAT_HELP: &'static str = "write n = <an even number>";

        fn validate(path: &Path, source: &str, raw: EvenRaw) -> Result<Even, Diagnostic> {
            match *raw.n.get_ref() {
                n if n % 2 == 0 => Ok(Even(n)),
                _ => Err(Diagnostic::new(
                    path,
                    source,
                    Some(raw.n.span()),
                    "n is odd",
                )),
            }
        }
    }

    #[test]
    fn a_user_toml_file_is_read_parsed_and_validated_with_located_errors() {
        let path = Path::new("e.toml");
        assert_eq!(Even::parse(path, "n = 4\n").unwrap().0, 4);

        let odd = Even::parse(path, "\nn = 3\n").unwrap_err();
        assert_eq!(
            (odd.location(), odd.message.as_str()),
            ("e.toml:2:5".into(), "n is odd")
        );

        let unknown = Even::parse(path, "n = 2\nm = 1\n").unwrap_err();
        assert_eq!(unknown.line_col(), Some((2, 1)));
        assert!(
            unknown.message.contains("unknown field `m`"),
            "{}",
            unknown.message
        );
        assert!(unknown.render().contains("write n = <an even number>"));

        let dir = tempfile::tempdir().unwrap();
        let missing = Even::load(&dir.path().join("none.toml")).unwrap_err();
        assert!(
            missing.message.starts_with("cannot read the even file: "),
            "{}",
            missing.message
        );
        assert_eq!(missing.line_col(), None);
    }
}
