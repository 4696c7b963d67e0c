//! The little of HTTP/1.1 the benchmark needs: write a request, read a response head,
//! decode a chunked body incrementally (an event stream is one endless chunked body),
//! and read a whole keep-alive response for the writer.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::bytes::find_byte;

/// A response head is refused past this size (a server bug or not an HTTP server).
const MAX_HEAD: usize = 64 * 1024;
/// A writer's response body is refused past this size (a create answers one record).
const MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub chunked: bool,
    pub content_length: Option<usize>,
    pub content_type: String,
    /// `Connection: close`: the server ends the connection after this response.
    pub close: bool,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Parses `HTTP/1.1 200 OK\r\nName: value\r\n…` (the bytes before the blank line).
pub fn parse_head(bytes: &[u8]) -> io::Result<Head> {
    let text = std::str::from_utf8(bytes).map_err(|_| bad("response head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(bad(format!("not an HTTP/1.x response: {status_line:?}")));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let mut head = Head {
        status,
        chunked: false,
        content_length: None,
        content_type: String::new(),
        close: version == "HTTP/1.0",
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("bad header line {line:?}")));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            head.content_length = Some(value.parse().map_err(|_| bad("bad Content-Length"))?);
        } else if name.eq_ignore_ascii_case("content-type") {
            head.content_type = value.to_ascii_lowercase();
        } else if name.eq_ignore_ascii_case("connection") {
            head.close = value.eq_ignore_ascii_case("close");
        }
    }
    Ok(head)
}

fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// Reads until a whole response head is in `buf`; returns it and removes it from `buf`,
/// leaving whatever body bytes came with it.
pub async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<Head> {
    loop {
        if let Some(end) = find_blank_line(buf) {
            let head = parse_head(&buf[..end])?;
            buf.drain(..end + 4);
            return Ok(head);
        }
        if buf.len() > MAX_HEAD {
            return Err(bad("response head too large"));
        }
        if read_more(stream, buf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed before the response head",
            ));
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Writes one request; `body` with its content type, or none.
pub async fn write_request(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    host: &str,
    extra_headers: &str,
    body: Option<(&str, &[u8])>,
) -> io::Result<()> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n{extra_headers}");
    if let Some((content_type, bytes)) = body {
        req.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            bytes.len()
        ));
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    if let Some((_, bytes)) = body {
        out.extend_from_slice(bytes);
    }
    stream.write_all(&out).await
}

/// Reads a whole response (head and body) from a keep-alive connection. `buf` carries
/// bytes read past one response over to the next.
pub async fn read_response(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> io::Result<(Head, Vec<u8>)> {
    let head = read_head(stream, buf).await?;
    let mut body = Vec::new();
    if head.chunked {
        let mut decoder = ChunkedDecoder::default();
        loop {
            let used = decoder.decode(buf, &mut body)?;
            buf.drain(..used);
            if decoder.is_done() {
                break;
            }
            if body.len() > MAX_BODY {
                return Err(bad("response body too large"));
            }
            if read_more(stream, buf).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a chunked body",
                ));
            }
        }
    } else if let Some(len) = head.content_length {
        if len > MAX_BODY {
            return Err(bad("response body too large"));
        }
        while buf.len() < len {
            if read_more(stream, buf).await? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed inside a body",
                ));
            }
        }
        body.extend(buf.drain(..len));
    } else if head.status >= 200 && head.status != 204 && head.status != 304 {
        // No length and not chunked: the body runs to the end of the connection.
        while read_more(stream, buf).await? > 0 {
            if buf.len() > MAX_BODY {
                return Err(bad("response body too large"));
            }
        }
        body = std::mem::take(buf);
        return Ok((
            Head {
                close: true,
                ..head
            },
            body,
        ));
    }
    Ok((head, body))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// Reading the hex size line (extensions after `;` are skipped).
    #[default]
    Size,
    /// `remaining` data bytes of the current chunk still to come.
    Data {
        remaining: usize,
    },
    /// The CRLF after a chunk's data.
    DataEnd,
    /// After the last (0-size) chunk: trailer lines up to a blank line.
    Trailer,
    Done,
}

/// Incremental `Transfer-Encoding: chunked` decoder: feed it bytes as they arrive.
#[derive(Debug, Default)]
pub struct ChunkedDecoder {
    state: ChunkState,
    /// The size or trailer line read so far (a line can span reads).
    line: Vec<u8>,
}

