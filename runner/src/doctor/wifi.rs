//! The WiFi settings the boards are given: present, and their password readable.

use super::broker::secret_source;
use super::finding::Finding;
use crate::rigfile::RigFile;

const FIX: &str = "add [wifi] with ssid = \"…\" and password_file = \"…\" or password_env = \"…\" \
                   (README.md, rig files)";

pub fn check_wifi(rig: &RigFile) -> Finding {
    let Some(wifi) = &rig.wifi else {
        return Finding::wrong(
            "wifi",
            "the rig file has no [wifi]: the boards would not join a network",
            FIX,
        );
    };
    if wifi.ssid.trim().is_empty() {
        return Finding::wrong("wifi", "its ssid is empty", FIX);
    }
    let source = secret_source(&wifi.password);
    match wifi.password.resolve() {
        Ok(password) if password.expose().is_empty() => Finding::wrong(
            "wifi",
            format_args!("the password in {source} is empty"),
            format!("put the network's password in {source}"),
        ),
        Ok(_) => Finding::ok(
            "wifi",
            format!("ssid {:?}, password in {source}", wifi.ssid),
        ),
        Err(e) => Finding::wrong("wifi", e, format!("put the network's password in {source}")),
    }
}
