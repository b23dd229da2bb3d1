//! CONNACK: every connection attempt got the expected return code, reported by name.

use super::view::RunView;
use super::Verdict;
use crate::connack::connack_name;

pub fn check(expected: u8, view: &RunView, board: &str) -> Verdict {
    let seen = view.connacks(board);
    let want = format!("CONNACK {expected} ({})", connack_name(expected));
    if seen.is_empty() {
        return Verdict::new(
            "connack",
            board,
            false,
            format!(
                "expected {want}, but no CONNACK was seen (the board never reached the broker)"
            ),
        );
    }
    match seen.iter().find(|(_, code)| *code != expected) {
        Some((t, code)) => {
            let wrong = seen.iter().filter(|(_, c)| *c != expected).count();
            Verdict::new(
                "connack",
                board,
                false,
                format!(
                    "expected {want}, saw CONNACK {code} ({}) at t={t:.1}s ({wrong} of {} connections)",
                    connack_name(*code),
                    seen.len()
                ),
            )
        }
        None => Verdict::new(
            "connack",
            board,
            true,
            format!("{want} on all {} connections", seen.len()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::fixtures::*;

    #[test]
    fn names_the_unexpected_code() {
        let events = vec![start(&["b"]), connack(2.0, "b", 5), connack(62.0, "b", 5)];
        let v = check(0, &RunView::new(&events).unwrap(), "b");
        assert!(!v.pass);
        assert!(
            v.message.contains("CONNACK 5 (not authorized) at t=2.0s"),
            "{}",
            v.message
        );
        assert!(
            v.message.contains("expected CONNACK 0 (accepted)"),
            "{}",
            v.message
        );
    }

    #[test]
    fn passes_when_every_connack_matches_and_fails_when_none_seen() {
        let events = vec![start(&["b"]), connack(2.0, "b", 5)];
        assert!(check(5, &RunView::new(&events).unwrap(), "b").pass);
        let events = vec![start(&["b"])];
        assert!(!check(0, &RunView::new(&events).unwrap(), "b").pass);
    }
}
