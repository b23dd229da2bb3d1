//! A board's reset (EN) and boot (GPIO0) pins as a NodeMCU-style auto-reset circuit drives them from DTR and
//! RTS: real ports through the modem lines, twin ports (ptys, which have none) through a side channel.

use super::serial::ModemLines;
use async_trait::async_trait;
use std::time::Duration;
use thiserror::Error;

/// DTR and RTS as the host sets them (true = asserted).
#[async_trait]
pub trait ResetLines: Send + Sync {
    async fn set(&self, dtr: bool, rts: bool) -> Result<(), LinesError>;
}

/// Why the reset lines were not set.
#[derive(Debug, Error)]
pub enum LinesError {
    #[error("setting DTR/RTS: {0} (a pty has no modem lines: give the board a side channel)")]
    Modem(std::io::Error),
    #[error("{board}: lines address {address:?} is not tcp://HOST:PORT")]
    Address { board: String, address: String },
    #[error("{board}: no answer from its reset lines at {address} within {} s", within.as_secs())]
    NoAnswer {
        board: String,
        address: String,
        within: Duration,
    },
    #[error("{board}: setting reset lines at {address}: {error}")]
    Link {
        board: String,
        address: String,
        error: std::io::Error,
    },
    #[error("{board}: reset lines at {address} answered {answer:?}")]
    Refused {
        board: String,
        address: String,
        answer: String,
    },
    /// A twin board's lines go with the board.
    #[error("{board}: the twin board has stopped")]
    Stopped { board: String },
    /// The server side (a twin board's side channel) could not listen.
    #[error("binding a reset-lines side channel: {error}")]
    Serve { error: std::io::Error },
}

/// The pin levels the two transistors of the auto-reset circuit make of DTR and RTS: the chip is held in reset
/// while RTS alone is asserted, and GPIO0 is pulled low while DTR alone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pins {
    pub en_high: bool,
    pub gpio0_high: bool,
}

impl Pins {
    pub fn from_lines(dtr: bool, rts: bool) -> Pins {
        Pins {
            en_high: !rts || dtr,
            gpio0_high: !dtr || rts,
        }
    }
}

/// Resets the chip with GPIO0 low, so it starts in the ROM serial loader.
pub async fn reset_into_loader(lines: &dyn ResetLines) -> Result<(), LinesError> {
    lines.set(false, true).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    lines.set(true, false).await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    lines.set(false, false).await
}

/// Resets the chip with GPIO0 high, so it boots the image in flash.
pub async fn reset_to_run(lines: &dyn ResetLines) -> Result<(), LinesError> {
    lines.set(false, true).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    lines.set(false, false).await
}

#[async_trait]
impl ResetLines for ModemLines {
    async fn set(&self, dtr: bool, rts: bool) -> Result<(), LinesError> {
        ModemLines::set(self, dtr, rts).map_err(LinesError::Modem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Recorder(Mutex<Vec<Pins>>);

    #[async_trait]
    impl ResetLines for Recorder {
        async fn set(&self, dtr: bool, rts: bool) -> Result<(), LinesError> {
            self.0.lock().unwrap().push(Pins::from_lines(dtr, rts));
            Ok(())
        }
    }

    #[tokio::test]
    async fn loader_reset_releases_en_while_gpio0_is_low() {
        let r = Recorder(Mutex::new(Vec::new()));
        reset_into_loader(&r).await.unwrap();
        let pins = r.0.lock().unwrap().clone();
        assert_eq!(
            pins,
            vec![
                Pins {
                    en_high: false,
                    gpio0_high: true
                },
                Pins {
                    en_high: true,
                    gpio0_high: false
                },
                Pins {
                    en_high: true,
                    gpio0_high: true
                },
            ]
        );
        let r = Recorder(Mutex::new(Vec::new()));
        reset_to_run(&r).await.unwrap();
        let pins = r.0.lock().unwrap().clone();
        assert_eq!(
            pins.last(),
            Some(&Pins {
                en_high: true,
                gpio0_high: true
            })
        );
        assert!(!pins[0].en_high);
    }
}
