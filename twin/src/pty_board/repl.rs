//! The twin's MicroPython REPL as a byte-level state machine: friendly mode (echo, one line at a time), raw
//! mode (Ctrl-A: code until Ctrl-D, answered `OK`…`\x04`…`\x04>`) and raw-paste (`\x05A\x01`, windowed flow
//! control). Pure: bytes in, output and requests to run code out; the board runs the code.

/// Flow-control window offered in raw-paste mode (MicroPython's default stdin buffer).
pub const PASTE_WINDOW: u16 = 256;
/// Code beyond this is refused, as a board would run out of heap.
const MAX_CODE: usize = 1 << 20;

/// As the VM's boot prints it when main.py ends (firmware/host/micropython/hil_main.py): one banner on one port.
pub const BANNER: &str = "MicroPython v1.22.2 on 2024-02-22; ESP module with ESP8266\r\nType \"help()\" for more information.\r\n";
pub const RAW_BANNER: &str = "raw REPL; CTRL-B to exit\r\n>";
pub const PROMPT: &str = ">>> ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecKind {
    /// One friendly-REPL line: expressions echo their value.
    Line,
    /// Raw mode: `OK` was sent; output then `\x04`, traceback, `\x04>`.
    Raw,
    /// Raw-paste: `\x04` was sent as the end-of-data acknowledgement; then as raw.
    Paste,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Out(Vec<u8>),
    Exec(ExecKind, Vec<u8>),
    /// Ctrl-D on an empty buffer: friendly mode reboots into the app, raw mode into the raw REPL.
    SoftReboot {
        raw: bool,
    },
}

#[derive(Debug)]
enum Mode {
    Friendly(Vec<u8>),
    /// `header`: how many bytes of the `\x05A\x01` raw-paste request have arrived.
    Raw {
        code: Vec<u8>,
        header: usize,
    },
    Paste {
        code: Vec<u8>,
        since_ack: usize,
    },
}

#[derive(Debug)]
pub struct Repl {
    mode: Mode,
}

impl Default for Repl {
    fn default() -> Self {
        Repl {
            mode: Mode::Friendly(Vec::new()),
        }
    }
}

fn out(s: &[u8]) -> Option<Step> {
    Some(Step::Out(s.to_vec()))
}

impl Repl {
    /// What the board prints when it arrives at the friendly REPL.
    pub fn greeting() -> Vec<u8> {
        format!("{BANNER}{PROMPT}").into_bytes()
    }

    pub fn is_raw(&self) -> bool {
        !matches!(self.mode, Mode::Friendly(_))
    }

    /// After a soft reboot in raw mode the board comes back to the raw REPL.
    pub fn enter_raw(&mut self) {
        self.mode = Mode::Raw {
            code: Vec::new(),
            header: 0,
        };
    }

    pub fn enter_friendly(&mut self) {
        self.mode = Mode::Friendly(Vec::new());
    }

    /// One byte from the host.
    pub fn feed(&mut self, byte: u8) -> Option<Step> {
        match &mut self.mode {
            Mode::Friendly(line) => match byte {
                0x01 => {
                    self.enter_raw();
                    Some(Step::Out(format!("\r\n{RAW_BANNER}").into_bytes()))
                }
                0x02 => {
                    line.clear();
                    Some(Step::Out(format!("\r\n{BANNER}{PROMPT}").into_bytes()))
                }
                0x03 => {
                    line.clear();
                    Some(Step::Out(format!("\r\n{PROMPT}").into_bytes()))
                }
                0x04 if line.is_empty() => Some(Step::SoftReboot { raw: false }),
                b'\r' => {
                    let code = std::mem::take(line);
                    if code.iter().all(u8::is_ascii_whitespace) {
                        return Some(Step::Out(format!("\r\n{PROMPT}").into_bytes()));
                    }
                    Some(Step::Exec(ExecKind::Line, code))
                }
                0x08 | 0x7F => line.pop().and_then(|_| out(b"\x08 \x08")),
                b'\n' => None,
                b if b >= 0x20 || b == b'\t' => {
                    if line.len() < MAX_CODE {
                        line.push(b);
                    }
                    out(&[b])
                }
                _ => None,
            },
            Mode::Raw { code, header } => {
                // `\x05A\x01` as the first bytes asks for raw-paste.
                let expected = [0x05, b'A', 0x01];
                if code.is_empty() && *header < 3 {
                    if byte == expected[*header] {
                        *header += 1;
                        if *header < 3 {
                            return None;
                        }
                        self.mode = Mode::Paste {
                            code: Vec::new(),
                            since_ack: 0,
                        };
                        let mut reply = b"R\x01".to_vec();
                        reply.extend(PASTE_WINDOW.to_le_bytes());
                        reply.push(0x01);
                        return Some(Step::Out(reply));
                    }
                    if *header > 0 {
                        // A broken request: say raw-paste is not on offer and carry on in raw mode.
                        *header = 0;
                        return out(b"R\x00");
                    }
                }
                match byte {
                    0x01 => {
                        code.clear();
                        *header = 0;
                        Some(Step::Out(format!("\r\n{RAW_BANNER}").into_bytes()))
                    }
                    0x02 => {
                        self.enter_friendly();
                        Some(Step::Out(format!("\r\n{BANNER}{PROMPT}").into_bytes()))
                    }
                    0x03 => {
                        code.clear();
                        *header = 0;
                        None
                    }
                    0x04 if code.is_empty() => Some(Step::SoftReboot { raw: true }),
                    0x04 => {
                        let code = std::mem::take(code);
                        *header = 0;
                        Some(Step::Exec(ExecKind::Raw, code))
                    }
                    b => {
                        if code.len() < MAX_CODE {
                            code.push(b);
                        }
                        None
                    }
                }
            }
            Mode::Paste { code, since_ack } => {
                if byte == 0x04 {
                    let code = std::mem::take(code);
                    self.enter_raw();
                    return Some(Step::Exec(ExecKind::Paste, code));
                }
                if code.len() < MAX_CODE {
                    code.push(byte);
                }
                *since_ack += 1;
                if *since_ack == usize::from(PASTE_WINDOW) {
                    *since_ack = 0;
                    return out(&[0x01]);
                }
                None
            }
        }
    }