impl ChunkedDecoder {
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Appends the data in `input` to `out`; returns how many input bytes it used (all of
    /// them unless the body ended inside `input`).
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<usize> {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                ChunkState::Done => return Ok(i),
                ChunkState::Data { remaining } => {
                    let take = remaining.min(input.len() - i);
                    out.extend_from_slice(&input[i..i + take]);
                    i += take;
                    self.state = if take == remaining {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data {
                            remaining: remaining - take,
                        }
                    };
                }
                ChunkState::Size | ChunkState::DataEnd | ChunkState::Trailer => {
                    let Some(nl) = find_byte(&input[i..], b'\n') else {
                        self.push_line(&input[i..])?;
                        return Ok(input.len());
                    };
                    self.push_line(&input[i..i + nl])?;
                    i += nl + 1;
                    // The line is judged in place and cleared: taking it out would
                    // allocate a new one for every chunk.
                    let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
                    self.state = self.after_line(line)?;
                    self.line.clear();
                }
            }
        }
        Ok(i)
    }

    fn push_line(&mut self, part: &[u8]) -> io::Result<()> {
        if self.line.len() + part.len() > 4096 {
            return Err(bad("chunk size or trailer line too long"));
        }
        self.line.extend_from_slice(part);
        Ok(())
    }

    fn after_line(&self, line: &[u8]) -> io::Result<ChunkState> {
        match self.state {
            ChunkState::DataEnd if line.is_empty() => Ok(ChunkState::Size),
            ChunkState::DataEnd => Err(bad("missing CRLF after chunk data")),
            ChunkState::Trailer if line.is_empty() => Ok(ChunkState::Done),
            ChunkState::Trailer => Ok(ChunkState::Trailer),
            _ => {
                let size_text = line.split(|&b| b == b';').next().unwrap_or_default();
                let size_text = std::str::from_utf8(size_text)
                    .map_err(|_| bad("bad chunk size"))?
                    .trim();
                let size = usize::from_str_radix(size_text, 16)
                    .map_err(|_| bad(format!("bad chunk size {size_text:?}")))?;
                Ok(if size == 0 {
                    ChunkState::Trailer
                } else {
                    ChunkState::Data { remaining: size }
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_fields() {
        let head = parse_head(
            b"HTTP/1.1 201 Created\r\ncontent-type: Application/JSON\r\nContent-Length: 12\r\nConnection: close",
        )
        .unwrap();
        assert_eq!(head.status, 201);
        assert_eq!(head.content_length, Some(12));
        assert_eq!(head.content_type, "application/json");
        assert!(head.close && !head.chunked);
        let sse = parse_head(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream",
        )
        .unwrap();
        assert!(sse.chunked && !sse.close);
        assert!(parse_head(b"SSH-2.0-OpenSSH").is_err());
        assert!(parse_head(b"HTTP/1.1 abc OK").is_err());
    }

    #[test]
    fn chunked_body_split_at_every_byte() {
        let wire = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\nNEXT";
        // Whole, and fed one byte at a time: the same body, and NEXT is left unread.
        let mut whole = ChunkedDecoder::default();
        let mut out = Vec::new();
        let used = whole.decode(wire, &mut out).unwrap();
        assert_eq!(out, b"hello, world");
        assert!(whole.is_done());
        assert_eq!(&wire[used..], b"NEXT");

        let mut bytewise = ChunkedDecoder::default();
        let mut out = Vec::new();
        let mut used = 0;
        for i in 0..wire.len() {
            used += bytewise.decode(&wire[i..i + 1], &mut out).unwrap();
            if bytewise.is_done() {
                break;
            }
        }
        assert_eq!(out, b"hello, world");
        assert_eq!(used, wire.len() - 4);
    }

    #[test]
    fn chunked_errors() {
        let mut d = ChunkedDecoder::default();
        assert!(d.decode(b"zz\r\n", &mut Vec::new()).is_err());
        let mut d = ChunkedDecoder::default();
        assert!(d.decode(b"2\r\nabXY\r\n", &mut Vec::new()).is_err());
        let mut d = ChunkedDecoder::default();
        assert!(d.decode(&[b'1'; 5000], &mut Vec::new()).is_err());
    }
}
