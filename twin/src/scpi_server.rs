//! The twin supply as an instrument: an SCPI server on a loopback TCP port, or on a pty as an RS-232 supply would
//! be, speaking the Rigol DP800 dialect, backed by the bench state (output follows the commands, measured current
//! follows the boards through the buck model).
//!
//! Commands (case-insensitive, short or long forms, `;` between commands on one line):
//! `*IDN?` `*RST` `*CLS` `*OPC?`, `[:SOURce<n>]:VOLTage[:LEVel][:IMMediate][:AMPLitude] <v>|MIN|MAX|DEF` and `?`,
//! the same for `:CURRent`, `:APPLy [CH<n>,]<v>[,<a>]`, `:APPLy? [CH<n>]`, `:OUTPut[:STATe] [CH<n>,]ON|OFF`,
//! `:OUTPut[:STATe]? [CH<n>]`, `:MEASure[:VOLTage][:DC]? [CH<n>]`, `:MEASure:CURRent[:DC]?`, `:MEASure:POWEr[:DC]?`,
//! `:MEASure:ALL[:DC]?`, `:INSTrument[:SELect] CH<n>` and `?`, `:INSTrument:NSELect <n>` and `?`,
//! `:OUTPut:OCP:VALue [CH<n>,]<a>|MIN|MAX` and `? [CH<n>]`, `:OUTPut:OCP[:STATe] [CH<n>,]ON|OFF` and `?`,
//! `:OUTPut:OCP:QUEStion? [CH<n>]` (`YES` once the protection switched the output off) and
//! `:OUTPut:OCP:CLEar [CH<n>]`, `:SYSTem:ERRor[:NEXT]?`. Anything else queues an SCPI error, read with
//! `SYST:ERR?`.

use super::bench_state::{BenchState, Ocp};
use super::instrument_thread::InstrumentThread;
use anyhow::{Context, Result};
use model::clock::DeviceClock;
use rig::board::serial::Tty;
use rig::supply::dialect::parse_number;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// A DP832's programmable range on every channel (30 V / 3 A, with its 10 % over-range).
const MAX_VOLTS: f64 = 32.0;
const MAX_AMPS: f64 = 3.2;
/// A DP832's over-current protection range and level after `*RST` (DP800 programming guide).
const MAX_OCP_AMPS: f64 = 3.3;
/// Device seconds a measurement is held: the DP800 refreshes its readings at about 2–3 Hz.
const REFRESH_SECS: f64 = 0.4;
/// SCPI error queue depth; when full, the newest entry becomes "Queue overflow".
const QUEUE_DEPTH: usize = 16;
/// Longer command lines are refused and the client dropped.
const MAX_LINE: usize = 4096;
const MAX_CLIENTS: usize = 16;
/// A client silent this long (wall time) is dropped, as real instruments do; drivers reconnect.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// A client that does not read its replies within this is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// The running server; dropping it stops it and closes every client connection (or its pty).
pub struct ScpiServer {
    /// The loopback socket, when it serves TCP.
    socket: Option<SocketAddr>,
    address: String,
    _thread: InstrumentThread,
}

impl ScpiServer {
    /// Serves `bench` on a free port of 127.0.0.1, from a thread of its own.
    pub async fn start(bench: Arc<BenchState>, clock: DeviceClock) -> Result<ScpiServer> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
            .context("binding the twin supply's SCPI server to a loopback port")?;
        let socket = listener.local_addr()?;
        let instrument = Arc::new(Mutex::new(Instrument::new(bench, clock)));
        let (thread, ()) = InstrumentThread::spawn("twin-scpi", move || {
            let listener = TcpListener::from_std(listener)?;
            Ok(((), serve(listener, instrument)))
        })
        .await?;
        Ok(ScpiServer {
            socket: Some(socket),
            address: format!("tcp://{socket}"),
            _thread: thread,
        })
    }

    /// Serves `bench` on a new pty, as a supply on an RS-232 port: one client at a time, lines ending in `\n`.
    pub async fn start_on_pty(bench: Arc<BenchState>, clock: DeviceClock) -> Result<ScpiServer> {
        let instrument = Arc::new(Mutex::new(Instrument::new(bench, clock)));
        let (thread, path) = InstrumentThread::spawn_on_pty("twin-scpi-pty", move |port| {
            serve_port(port, instrument)
        })
        .await?;
        Ok(ScpiServer {
            socket: None,
            address: format!("serial://{}", path.display()),
            _thread: thread,
        })
    }

    /// The loopback socket of a TCP server; None for one on a pty.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.socket
    }

    /// The address an `ScpiSupply` connects to: `tcp://127.0.0.1:PORT` or `serial:///dev/pts/N`.
    pub fn address(&self) -> String {
        self.address.clone()
    }
}