    /// What the board prints when a run ends (`error`: the traceback, empty on success).
    pub fn finish(&self, kind: ExecKind, error: &[u8]) -> Vec<u8> {
        match kind {
            ExecKind::Line => {
                let mut v = error.to_vec();
                v.extend(PROMPT.as_bytes());
                v
            }
            ExecKind::Raw | ExecKind::Paste => {
                let mut v = vec![0x04];
                v.extend(error);
                v.extend(b"\x04>");
                v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(r: &mut Repl, bytes: &[u8]) -> Vec<Step> {
        bytes.iter().filter_map(|&b| r.feed(b)).collect()
    }

    #[test]
    fn the_banner_is_the_vms() {
        let vm = include_str!("../../../firmware/host/micropython/hil_main.py");
        // As the Python source spells it: `\n` line ends, in single quotes.
        let greeting = String::from_utf8(Repl::greeting()).unwrap();
        let source = format!("BANNER = '{}'", greeting.replace("\r\n", "\\n"));
        assert!(vm.contains(&source), "hil_main.py has no {source}");
    }

    #[test]
    fn friendly_echoes_and_runs_a_line() {
        let mut r = Repl::default();
        let steps = feed_all(&mut r, b"1+x\x7f1\r");
        assert_eq!(steps[0], Step::Out(b"1".to_vec()));
        assert_eq!(steps[3], Step::Out(b"\x08 \x08".to_vec()));
        assert_eq!(
            steps.last(),
            Some(&Step::Exec(ExecKind::Line, b"1+1".to_vec()))
        );
        assert_eq!(r.finish(ExecKind::Line, b""), b">>> ");
        assert_eq!(
            feed_all(&mut r, b"\x04"),
            vec![Step::SoftReboot { raw: false }]
        );
    }

    #[test]
    fn raw_mode_collects_code_until_ctrl_d() {
        let mut r = Repl::default();
        let steps = feed_all(&mut r, b"\r\x01");
        assert_eq!(
            steps.last(),
            Some(&Step::Out(format!("\r\n{RAW_BANNER}").into_bytes()))
        );
        assert!(r.is_raw());
        let steps = feed_all(&mut r, b"print(1)\x04");
        assert_eq!(steps, vec![Step::Exec(ExecKind::Raw, b"print(1)".to_vec())]);
        assert_eq!(r.finish(ExecKind::Raw, b"E"), b"\x04E\x04>");
        assert_eq!(
            feed_all(&mut r, b"junk\x03\x04"),
            vec![Step::SoftReboot { raw: true }]
        );
        let steps = feed_all(&mut r, b"\r\x02");
        assert!(matches!(&steps[..], [Step::Out(_)]));
        assert!(!r.is_raw());
    }

    #[test]
    fn raw_paste_offers_a_window_and_acknowledges_it() {
        let mut r = Repl::default();
        feed_all(&mut r, b"\x01");
        let steps = feed_all(&mut r, b"\x05A\x01");
        assert_eq!(steps, vec![Step::Out(vec![b'R', 1, 0, 1, 1])]);
        let code = vec![b'#'; usize::from(PASTE_WINDOW) + 3];
        let steps = feed_all(&mut r, &code);
        assert_eq!(steps, vec![Step::Out(vec![0x01])]);
        let steps = feed_all(&mut r, b"\x04");
        assert_eq!(steps, vec![Step::Exec(ExecKind::Paste, code)]);
        assert!(r.is_raw(), "back in raw mode for the next command");
        let steps = feed_all(&mut r, b"\x05B");
        assert_eq!(steps, vec![Step::Out(b"R\x00".to_vec())]);
    }
}
