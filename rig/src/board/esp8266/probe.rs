//! Asking the chip on a port for its MAC through the ROM loader, for finding a board by MAC.

use super::flasher::Flasher;
use super::BAUD;
use crate::board::locate::{ProbeError, ProbeMac};
use crate::board::reset_lines::{reset_into_loader, reset_to_run, ResetLines};
use crate::board::serial::Tty;
use crate::board::Mac;
use async_trait::async_trait;
use std::path::Path;
use std::sync::Arc;

pub struct RomLoaderProbe;

#[async_trait]
impl ProbeMac for RomLoaderProbe {
    /// Resets the chip into its loader and reads its MAC. The chip is left in its loader when it is `want` (the
    /// next step needs it there) and reset back into its app otherwise.
    async fn probe(
        &self,
        port: &Path,
        board: &str,
        lines: Option<&Arc<dyn ResetLines>>,
        want: Mac,
    ) -> Result<Mac, ProbeError> {
        let port_error = |step, error| ProbeError::Port {
            board: board.to_string(),
            port: port.to_path_buf(),
            step,
            error,
        };
        let tty = Tty::open(port, BAUD)
            .await
            .map_err(|e| port_error("opening", e))?;
        let own_lines;
        let lines: &dyn ResetLines = match lines {
            Some(l) => l.as_ref(),
            None => {
                own_lines = tty
                    .modem_lines()
                    .map_err(|e| port_error("taking DTR/RTS of", e))?;
                &own_lines
            }
        };
        reset_into_loader(lines).await?;
        let asked = async {
            let mut f = Flasher::connect(tty, board).await?;
            f.check_chip().await?;
            f.read_mac().await
        }
        .await;
        if !matches!(asked, Ok(mac) if mac == want) {
            // Best effort: a chip that is not this board goes back to what it was doing.
            let _ = reset_to_run(lines).await;
        }
        Ok(asked?)
    }
}
