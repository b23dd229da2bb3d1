//! SCPI on the wire: lines ending in `\n`, a reply line per query, and the error queue (`SYST:ERR?`) read after
//! every setting so that a refusal is an error naming the command.

use super::dialect::{self, NEXT_ERROR};
use super::error::{shown, SupplyError};
use super::link::{Endpoint, Pacer, Protocol};
use super::port::Port;
use async_trait::async_trait;
use std::fmt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Longer replies are garbage: no supply says that much to one query.
const MAX_REPLY: usize = 4096;
/// How many entries of the error queue are read after a refusal or on connecting (SCPI queues hold ≥ 2).
const MAX_QUEUED_ERRORS: usize = 16;

/// Every dialect's lines go over the wire the same way; the link paces them for the dialect.
pub(crate) struct ScpiProtocol;

/// Lines sent in one exchange; the reply is the last query's.
pub(crate) struct ScpiRequest {
    pub lines: Vec<String>,
    /// A setting: the error queue is read after it.
    pub check_errors: bool,
}

impl fmt::Display for ScpiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lines.join("; "))
    }
}

type Stream = BufReader<Port>;

#[async_trait]
impl Protocol for ScpiProtocol {
    type Connection = Stream;
    type Request = ScpiRequest;
    type Reply = String;

    /// Empties the error queue, so errors from before are not blamed on our commands.
    async fn dial(
        &self,
        at: &Endpoint,
        port: Port,
        pacer: &mut Pacer,
    ) -> Result<Stream, SupplyError> {
        let mut stream = BufReader::new(port);
        let stale = self.drain_errors(at, &mut stream, pacer, None).await?;
        if let Some(first) = stale.first() {
            tracing::warn!(
                "{}: the error queue held {} error(s) from before we connected, first {first}",
                at.instrument,
                stale.len()
            );
        }
        Ok(stream)
    }

    async fn exchange(
        &self,
        at: &Endpoint,
        stream: &mut Stream,
        pacer: &mut Pacer,
        request: &ScpiRequest,
    ) -> Result<String, SupplyError> {
        let mut reply = String::new();
        for line in &request.lines {
            reply = self.send(at, stream, pacer, line).await?;
        }
        if request.check_errors {
            let command = request.to_string();
            let errors = self.drain_errors(at, stream, pacer, Some(&command)).await?;
            if let Some(first) = errors.first() {
                return Err(SupplyError::Refused {
                    instrument: at.instrument.clone(),
                    command,
                    reason: match errors.len() {
                        1 => first.clone(),
                        n => format!("{first} (and {} more)", n - 1),
                    },
                });
            }
        }
        Ok(reply)
    }
}

impl ScpiProtocol {
    /// Reads the error queue until `0` (bounded); returns the errors as the instrument wrote them.
    async fn drain_errors(
        &self,
        at: &Endpoint,
        stream: &mut Stream,
        pacer: &mut Pacer,
        after: Option<&str>,
    ) -> Result<Vec<String>, SupplyError> {
        let mut errors = Vec::new();
        for _ in 0..MAX_QUEUED_ERRORS {
            let reply = self.send(at, stream, pacer, NEXT_ERROR).await?;
            match dialect::parse_error(&reply) {
                Some((0, _)) => break,
                Some(_) => errors.push(reply),
                None => {
                    return Err(SupplyError::BadReply {
                        instrument: at.instrument.clone(),
                        command: NEXT_ERROR.into(),
                        after: after.map(str::to_string),
                        answer: format!("{}, not an error code", shown(&reply)),
                    })
                }
            }
        }
        Ok(errors)
    }

    /// Writes one line, paced for the dialect; reads its reply if it is a query.
    async fn send(
        &self,
        at: &Endpoint,
        stream: &mut Stream,
        pacer: &mut Pacer,
        line: &str,
    ) -> Result<String, SupplyError> {
        pacer.wait().await;
        let dropped = |e| at.dropped(line, e);
        stream
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(dropped)?;
        pacer.mark();
        if !dialect::is_query(line) {
            return Ok(String::new());
        }
        let mut raw = Vec::new();
        let limit = MAX_REPLY as u64 + 1;
        stream
            .take(limit)
            .read_until(b'\n', &mut raw)
            .await
            .map_err(dropped)?;
        if raw.last() != Some(&b'\n') {
            if raw.len() > MAX_REPLY {
                return Err(at.bad_reply(
                    line,
                    format!("more than {MAX_REPLY} bytes without a line end"),
                ));
            }
            return Err(dropped(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let text = String::from_utf8(raw).map_err(|e| {
            at.bad_reply(
                line,
                format!(
                    "bytes that are not text: {}",
                    shown(&String::from_utf8_lossy(e.as_bytes()))
                ),
            )
        })?;
        Ok(text.trim_end_matches(['\n', '\r']).to_string())
    }
}
