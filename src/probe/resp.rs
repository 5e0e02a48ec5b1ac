//! RESP2, the Redis wire protocol, as golive speaks it: a command is written as an array of
//! bulk strings, and a reply is read by a parser that bounds it and accepts only RESP2.
//!
//! Every reply is bounded whatever the server claims: at most [`MAX_REPLY_BYTES`] in all
//! (a bulk length or an array count beyond what is left is refused before anything is
//! allocated or read), [`MAX_LINE_BYTES`] per header line and [`MAX_DEPTH`] levels of
//! nested arrays. Anything that is not RESP2 (an unknown type byte, a negative length other
//! than the null `-1`, a number that is not one, a bulk string not followed by CRLF) is a
//! [`ReadError::Protocol`]: a server that does not speak Redis is never taken for one.

use std::fmt;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The most bytes one reply may take on the wire. An INFO section is a few KiB, a CONFIG
/// GET of one setting a few bytes; `INFO everything` of a busy server stays well below.
pub const MAX_REPLY_BYTES: usize = 4 << 20;
/// The longest header line (`+…`, `-…`, `:…`, `$n`, `*n`) of a reply.
pub const MAX_LINE_BYTES: usize = 64 << 10;
/// The deepest nesting of arrays in a reply (golive's commands reply with at most one level).
pub const MAX_DEPTH: usize = 8;

/// One RESP2 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR unknown command`: the server refused the command (the protocol is intact).
    Error(String),
    /// `:42`
    Int(i64),
    /// `$n` and n bytes; `None` for the null bulk string `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*n` and n replies; `None` for the null array `*-1`.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// What kind of reply this is, for messages (never its content, which may be large).
    pub fn kind(&self) -> &'static str {
        match self {
            Reply::Simple(_) => "a simple string",
            Reply::Error(_) => "an error",
            Reply::Int(_) => "an integer",
            Reply::Bulk(None) => "a null bulk string",
            Reply::Bulk(Some(_)) => "a bulk string",
            Reply::Array(None) => "a null array",
            Reply::Array(Some(_)) => "an array",
        }
    }

    /// The text of a string reply (simple or bulk).
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(Some(bytes)) => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }
    }
}

/// Why no reply could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The connection failed or was closed.
    Io(std::io::Error),
    /// The bytes are not RESP2.
    Protocol(String),
    /// The reply would be larger than [`MAX_REPLY_BYTES`] (or a line longer than
    /// [`MAX_LINE_BYTES`]): refused before it is read.
    TooLarge(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                f.write_str("the server closed the connection before the reply was complete")
            }
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::Protocol(why) => write!(f, "invalid reply, not the Redis protocol (RESP2): {why}"),
            ReadError::TooLarge(why) => write!(f, "reply refused: {why}"),
        }
    }
}

