//! The twin bench: a simulated supply and simulated ESP8266 boards that run the real firmware files.

mod bench_state;
mod board;
mod control;
pub mod physics;
pub mod pty_board;
mod scpi_server;

pub use bench_state::{BenchState, ChannelState, LoadState};
pub use board::{TwinBoard, TwinBoardSpec};
pub use physics::Physics;
pub use scpi_server::ScpiServer;