type Shared = Arc<Mutex<Instrument>>;

fn lock(instrument: &Shared) -> MutexGuard<'_, Instrument> {
    // A panic while holding the lock leaves plain numbers behind: still safe to use.
    instrument.lock().unwrap_or_else(|e| e.into_inner())
}

async fn serve(listener: TcpListener, instrument: Shared) {
    let mut clients = JoinSet::new();
    loop {
        let accepted = listener.accept().await;
        while clients.try_join_next().is_some() {}
        match accepted {
            Ok((stream, _)) if clients.len() < MAX_CLIENTS => {
                // Replies are single short lines: batching them would only add latency.
                let _ = stream.set_nodelay(true);
                clients.spawn(serve_client(stream, instrument.clone()));
            }
            Ok((_, peer)) => {
                tracing::warn!("twin supply: refusing {peer}: {MAX_CLIENTS} clients already")
            }
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("twin supply: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves the twin's end of a pty for as long as the instrument runs: a client that stays silent or overruns
/// the input buffer is "dropped" as on TCP, which on a serial line only means the next line starts afresh.
async fn serve_port(mut port: Tty, instrument: Shared) {
    loop {
        serve_client(&mut port, instrument.clone()).await;
        // The slave end is held open, so the port never ends; this only keeps a broken one from spinning.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn serve_client(stream: impl AsyncRead + AsyncWrite + Unpin, instrument: Shared) {
    let mut stream = BufReader::new(stream);
    loop {
        let mut raw = Vec::new();
        let mut limited = (&mut stream).take(MAX_LINE as u64 + 1);
        match tokio::time::timeout(IDLE_TIMEOUT, limited.read_until(b'\n', &mut raw)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return,
            Ok(Ok(_)) => {}
        }
        if raw.len() > MAX_LINE {
            lock(&instrument).push_error(INPUT_OVERRUN);
            return;
        }
        let line = String::from_utf8_lossy(&raw);
        let reply = lock(&instrument).execute(&line);
        if let Some(reply) = reply {
            let reply = format!("{reply}\n");
            let write = stream.write_all(reply.as_bytes());
            if !matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(()))) {
                return;
            }
        }
    }
}

/// An SCPI error: code and standard message.
type ScpiError = (i32, &'static str);

const SYNTAX_ERROR: ScpiError = (-102, "Syntax error");
const DATA_TYPE_ERROR: ScpiError = (-104, "Data type error");
const PARAMETER_NOT_ALLOWED: ScpiError = (-108, "Parameter not allowed");
const MISSING_PARAMETER: ScpiError = (-109, "Missing parameter");
const UNDEFINED_HEADER: ScpiError = (-113, "Undefined header");
const SUFFIX_OUT_OF_RANGE: ScpiError = (-114, "Header suffix out of range");
const DATA_OUT_OF_RANGE: ScpiError = (-222, "Data out of range");
const ILLEGAL_PARAMETER: ScpiError = (-224, "Illegal parameter value");
const QUEUE_OVERFLOW: ScpiError = (-350, "Queue overflow");
const INPUT_OVERRUN: ScpiError = (-363, "Input buffer overrun");

/// The commands the twin knows, by header pattern: `[…]` optional node, `#` numeric suffix allowed; the
/// upper-case part of a node is its short form.
const COMMANDS: &[(&str, Command)] = &[
    (
        "[SOURce#] VOLTage [LEVel] [IMMediate] [AMPLitude]",
        Command::Volts,
    ),
    (
        "[SOURce#] CURRent [LEVel] [IMMediate] [AMPLitude]",
        Command::Amps,
    ),
    ("APPLy", Command::Apply),
    ("OUTPut [STATe]", Command::Output),
    ("MEASure [VOLTage] [DC]", Command::MeasureVolts),
    ("MEASure CURRent [DC]", Command::MeasureAmps),
    ("MEASure POWEr [DC]", Command::MeasurePower),
    ("MEASure ALL [DC]", Command::MeasureAll),
    ("INSTrument [SELect]", Command::Select),
    ("INSTrument NSELect", Command::SelectNumber),
    ("OUTPut OCP [STATe]", Command::OcpState),
    ("OUTPut OCP VALue", Command::OcpLevel),
    ("OUTPut OCP QUEStion", Command::OcpTripped),
    ("OUTPut OCP CLEar", Command::OcpClear),
    ("SYSTem ERRor [NEXT]", Command::NextError),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Command {
    Volts,
    Amps,
    Apply,
    Output,
    MeasureVolts,
    MeasureAmps,
    MeasurePower,
    MeasureAll,
    Select,
    SelectNumber,
    OcpState,
    OcpLevel,
    OcpTripped,
    OcpClear,
    NextError,
}

/// One node of a command header as sent: mnemonic and numeric suffix (`SOUR1` → `SOUR`, 1).
struct Node<'a> {
    mnemonic: &'a str,
    suffix: Option<u32>,
}

/// Whether `nodes` match `pattern`; if so, the numeric suffix they carried, if any.
fn match_header(pattern: &[&str], nodes: &[Node]) -> Option<Option<u32>> {
    let Some((first, rest)) = pattern.split_first() else {
        return nodes.is_empty().then_some(None);
    };
    let optional = first.starts_with('[');
    let name = first.trim_matches(['[', ']']);
    let takes_suffix = name.ends_with('#');
    let long = name.trim_end_matches('#');
    let short: String = long.chars().filter(char::is_ascii_uppercase).collect();
    if let Some((node, remaining)) = nodes.split_first() {
        let named =
            node.mnemonic.eq_ignore_ascii_case(&short) || node.mnemonic.eq_ignore_ascii_case(long);
        if named && (takes_suffix || node.suffix.is_none()) {
            if let Some(suffix) = match_header(rest, remaining) {
                return Some(node.suffix.or(suffix));
            }
        }
    }
    if optional {
        match_header(rest, nodes)
    } else {
        None
    }
}

/// A measurement as the instrument last took it.
#[derive(Debug, Clone, Copy)]
struct Reading {
    at: f64,
    volts: f64,
    amps: f64,
}

/// The instrument's state beyond the bench: error queue, selected channel, held readings.
struct Instrument {
    bench: Arc<BenchState>,
    clock: DeviceClock,
    errors: VecDeque<ScpiError>,
    /// 0-based, for commands that name no channel.
    selected: usize,
    readings: Vec<Option<Reading>>,
    /// Each channel's over-current level, kept while its protection is off.
    ocp_levels: Vec<f64>,
}

impl Instrument {
    fn new(bench: Arc<BenchState>, clock: DeviceClock) -> Self {
        let channels = bench.channel_count();
        Instrument {
            bench,
            clock,
            errors: VecDeque::new(),
            selected: 0,
            readings: vec![None; channels],
            ocp_levels: vec![MAX_OCP_AMPS; channels],
        }
    }

    fn push_error(&mut self, error: ScpiError) {
        tracing::debug!("twin supply: SCPI error {},{:?}", error.0, error.1);
        if self.errors.len() >= QUEUE_DEPTH {
            if let Some(last) = self.errors.back_mut() {
                *last = QUEUE_OVERFLOW;
            }
        } else {
            self.errors.push_back(error);
        }
    }

    /// Runs one line of commands; returns the reply line (the queries' answers joined by `;`), if any.
    fn execute(&mut self, line: &str) -> Option<String> {
        let mut replies = Vec::new();
        for unit in line.split(';').map(str::trim).filter(|u| !u.is_empty()) {
            match self.command(unit) {
                Ok(Some(reply)) => replies.push(reply),
                Ok(None) => {}
                Err(error) => self.push_error(error),
            }
        }
        (!replies.is_empty()).then(|| replies.join(";"))
    }

    fn command(&mut self, unit: &str) -> Result<Option<String>, ScpiError> {
        let (header, args) = match unit.split_once(char::is_whitespace) {
            Some((header, args)) => (header, args.trim()),
            None => (unit, ""),
        };
        let args: Vec<&str> = if args.is_empty() {
            Vec::new()
        } else {
            args.split(',').map(str::trim).collect()
        };
        let (header, query) = match header.strip_suffix('?') {
            Some(header) => (header, true),
            None => (header, false),
        };
        if let Some(common) = header.strip_prefix('*') {
            return self.common(&common.to_ascii_uppercase(), query, &args);
        }
        let mut nodes = Vec::new();
        for node in header.strip_prefix(':').unwrap_or(header).split(':') {
            let at = node
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(node.len());
            let (mnemonic, digits) = node.split_at(at);
            if mnemonic.is_empty() || !mnemonic.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(UNDEFINED_HEADER);
            }
            let suffix = if digits.is_empty() {
                None
            } else {
                Some(digits.parse::<u32>().map_err(|_| UNDEFINED_HEADER)?)
            };
            nodes.push(Node { mnemonic, suffix });
        }
        let (command, suffix) = COMMANDS
            .iter()
            .find_map(|(pattern, command)| {
                let pattern: Vec<&str> = pattern.split_whitespace().collect();
                match_header(&pattern, &nodes).map(|suffix| (*command, suffix))
            })
            .ok_or(UNDEFINED_HEADER)?;
        let suffix_channel = match suffix {
            Some(n) => Some(self.channel_number(n).ok_or(SUFFIX_OUT_OF_RANGE)?),
            None => None,
        };
        self.run(command, query, suffix_channel, &args)
    }

    fn common(
        &mut self,
        header: &str,
        query: bool,
        args: &[&str],
    ) -> Result<Option<String>, ScpiError> {
        if !args.is_empty() {
            return Err(PARAMETER_NOT_ALLOWED);
        }
        match (header, query) {
            ("IDN", true) => Ok(Some(format!(
                "HIL-TWIN,DP800-TWIN,0,{}",
                env!("CARGO_PKG_VERSION")
            ))),
            ("RST", false) => {
                for channel in 0..self.readings.len() {
                    self.bench.update_channel(channel, |c| {
                        c.set_volts = 0.0;
                        c.limit_amps = MAX_AMPS;
                        c.output_on = false;
                        c.ocp = Ocp::Off;
                    });
                }
                self.selected = 0;
                self.readings.fill(None);
                self.ocp_levels.fill(MAX_OCP_AMPS);
                Ok(None)
            }
            ("CLS", false) => {
                self.errors.clear();
                Ok(None)
            }
            ("OPC", true) => Ok(Some("1".into())),
            ("OPC", false) => Ok(None),
            _ => Err(UNDEFINED_HEADER),
        }
    }

    /// A 1-based channel number, if the bench has it, as a 0-based index.
    fn channel_number(&self, n: u32) -> Option<usize> {
        let index = usize::try_from(n).ok()?.checked_sub(1)?;
        (index < self.readings.len()).then_some(index)
    }

    /// A `CH<n>` parameter.
    fn channel_arg(&self, arg: &str) -> Result<usize, ScpiError> {
        let digits = arg
            .get(..2)
            .filter(|prefix| prefix.eq_ignore_ascii_case("CH"))
            .map(|_| &arg[2..])
            .ok_or(ILLEGAL_PARAMETER)?;
        digits
            .parse::<u32>()
            .ok()
            .and_then(|n| self.channel_number(n))
            .ok_or(ILLEGAL_PARAMETER)
    }

    /// The channel named by an optional leading `CH<n>` parameter, else the selected one, and the value after it.
    fn channel_and_value<'a>(&self, args: &[&'a str]) -> Result<(usize, &'a str), ScpiError> {
        match args {
            [] => Err(MISSING_PARAMETER),
            [value] => Ok((self.selected, value)),
            [channel, value] => Ok((self.channel_arg(channel)?, value)),
            _ => Err(PARAMETER_NOT_ALLOWED),
        }
    }

    /// The channel named by an optional lone `CH<n>` parameter, else the selected one.
    fn channel_of(&self, args: &[&str]) -> Result<usize, ScpiError> {
        match args {
            [] => Ok(self.selected),
            [channel] => self.channel_arg(channel),
            _ => Err(PARAMETER_NOT_ALLOWED),
        }
    }

    fn run(
        &mut self,
        command: Command,
        query: bool,
        suffix_channel: Option<usize>,
        args: &[&str],
    ) -> Result<Option<String>, ScpiError> {
        let ch = suffix_channel.unwrap_or(self.selected);
        match (command, query) {
            (Command::Volts, false) => {
                let volts = setting(one(args)?, MAX_VOLTS, 0.0)?;
                self.bench.update_channel(ch, |c| c.set_volts = volts);
                Ok(None)
            }
            (Command::Volts, true) => {
                no_args(args)?;
                Ok(Some(format!("{:.3}", self.bench.channel(ch).set_volts)))
            }
            (Command::Amps, false) => {
                let amps = setting(one(args)?, MAX_AMPS, MAX_AMPS)?;
                self.bench.update_channel(ch, |c| c.limit_amps = amps);
                Ok(None)
            }
            (Command::Amps, true) => {
                no_args(args)?;
                Ok(Some(format!("{:.4}", self.bench.channel(ch).limit_amps)))
            }
            (Command::Apply, false) => {
                let (ch, values) = match args.split_first() {
                    Some((first, rest)) if first.to_ascii_uppercase().starts_with("CH") => {
                        (self.channel_arg(first)?, rest)
                    }
                    _ => (self.selected, args),
                };
                let (volts, amps) = match values {
                    [] => return Err(MISSING_PARAMETER),
                    [v] => (setting(v, MAX_VOLTS, 0.0)?, None),
                    [v, a] => (
                        setting(v, MAX_VOLTS, 0.0)?,
                        Some(setting(a, MAX_AMPS, MAX_AMPS)?),
                    ),
                    _ => return Err(PARAMETER_NOT_ALLOWED),
                };
                self.bench.update_channel(ch, |c| {
                    c.set_volts = volts;
                    if let Some(amps) = amps {
                        c.limit_amps = amps;
                    }
                });
                Ok(None)
            }
            (Command::Apply, true) => {
                let ch = self.channel_of(args)?;
                let state = self.bench.channel(ch);
                Ok(Some(format!(
                    "CH{}:30V/3A,{:.3},{:.4}",
                    ch + 1,
                    state.set_volts,
                    state.limit_amps
                )))
            }
            (Command::Output, false) => {
                let (ch, state) = self.channel_and_value(args)?;
                let on = switch(state)?;
                self.bench.update_channel(ch, |c| c.output_on = on);
                Ok(None)
            }
            (Command::Output, true) => {
                let ch = self.channel_of(args)?;
                let on = self.bench.channel(ch).output_on;
                Ok(Some(if on { "ON" } else { "OFF" }.into()))
            }
            (Command::MeasureVolts, true) => {
                let r = self.reading(self.channel_of(args)?);
                Ok(Some(format!("{:.3}", r.volts)))
            }
            (Command::MeasureAmps, true) => {
                let r = self.reading(self.channel_of(args)?);
                Ok(Some(format!("{:.4}", r.amps)))
            }
            (Command::MeasurePower, true) => {
                let r = self.reading(self.channel_of(args)?);
                Ok(Some(format!("{:.3}", r.volts * r.amps)))
            }
            (Command::MeasureAll, true) => {
                let r = self.reading(self.channel_of(args)?);
                Ok(Some(format!(
                    "{:.3},{:.4},{:.3}",
                    r.volts,
                    r.amps,
                    r.volts * r.amps
                )))
            }
            (Command::Select, false) => {
                self.selected = self.channel_arg(one(args)?)?;
                Ok(None)
            }
            (Command::Select, true) => {
                no_args(args)?;
                Ok(Some(format!("CH{}", self.selected + 1)))
            }
            (Command::SelectNumber, false) => {
                let n = one(args)?.parse::<u32>().map_err(|_| DATA_TYPE_ERROR)?;
                self.selected = self.channel_number(n).ok_or(DATA_OUT_OF_RANGE)?;
                Ok(None)
            }
            (Command::SelectNumber, true) => {
                no_args(args)?;
                Ok(Some((self.selected + 1).to_string()))
            }
            (Command::OcpState, false) => {
                let (ch, state) = self.channel_and_value(args)?;
                let ocp = if switch(state)? {
                    Ocp::Level(self.ocp_levels[ch])
                } else {
                    Ocp::Off
                };
                self.bench.update_channel(ch, |c| c.ocp = ocp);
                Ok(None)
            }
            (Command::OcpState, true) => {
                let ch = self.channel_of(args)?;
                let on = self.bench.channel(ch).ocp != Ocp::Off;
                Ok(Some(if on { "ON" } else { "OFF" }.into()))
            }
            (Command::OcpLevel, false) => {
                let (ch, value) = self.channel_and_value(args)?;
                let amps = setting(value, MAX_OCP_AMPS, MAX_OCP_AMPS)?;
                self.ocp_levels[ch] = amps;
                self.bench.update_channel(ch, |c| {
                    if c.ocp != Ocp::Off {
                        c.ocp = Ocp::Level(amps);
                    }
                });
                Ok(None)
            }
            (Command::OcpLevel, true) => {
                let ch = self.channel_of(args)?;
                Ok(Some(format!("{:.4}", self.ocp_levels[ch])))
            }
            (Command::OcpTripped, true) => {
                let ch = self.channel_of(args)?;
                let tripped = self.bench.channel(ch).ocp_tripped;
                Ok(Some(if tripped { "YES" } else { "NO" }.into()))
            }
            (Command::OcpClear, false) => {
                let ch = self.channel_of(args)?;
                self.bench.update_channel(ch, |c| c.ocp_tripped = false);
                Ok(None)
            }
            (Command::NextError, true) => {
                no_args(args)?;
                let (code, message) = self.errors.pop_front().unwrap_or((0, "No error"));
                Ok(Some(format!("{code},\"{message}\"")))
            }
            // Query-only commands sent without `?`, and the reverse.
            (_, _) => Err(UNDEFINED_HEADER),
        }
    }

    /// The channel's reading, taken afresh once the last one is older than the refresh interval.
    fn reading(&mut self, ch: usize) -> Reading {
        let now = self.clock.now();
        match self.readings[ch] {
            Some(held) if now - held.at < REFRESH_SECS => held,
            _ => {
                let fresh = Reading {
                    at: now,
                    volts: self.bench.measured_volts(ch),
                    amps: self.bench.measured_amps(ch),
                };
                self.readings[ch] = Some(fresh);
                fresh
            }
        }
    }
}

fn one<'a>(args: &[&'a str]) -> Result<&'a str, ScpiError> {
    match args {
        [] => Err(MISSING_PARAMETER),
        [""] => Err(SYNTAX_ERROR),
        [arg] => Ok(arg),
        _ => Err(PARAMETER_NOT_ALLOWED),
    }
}