impl From<std::io::Error> for ReadError {
    fn from(e: std::io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// A command as RESP2 puts it on the wire: an array of bulk strings.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn mib(bytes: usize) -> String {
    format!("{} MiB", bytes >> 20)
}

/// An array being filled: the replies read so far and how many it holds.
struct Open {
    items: Vec<Reply>,
    count: usize,
}

/// Reads one reply, within the bounds above. Iterative (an explicit stack of open arrays),
/// so no nesting can exhaust the stack.
pub async fn read_reply<R: AsyncBufRead + Unpin>(reader: &mut R) -> Result<Reply, ReadError> {
    let mut left = MAX_REPLY_BYTES;
    let mut open: Vec<Open> = Vec::new();
    loop {
        let line = read_line(reader, &mut left).await?;
        let (&kind, rest) = line.split_first().ok_or_else(|| ReadError::Protocol("an empty line".into()))?;
        let mut value = match kind {
            b'+' => Reply::Simple(String::from_utf8_lossy(rest).into_owned()),
            b'-' => Reply::Error(String::from_utf8_lossy(rest).into_owned()),
            b':' => Reply::Int(integer(rest)?),
            b'$' => match length(rest, "bulk string")? {
                None => Reply::Bulk(None),
                Some(len) => {
                    // The bytes and their CRLF must fit in what is left of the bound.
                    if len.saturating_add(2) > left {
                        return Err(ReadError::TooLarge(format!(
                            "a bulk string of {len} bytes is larger than {}, golive's limit for one Redis reply",
                            mib(MAX_REPLY_BYTES)
                        )));
                    }
                    let mut bytes = vec![0u8; len + 2];
                    reader.read_exact(&mut bytes).await?;
                    left -= len + 2;
                    if !bytes.ends_with(b"\r\n") {
                        return Err(ReadError::Protocol(format!(
                            "a bulk string of {len} bytes is not followed by CRLF"
                        )));
                    }
                    bytes.truncate(len);
                    Reply::Bulk(Some(bytes))
                }
            },
            b'*' => match length(rest, "array")? {
                None => Reply::Array(None),
                Some(0) => Reply::Array(Some(Vec::new())),
                Some(count) => {
                    // Every element takes at least 3 bytes (`+\r\n`).
                    if count.saturating_mul(3) > left {
                        return Err(ReadError::TooLarge(format!(
                            "an array of {count} elements cannot fit in {}, golive's limit for one Redis reply",
                            mib(MAX_REPLY_BYTES)
                        )));
                    }
                    if open.len() >= MAX_DEPTH {
                        return Err(ReadError::Protocol(format!("arrays nested deeper than {MAX_DEPTH} levels")));
                    }
                    open.push(Open { items: Vec::new(), count });
                    continue;
                }
            },
            other => {
                return Err(ReadError::Protocol(format!("a reply starting with byte 0x{other:02x}")));
            }
        };
        // Complete the arrays this value finishes.
        loop {
            match open.last_mut() {
                None => return Ok(value),
                Some(array) => {
                    array.items.push(value);
                    if array.items.len() < array.count {
                        break;
                    }
                    let done = open.pop().expect("an open array");
                    value = Reply::Array(Some(done.items));
                }
            }
        }
    }
}

/// One line without its CRLF, at most [`MAX_LINE_BYTES`] and what is left of the reply's
/// bound; a line ending in a bare LF is not RESP.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, left: &mut usize) -> Result<Vec<u8>, ReadError> {
    let limit = MAX_LINE_BYTES.min(*left);
    let mut line = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Err(ReadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        let (take, found) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (buf.len(), false),
        };
        if line.len() + take > limit {
            return Err(ReadError::TooLarge(if limit < MAX_LINE_BYTES {
                format!("the reply is larger than {}, golive's limit for one Redis reply", mib(MAX_REPLY_BYTES))
            } else {
                format!("a reply line longer than {} KiB, golive's limit for one line", MAX_LINE_BYTES >> 10)
            }));
        }
        line.extend_from_slice(&buf[..take]);
        reader.consume(take);
        if found {
            break;
        }
    }
    *left -= line.len();
    match line.strip_suffix(b"\r\n") {
        Some(content) => Ok(content.to_vec()),
        None => Err(ReadError::Protocol("a line not ended by CRLF".into())),
    }
}

/// A RESP integer: an optional `-` and digits, within i64.
fn integer(text: &[u8]) -> Result<i64, ReadError> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let valid = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit);
    std::str::from_utf8(text)
        .ok()
        .filter(|_| valid)
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ReadError::Protocol(format!("{:?} is not an integer", clip(text))))
}

/// The length of a bulk string or array: `None` for the null `-1`; other negatives are not RESP.
fn length(text: &[u8], what: &str) -> Result<Option<usize>, ReadError> {
    match integer(text)? {
        -1 => Ok(None),
        n if n < 0 => Err(ReadError::Protocol(format!("{what} length {n}"))),
        n => Ok(Some(usize::try_from(n).unwrap_or(usize::MAX))),
    }
}

