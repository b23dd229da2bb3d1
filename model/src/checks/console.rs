//! Console: text the board's serial console must show (a traceback's last line, say), or must never show.

use super::view::RunView;
use super::Verdict;
use crate::scenario::ConsoleExpectation;

/// Each `contains` text on some console line of the board, each `not_contains` text on none. Judged line by
/// line, case-sensitive, as the console recorded them (twin tracebacks keep their `stderr: ` prefix).
pub fn check(expect: &ConsoleExpectation, view: &RunView, board: &str) -> Verdict {
    const NAME: &str = "console";
    let lines = view.console(board);
    if lines.is_empty() {
        // Absence cannot be judged on a console that recorded nothing.
        return match expect.contains.first() {
            Some(text) => Verdict::new(
                NAME,
                board,
                false,
                format!("expected a line containing {text:?}, but the console recorded no line"),
            ),
            None => Verdict::not_judged(NAME, board, "the console recorded no line"),
        };
    }
    let mut found = Vec::new();
    for text in &expect.contains {
        match lines.iter().find(|(_, line)| line.contains(text.as_str())) {
            Some((t, line)) => found.push(format!("{line:?} at t={t:.1}s")),
            None => {
                let (t, last) = lines[lines.len() - 1];
                return Verdict::new(
                    NAME,
                    board,
                    false,
                    format!(
                        "no console line contains {text:?} ({} lines; the last, at t={t:.1}s: {last:?})",
                        lines.len()
                    ),
                );
            }
        }
    }
    for text in &expect.not_contains {
        if let Some((t, line)) = lines.iter().find(|(_, line)| line.contains(text.as_str())) {
            return Verdict::new(
                NAME,
                board,
                false,
                format!("the console showed {text:?} at t={t:.1}s: {line:?}"),
            );
        }
    }
    let mut message = found.join("; ");
    if !expect.not_contains.is_empty() {
        if !message.is_empty() {
            message.push_str("; ");
        }
        let absent: Vec<String> = expect
            .not_contains
            .iter()
            .map(|t| format!("{t:?}"))
            .collect();
        message.push_str(&format!(
            "no line of {} shows {}",
            lines.len(),
            absent.join(" or ")
        ));
    }
    Verdict::new(NAME, board, true, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    fn expect(contains: &[&str], not_contains: &[&str]) -> ConsoleExpectation {
        ConsoleExpectation {
            contains: contains.iter().map(|s| s.to_string()).collect(),
            not_contains: not_contains.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn traceback() -> Vec<crate::events::Event> {
        vec![
            start(&["b"]),
            console(1.0, "b", "battery 12.61 V"),
            console(2.0, "b", "Traceback (most recent call last):"),
            console(2.0, "b", "  File \"main.py\", line 40, in <module>"),
            console(2.0, "b", "MQTTException: 2"),
        ]
    }

    #[test]
    fn the_texts_asked_for_are_found_with_their_line_and_time() {
        let events = traceback();
        let view = RunView::new(&events).unwrap();
        let v = check(
            &expect(&["Traceback", "MQTTException: 2"], &["MemoryError"]),
            &view,
            "b",
        );
        assert!(v.pass, "{}", v.message);
        assert!(
            v.message
                .contains("\"MQTTException: 2\" at t=2.0s; no line of 4 shows \"MemoryError\""),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_missing_text_fails_quoting_the_last_line_and_a_forbidden_one_fails_quoting_its_line() {
        let events = traceback();
        let view = RunView::new(&events).unwrap();
        let v = check(&expect(&["MQTTException: 5"], &[]), &view, "b");
        assert!(!v.pass);
        assert!(
            v.message.contains(
                "no console line contains \"MQTTException: 5\" (4 lines; the last, at t=2.0s: \"MQTTException: 2\")"
            ),
            "{}",
            v.message
        );
        let v = check(&expect(&[], &["Traceback"]), &view, "b");
        assert!(!v.pass);
        assert!(
            v.message
                .contains("showed \"Traceback\" at t=2.0s: \"Traceback (most recent call last):\""),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_silent_console_fails_what_it_should_show_and_judges_no_absence() {
        let events = vec![start(&["b"])];
        let view = RunView::new(&events).unwrap();
        let v = check(&expect(&["boot"], &[]), &view, "b");
        assert!(!v.pass && v.judged, "{v:?}");
        let v = check(&expect(&[], &["Traceback"]), &view, "b");
        assert!(!v.pass && !v.judged, "{v:?}");
        assert_eq!(v.message, "not judged: the console recorded no line");
        assert_eq!(v.word(), "NOT JUDGED");
    }
}
