//! Colour for what hil prints on a terminal: passes green, failures red, stops and skips yellow. Printed through
//! anstream, which drops the styles when the stream is no terminal (piped, a CI log file) or NO_COLOR is set;
//! CLICOLOR_FORCE=1 keeps them. Files (summary.txt) are written plain.

use anstyle::{AnsiColor, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Bad,
    Doubt,
}

fn style(tone: Tone) -> Style {
    match tone {
        Tone::Good => AnsiColor::Green.on_default(),
        Tone::Bad => AnsiColor::Red.on_default().bold(),
        Tone::Doubt => AnsiColor::Yellow.on_default(),
    }
}

/// `text` in `tone`'s colour.
pub fn paint(text: &str, tone: Tone) -> String {
    let style = style(tone);
    format!("{style}{text}{style:#}")
}

/// A pass or a failure's mark.
pub fn verdict(passed: bool, text: &str) -> String {
    paint(text, if passed { Tone::Good } else { Tone::Bad })
}

/// The run's summary table (`report::summary_table`) with each scenario's result word and the closing count
/// coloured; the details under a row stay plain.
pub fn summary(table: &str) -> String {
    let mut out = String::with_capacity(table.len() + 64);
    let lines: Vec<&str> = table.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        out.push_str(&if last { count_line(line) } else { row(line) });
        out.push('\n');
    }
    out
}

/// A row's result word (the column after the scenario's name) in its colour.
fn row(line: &str) -> String {
    // Details under a row are indented; the header's second word is `result`.
    if line.starts_with(' ') {
        return line.to_string();
    }
    let mut words = line.split_whitespace();
    let (Some(name), Some(result)) = (words.next(), words.next()) else {
        return line.to_string();
    };
    let (word, tone) = match result {
        "pass" => ("pass", Tone::Good),
        "FAIL" => ("FAIL", Tone::Bad),
        "ERROR" => ("ERROR", Tone::Bad),
        "STOP" => ("STOP", Tone::Doubt),
        "skip" => ("skip", Tone::Doubt),
        "not" => ("not run", Tone::Doubt),
        _ => return line.to_string(),
    };
    match line[name.len()..].find(word) {
        Some(at) => {
            let at = at + name.len();
            format!(
                "{}{}{}",
                &line[..at],
                paint(word, tone),
                &line[at + word.len()..]
            )
        }
        None => line.to_string(),
    }
}

/// `N of M scenarios passed…`: green when all passed, red otherwise.
fn count_line(line: &str) -> String {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(passed), Some("of"), Some(all)) => verdict(passed == all, line),
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_words_and_the_count_are_coloured_and_details_are_not() {
        let table = "scenario  result  readings\nfloat     pass         6\nperiod    FAIL         2  period\n    \
                     twin-0 period: late\nstale     not run       -\n1 of 2 scenarios passed\n";
        let coloured = summary(table);
        let green = style(Tone::Good);
        let red = style(Tone::Bad);
        let yellow = style(Tone::Doubt);
        assert!(coloured.contains(&format!("float     {green}pass{green:#}         6\n")));
        assert!(coloured.contains(&format!("period    {red}FAIL{red:#}         2  period\n")));
        assert!(coloured.contains("\n    twin-0 period: late\n"));
        assert!(coloured.contains(&format!("stale     {yellow}not run{yellow:#}       -\n")));
        assert!(coloured.ends_with(&format!("{red}1 of 2 scenarios passed{red:#}\n")));
        assert!(coloured.starts_with("scenario  result  readings\n"));
        let stripped: String = anstream::adapter::strip_str(&coloured).to_string();
        assert_eq!(stripped, table, "only styles were added");
    }
}