/// At most 40 characters of what the server sent, then `…` (where masking looks for a
/// secret cut in half).
fn clip(text: &[u8]) -> String {
    crate::diag::clip(&String::from_utf8_lossy(text), 40).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Reply, ReadError> {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let mut reader = tokio::io::BufReader::new(bytes);
        runtime.block_on(read_reply(&mut reader))
    }

    #[test]
    fn replies_parse() {
        assert_eq!(read(b"+PONG\r\n").unwrap(), Reply::Simple("PONG".into()));
        assert_eq!(read(b"-ERR no\r\n").unwrap(), Reply::Error("ERR no".into()));
        assert_eq!(read(b":-12\r\n").unwrap(), Reply::Int(-12));
        assert_eq!(read(b"$3\r\na\nb\r\n").unwrap(), Reply::Bulk(Some(b"a\nb".to_vec())));
        assert_eq!(read(b"$-1\r\n").unwrap(), Reply::Bulk(None));
        assert_eq!(read(b"*-1\r\n").unwrap(), Reply::Array(None));
        assert_eq!(read(b"*0\r\n").unwrap(), Reply::Array(Some(vec![])));
        assert_eq!(
            read(b"*2\r\n$4\r\nsave\r\n*1\r\n:1\r\n").unwrap(),
            Reply::Array(Some(vec![Reply::Bulk(Some(b"save".to_vec())), Reply::Array(Some(vec![Reply::Int(1)]))]))
        );
        assert_eq!(encode(&["CONFIG", "GET", "x"]), b"*3\r\n$6\r\nCONFIG\r\n$3\r\nGET\r\n$1\r\nx\r\n");
    }

    #[test]
    fn what_is_not_resp2_is_a_protocol_error() {
        for bad in [
            &b"*-5\r\n"[..],
            b"$-2\r\n",
            b":12abc\r\n",
            b":+1\r\n",
            b":\r\n",
            b"$4\r\nPONG\n\n",
            b"+PONG\n",
            b"\r\n",
            b"?x\r\n",
            b"%1\r\n",
            b"HTTP/1.1 400 Bad Request\r\n",
        ] {
            let e = read(bad).unwrap_err();
            assert!(matches!(e, ReadError::Protocol(_)), "{:?}: {e}", String::from_utf8_lossy(bad));
        }
        let deep = b"*1\r\n".repeat(MAX_DEPTH + 1);
        assert!(matches!(read(&deep).unwrap_err(), ReadError::Protocol(_)));
    }

    #[test]
    fn replies_are_bounded_before_they_are_read() {
        let e = read(b"$1073741824\r\n").unwrap_err();
        assert!(matches!(e, ReadError::TooLarge(_)), "{e}");
        assert!(e.to_string().contains("4 MiB"), "{e}");
        assert!(matches!(read(b"*2000000000\r\n").unwrap_err(), ReadError::TooLarge(_)));
        // Many small elements that add up past the bound.
        let mut many = b"*100000\r\n".to_vec();
        for _ in 0..100_000 {
            many.extend_from_slice(b"$100\r\n");
            many.extend_from_slice(&[b'x'; 100]);
            many.extend_from_slice(b"\r\n");
        }
        assert!(matches!(read(&many).unwrap_err(), ReadError::TooLarge(_)));
        let long_line = [b"+".as_slice(), &vec![b'x'; MAX_LINE_BYTES + 1]].concat();
        assert!(matches!(read(&long_line).unwrap_err(), ReadError::TooLarge(_)));
        // A reply just within the bound is read.
        let len = MAX_REPLY_BYTES - 64;
        let big = [format!("${len}\r\n").into_bytes(), vec![b'y'; len], b"\r\n".to_vec()].concat();
        assert!(matches!(read(&big).unwrap(), Reply::Bulk(Some(b)) if b.len() == len));
    }

    #[test]
    fn a_reply_cut_short_is_an_io_error() {
        assert!(matches!(read(b"$10\r\nabc").unwrap_err(), ReadError::Io(_)));
        assert!(matches!(read(b"+PON").unwrap_err(), ReadError::Io(_)));
    }
}
