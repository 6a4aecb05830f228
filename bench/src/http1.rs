//! One keep-alive HTTP/1.1 connection, written by hand: a request goes out
//! as one write, its answer is read by `Content-Length`. A general client
//! (pools, redirects, chunked bodies) costs several times more CPU per
//! request, and on a machine the load generator shares with the server and
//! the database, every cycle it spends is one they do not get.

use std::io;

use http::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Where requests go: `host:port`, and the path every request starts with.
#[derive(Clone)]
pub struct Origin {
    pub authority: String,
    pub base_path: String,
}

impl Origin {
    /// Parses `http://host:port[/base]`; TLS is not spoken here.
    pub fn parse(url: &str) -> Result<Origin, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
        let (authority, base_path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() {
            return Err(format!("{url}: no host"));
        }
        Ok(Origin {
            authority: authority.to_owned(),
            base_path: base_path.trim_end_matches('/').to_owned(),
        })
    }
}

/// An open connection, and the bytes read from it so far.
pub struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// A response: its status, and its body, read in full.
pub struct Response {
    pub status: StatusCode,
    pub body: Vec<u8>,
    /// The server said `Connection: close`: open a new one for the next request.
    pub closes: bool,
}

impl Connection {
    pub async fn open(origin: &Origin) -> io::Result<Connection> {
        let stream = TcpStream::connect(&origin.authority).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// Sends `request` (the head and body, already written out) and reads
    /// the response to it.
    pub async fn exchange(&mut self, request: &[u8]) -> io::Result<Response> {
        self.stream.write_all(request).await?;
        self.buffer.clear();
        let head_length = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = Head::parse(&self.buffer[..head_length])?;
        while self.buffer.len() < head_length + head.content_length {
            self.fill().await?;
        }
        Ok(Response {
            status: head.status,
            body: self.buffer[head_length..head_length + head.content_length].to_vec(),
            closes: head.closes,
        })
    }

    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 16 * 1024];
        let read = self.stream.read(&mut chunk).await?;
        if read == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection mid-answer",
            ));
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}

/// What the client needs from a response head.
struct Head {
    status: StatusCode,
    content_length: usize,
    closes: bool,
}

impl Head {
    fn parse(bytes: &[u8]) -> io::Result<Head> {
        let text = std::str::from_utf8(bytes).map_err(invalid)?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let code = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| invalid(format!("not an HTTP status line: {status_line:?}")))?;
        let status = StatusCode::from_u16(code).map_err(invalid)?;
        let mut head = Head {
            status,
            content_length: 0,
            closes: false,
        };
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                head.content_length = value.parse().map_err(invalid)?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(invalid(format!(
                    "the server sent a {value} body; this client reads Content-Length only"
                )));
            } else if name.eq_ignore_ascii_case("connection") {
                head.closes = value.eq_ignore_ascii_case("close");
            }
        }
        Ok(head)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn invalid(error: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error.to_string())
}
