//! What a person at a terminal sees while `hil run --rig` finds, flashes and deploys boards (tens of seconds on
//! real boards): per board a spinner while it is looked for, then a bar with bytes and time left for its flash
//! and its deploy. Drawn on stderr only when that is a terminal (indicatif hides it otherwise), never with
//! `--quiet`; the flasher and deployer report through callbacks and never print.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use rig::board::Progress;
use std::time::Duration;

const SPINNER: &str = "{spinner} {prefix}: {msg}";
const BYTES: &str = "{prefix}: {msg} [{bar:30}] {bytes}/{total_bytes} ({eta} left)";
const TICK: Duration = Duration::from_millis(120);

/// The bars of one provisioning, one line per board.
pub struct ProvisionProgress {
    bars: MultiProgress,
}

impl ProvisionProgress {
    /// `shown`: drawn (on a terminal); false: hidden whatever stderr is.
    pub fn new(shown: bool) -> ProvisionProgress {
        let target = if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        ProvisionProgress {
            bars: MultiProgress::with_draw_target(target),
        }
    }

    /// A line for board `name`.
    pub fn board(&self, name: &str) -> BoardProgress {
        let bar = self.bars.add(ProgressBar::hidden());
        bar.set_style(style(SPINNER));
        bar.set_prefix(name.to_string());
        bar.set_message("waiting for a free slot");
        BoardProgress { bar }
    }
}

/// One board's line: a spinner while it is found, a byte bar while it is flashed or deployed.
pub struct BoardProgress {
    bar: ProgressBar,
}

impl BoardProgress {
    pub fn finding(&self) {
        self.bar.set_style(style(SPINNER));
        self.bar.set_message("finding it by MAC");
        self.bar.enable_steady_tick(TICK);
    }

    /// Starts a byte bar for `step` ("flashing", "deploying"), its time left estimated from here.
    pub fn start(&self, step: &'static str) {
        self.bar.disable_steady_tick();
        self.bar.set_style(style(BYTES));
        self.bar.set_message(step);
        self.bar.set_length(0);
        self.bar.reset();
    }

    pub fn update(&self, p: Progress) {
        self.bar.set_length(p.total as u64);
        self.bar.set_position(p.written as u64);
    }

    /// Ends the line with what became of the board.
    pub fn done(&self, outcome: String) {
        self.bar.disable_steady_tick();
        self.bar.set_style(style(SPINNER));
        self.bar.finish_with_message(outcome);
    }
}

fn style(template: &str) -> ProgressStyle {
    // Our templates are constants: a bad one is a bug caught by the tests below, not input.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        for t in [SPINNER, BYTES] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }

    #[test]
    fn a_hidden_board_line_follows_its_steps() {
        let progress = ProvisionProgress::new(false);
        let board = progress.board("esp-a");
        board.finding();
        board.start("flashing");
        board.update(Progress {
            written: 4096,
            total: 8192,
        });
        assert_eq!(
            (board.bar.position(), board.bar.length()),
            (4096, Some(8192))
        );
        board.start("deploying");
        assert_eq!(board.bar.position(), 0, "a new step starts from nothing");
        board.done("ready".into());
        assert!(board.bar.is_finished());
    }
}
