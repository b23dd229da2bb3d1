//! CONNACK return codes by name: bare numbers cost users hours.

/// The MQTT 3.1.1 name of a CONNACK return code.
pub fn connack_name(code: u8) -> &'static str {
    match code {
        0 => "accepted",
        1 => "unacceptable protocol version",
        2 => "identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "unknown return code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_field_bug_codes() {
        assert_eq!(connack_name(2), "identifier rejected");
        assert_eq!(connack_name(5), "not authorized");
        assert_eq!(connack_name(9), "unknown return code");
    }
}
