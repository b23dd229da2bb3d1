//! What every twin board is, whether each wake is a host process (`board.rs`) or the board sits behind a pty
//! (`pty_board/`): its name and MAC, the supply channel it hangs on, its physics, WiFi and noise seed.

use crate::physics::Physics;

#[derive(Debug, Clone)]
pub struct TwinBoardSpec {
    pub name: String,
    pub mac: String,
    /// Index of the supply channel it hangs on (0-based).
    pub channel: usize,
    pub physics: Physics,
    pub wifi_available: bool,
    pub seed: u64,
}

impl TwinBoardSpec {
    /// A board on the first channel, with default physics and WiFi in reach.
    pub fn new(name: &str, mac: &str) -> Self {
        TwinBoardSpec {
            name: name.to_string(),
            mac: mac.to_string(),
            channel: 0,
            physics: Physics::default(),
            wifi_available: true,
            seed: 1,
        }
    }
}