/// A boolean parameter: `ON`, `OFF`, `1` or `0`.
fn switch(arg: &str) -> Result<bool, ScpiError> {
    match arg.to_ascii_uppercase().as_str() {
        "ON" | "1" => Ok(true),
        "OFF" | "0" => Ok(false),
        _ => Err(ILLEGAL_PARAMETER),
    }
}

fn no_args(args: &[&str]) -> Result<(), ScpiError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(PARAMETER_NOT_ALLOWED)
    }
}

/// A numeric setting in `0..=max`: a number, `MIN`, `MAX` or `DEF` (its value after `*RST`).
fn setting(arg: &str, max: f64, default: f64) -> Result<f64, ScpiError> {
    let keyword =
        |short: &str, long: &str| arg.eq_ignore_ascii_case(short) || arg.eq_ignore_ascii_case(long);
    if keyword("MIN", "MINimum") {
        return Ok(0.0);
    }
    if keyword("MAX", "MAXimum") {
        return Ok(max);
    }
    if keyword("DEF", "DEFault") {
        return Ok(default);
    }
    let value = parse_number(arg).ok_or(DATA_TYPE_ERROR)?;
    if (0.0..=max).contains(&value) {
        Ok(value)
    } else {
        Err(DATA_OUT_OF_RANGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LoadState, Physics};

    fn instrument(speed: f64) -> Instrument {
        Instrument::new(Arc::new(BenchState::new(3)), DeviceClock::start(speed))
    }

    fn ask(i: &mut Instrument, line: &str) -> String {
        i.execute(line)
            .unwrap_or_else(|| panic!("no reply to {line:?}"))
    }

    #[test]
    fn settings_reach_the_bench_in_short_and_long_forms_any_case() {
        let mut i = instrument(1.0);
        assert_eq!(i.execute(":SOUR1:VOLT 12.6"), None);
        assert_eq!(
            i.execute(":source2:voltage:level:immediate:amplitude 5"),
            None
        );
        assert_eq!(i.execute(":Sour3:Curr 0.25\r\n"), None);
        assert_eq!(i.execute(":OUTP CH1,ON"), None);
        assert_eq!(i.bench.channel(0).set_volts, 12.6);
        assert_eq!(i.bench.channel(1).set_volts, 5.0);
        assert_eq!(i.bench.channel(2).limit_amps, 0.25);
        assert!(i.bench.channel(0).output_on);
        assert_eq!(ask(&mut i, ":SOUR1:VOLT?"), "12.600");
        assert_eq!(ask(&mut i, "SOURCE3:CURRENT?"), "0.2500");
        assert_eq!(ask(&mut i, ":outp? ch1"), "ON");
        assert_eq!(ask(&mut i, ":OUTPut:STATe? CH2"), "OFF");
        assert_eq!(ask(&mut i, "SYST:ERR?"), "0,\"No error\"");
    }

    #[test]
    fn apply_sets_both_and_reads_back() {
        let mut i = instrument(1.0);
        assert_eq!(i.execute(":APPL CH2,13.8,0.5"), None);
        assert_eq!(ask(&mut i, ":APPL? CH2"), "CH2:30V/3A,13.800,0.5000");
        assert_eq!(i.execute(":INST CH2; :APPL 12"), None);
        assert_eq!(i.bench.channel(1).set_volts, 12.0);
        assert_eq!(i.bench.channel(1).limit_amps, 0.5);
        assert_eq!(ask(&mut i, ":INST?;:INST:NSEL?"), "CH2;2");
    }

    #[test]
    fn measurements_follow_the_boards_through_the_buck_and_are_held_between_refreshes() {
        let mut i = instrument(1.0);
        let board = i.bench.add_board(0, Physics::default());
        i.execute(":APPL CH1,12,1; :OUTP CH1,ON");
        i.bench.set_load(board, LoadState::Awake);
        let awake = Physics::default().supply_amps(12.0, crate::physics::LoadAmps::Awake);
        assert_eq!(
            ask(&mut i, ":MEAS:ALL? CH1"),
            format!("12.000,{awake:.4},{:.3}", 12.0 * awake)
        );
        assert_eq!(ask(&mut i, ":MEAS? CH1"), "12.000");
        i.bench.set_load(board, LoadState::Asleep);
        assert_eq!(
            ask(&mut i, ":MEAS:CURR? CH1"),
            format!("{awake:.4}"),
            "held until the next refresh"
        );

        let mut fast = instrument(1000.0);
        fast.execute(":APPL CH1,12,1; :OUTP CH1,ON");
        assert_eq!(ask(&mut fast, ":MEAS:VOLT? CH1"), "12.000");
        fast.execute(":OUTP CH1,OFF");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(ask(&mut fast, ":MEAS:VOLT? CH1"), "0.000", "refreshed");
    }

    #[test]
    fn over_current_protection_trips_reports_and_clears() {
        let mut i = instrument(1.0);
        let board = i.bench.add_board(1, Physics::default());
        assert_eq!(ask(&mut i, ":OUTP:OCP? CH2"), "OFF");
        assert_eq!(ask(&mut i, ":OUTP:OCP:VAL? CH2"), "3.3000");
        i.execute(":APPL CH2,12,1; :OUTP:OCP:VAL CH2,0.01; :OUTP:OCP CH2,ON; :OUTP CH2,ON");
        assert_eq!(
            ask(&mut i, ":OUTP:OCP? CH2;:OUTP:OCP:VAL? CH2"),
            "ON;0.0100"
        );
        assert_eq!(ask(&mut i, ":OUTP:OCP:QUES? CH2"), "NO");
        i.bench.set_load(board, LoadState::Asleep);
        assert_eq!(
            ask(&mut i, ":OUTP? CH2"),
            "ON",
            "asleep draws less than the level"
        );
        i.bench.set_load(board, LoadState::Awake);
        assert_eq!(ask(&mut i, ":OUTP? CH2;:OUTP:OCP:QUES? CH2"), "OFF;YES");
        i.execute(":INST CH2; :OUTP:OCP:CLE");
        assert_eq!(ask(&mut i, ":OUTP:OCP:QUES? CH2"), "NO");
        i.execute(":OUTP:OCP:VAL CH2,MAX; :OUTP CH2,ON");
        assert_eq!(ask(&mut i, ":OUTP? CH2;:OUTP:OCP:QUES? CH2"), "ON;NO");
        i.execute(":OUTP:OCP CH2,OFF; :OUTP:OCP:VAL CH2,0.001");
        assert_eq!(
            ask(&mut i, ":OUTP? CH2"),
            "ON",
            "a level changed while off arms nothing"
        );
        for bad in [
            ":OUTP:OCP:VAL CH2,9",
            ":OUTP:OCP CH2,MAYBE",
            ":OUTP:OCP:QUES CH2",
        ] {
            i.execute(bad);
        }
        assert_eq!(ask(&mut i, "SYST:ERR?"), "-222,\"Data out of range\"");
        assert_eq!(ask(&mut i, "SYST:ERR?"), "-224,\"Illegal parameter value\"");
        assert_eq!(ask(&mut i, "SYST:ERR?"), "-113,\"Undefined header\"");
        assert_eq!(ask(&mut i, "SYST:ERR?"), "0,\"No error\"");
    }

    #[test]
    fn errors_queue_in_order_and_nothing_crashes() {
        let mut i = instrument(1.0);
        for bad in [
            "FOO",
            ":SOUR1:VOLT 99",
            ":SOUR1:VOLT abc",
            ":SOUR1:VOLT",
            ":SOUR9:VOLT 1",
            ":OUTP CH7,ON",
            ":OUTP CH1,MAYBE",
            ":MEAS:VOLT CH1",
            "*IDN",
            ":SOUR1:VOLT 1,2",
            "\u{fffd}\u{0}:::",
        ] {
            assert_eq!(i.execute(bad), None, "{bad:?}");
        }
        let expected = [
            "-113,\"Undefined header\"",
            "-222,\"Data out of range\"",
            "-104,\"Data type error\"",
            "-109,\"Missing parameter\"",
            "-114,\"Header suffix out of range\"",
            "-224,\"Illegal parameter value\"",
            "-224,\"Illegal parameter value\"",
            "-113,\"Undefined header\"",
            "-113,\"Undefined header\"",
            "-108,\"Parameter not allowed\"",
            "-113,\"Undefined header\"",
            "0,\"No error\"",
        ];
        for want in expected {
            assert_eq!(ask(&mut i, "SYST:ERR?"), want);
        }
        assert_eq!(i.bench.channel(0), Default::default(), "nothing applied");
    }

    #[test]
    fn a_full_queue_ends_in_overflow_and_cls_clears_it() {
        let mut i = instrument(1.0);
        for _ in 0..20 {
            i.execute("NOPE");
        }
        assert_eq!(i.errors.len(), QUEUE_DEPTH);
        assert_eq!(i.errors.back(), Some(&QUEUE_OVERFLOW));
        i.execute("*CLS");
        assert_eq!(ask(&mut i, "SYST:ERR?"), "0,\"No error\"");
    }

    #[test]
    fn random_lines_never_panic() {
        use rand::{rngs::SmallRng, Rng, SeedableRng};
        let alphabet: Vec<char> = ":;,?* \t\r\n0123456789.-+eE#\"CHVOLTSURMEASPLINYE\u{e9}\u{0}"
            .chars()
            .collect();
        let mut rng = SmallRng::seed_from_u64(11);
        let mut i = instrument(1000.0);
        for _ in 0..5000 {
            let len = rng.random_range(0..40);
            let line: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect();
            i.execute(&line);
            assert!(i.errors.len() <= QUEUE_DEPTH);
        }
    }

    #[test]
    fn common_commands() {
        let mut i = instrument(1.0);
        assert!(ask(&mut i, "*idn?").starts_with("HIL-TWIN,DP800-TWIN,"));
        assert_eq!(ask(&mut i, "*OPC?"), "1");
        i.execute(":APPL CH1,12,0.5;:OUTP CH1,ON;*RST");
        let reset = i.bench.channel(0);
        assert!(!reset.output_on);
        assert_eq!(reset.set_volts, 0.0);
        assert_eq!(reset.limit_amps, MAX_AMPS);
    }
}
