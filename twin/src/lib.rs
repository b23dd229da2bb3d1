//! The twin bench: simulated supplies and simulated ESP8266 boards that run the real firmware files, each behind
//! the wire protocol its real counterpart speaks, so the `rig` drivers drive them unchanged.

mod bench_state;
mod board;
mod board_spec;
mod control;
pub mod fork_server;
mod host_command;
pub mod host_process;
mod instrument_thread;
mod korad_twin;
pub mod physics;
pub mod pty_board;
mod pty_instrument;
mod reset_cause;
mod riden_twin;
pub mod runtime;
mod scpi_server;

pub use bench_state::{BenchState, ChannelState, LoadState, Ocp};
pub use board::TwinBoard;
pub use board_spec::TwinBoardSpec;
pub use korad_twin::korad_on_pty;
pub use physics::Physics;
pub use pty_instrument::PtyInstrument;
pub use riden_twin::riden_on_pty;
pub use runtime::{FirmwareRuntime, HeapReport, ImageVariant};
pub use scpi_server::ScpiServer;
