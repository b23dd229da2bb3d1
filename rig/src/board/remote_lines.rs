//! Reset lines over a loopback side channel, for a twin board in another process (`hil bench up`): its pty has no
//! modem lines, so DTR and RTS travel as text, one `dtr=1 rts=0` line each, answered `ok`.

use super::reset_lines::{LinesError, ResetLines};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const ANSWER_TIMEOUT: Duration = Duration::from_secs(2);

/// The client: a board's lines at `tcp://HOST:PORT`.
pub struct RemoteLines {
    board: String,
    addr: String,
}

impl RemoteLines {
    pub fn new(board: &str, address: &str) -> Result<RemoteLines, LinesError> {
        let addr = address
            .strip_prefix("tcp://")
            .ok_or_else(|| LinesError::Address {
                board: board.into(),
                address: address.into(),
            })?;
        Ok(RemoteLines {
            board: board.into(),
            addr: addr.into(),
        })
    }
}

#[async_trait]
impl ResetLines for RemoteLines {
    async fn set(&self, dtr: bool, rts: bool) -> Result<(), LinesError> {
        let exchange = async {
            let mut stream = TcpStream::connect(&self.addr).await?;
            stream
                .write_all(format!("dtr={} rts={}\n", u8::from(dtr), u8::from(rts)).as_bytes())
                .await?;
            let mut answer = String::new();
            BufReader::new(stream).read_line(&mut answer).await?;
            std::io::Result::Ok(answer)
        };
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, exchange)
            .await
            .map_err(|_| LinesError::NoAnswer {
                board: self.board.clone(),
                address: self.addr.clone(),
                within: ANSWER_TIMEOUT,
            })?
            .map_err(|error| LinesError::Link {
                board: self.board.clone(),
                address: self.addr.clone(),
                error,
            })?;
        if answer.trim() != "ok" {
            return Err(LinesError::Refused {
                board: self.board.clone(),
                address: self.addr.clone(),
                answer: answer.trim().to_string(),
            });
        }
        Ok(())
    }
}

/// The server: applies what clients send to `lines` (a twin board's side channel).
pub struct LinesServer {
    pub address: String,
    task: JoinHandle<()>,
}

impl LinesServer {
    pub async fn start(lines: Arc<dyn ResetLines>) -> Result<LinesServer, LinesError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| LinesError::Serve { error })?;
        let local = listener
            .local_addr()
            .map_err(|error| LinesError::Serve { error })?;
        let address = format!("tcp://{local}");
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let lines = lines.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    let mut request = String::new();
                    let read =
                        tokio::time::timeout(ANSWER_TIMEOUT, reader.read_line(&mut request)).await;
                    if !matches!(read, Ok(Ok(n)) if n > 0) {
                        return;
                    }
                    let answer = match parse(&request) {
                        Some((dtr, rts)) => match lines.set(dtr, rts).await {
                            Ok(()) => "ok".to_string(),
                            Err(e) => format!("error {e}"),
                        },
                        None => "error expected `dtr=0|1 rts=0|1`".to_string(),
                    };
                    let _ = write.write_all(format!("{answer}\n").as_bytes()).await;
                });
            }
        });
        Ok(LinesServer { address, task })
    }
}

impl Drop for LinesServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn parse(request: &str) -> Option<(bool, bool)> {
    let mut dtr = None;
    let mut rts = None;
    for field in request.split_whitespace() {
        match field.split_once('=') {
            Some(("dtr", v)) => dtr = Some(v == "1"),
            Some(("rts", v)) => rts = Some(v == "1"),
            _ => return None,
        }
    }
    Some((dtr?, rts?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Recorder(Mutex<Vec<(bool, bool)>>);

    #[async_trait]
    impl ResetLines for Recorder {
        async fn set(&self, dtr: bool, rts: bool) -> Result<(), LinesError> {
            self.0.lock().unwrap().push((dtr, rts));
            Ok(())
        }
    }

    #[tokio::test]
    async fn lines_cross_the_side_channel_in_order() {
        let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
        let server = LinesServer::start(recorder.clone()).await.unwrap();
        let client = RemoteLines::new("b", &server.address).unwrap();
        super::super::reset_lines::reset_into_loader(&client)
            .await
            .unwrap();
        assert_eq!(
            *recorder.0.lock().unwrap(),
            vec![(false, true), (true, false), (false, false)]
        );
    }

    #[test]
    fn garbage_requests_are_refused() {
        assert_eq!(parse("dtr=1 rts=0\n"), Some((true, false)));
        assert_eq!(parse("reboot\n"), None);
        assert_eq!(parse("dtr=1\n"), None);
    }
}
