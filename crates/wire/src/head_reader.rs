//! Reading an HTTP head that arrives in pieces: [`HeadReader`] gathers the bytes a caller read, says
//! when the head is whole, and hands back the head, its bytes and whatever followed it.
//!
//! This is the one place that knows how a head is read from a byte stream (the bound on its size, the
//! bytes after it that already belong to the frames, a malformed head that still deserves an answer).
//! It lives here, sans-IO, because every side of the harness reads heads (the runner's client role and
//! its server for clients, the reference server, the mutant servers and clients) and these crates
//! share no I/O crate: `wire` is the lowest crate they all use. Callers keep only a thin loop that
//! reads into [`HeadReader::buffer`] with their own stream and deadline, and asks [`HeadReader::head`].

use crate::handshake::{HeadError, Parsed, Request, Response, parse_request, parse_response};

/// How much room [`HeadReader::buffer`] makes for the next read.
pub const READ_CHUNK: usize = 4096;

/// A head parser: [`parse_request`] or [`parse_response`].
type Parse<T> = fn(&[u8]) -> Result<Parsed<T>, HeadError>;

/// The bytes of a head received so far, and how to parse it.
#[derive(Debug)]
pub struct HeadReader<T> {
    buf: Vec<u8>,
    parse: Parse<T>,
}

/// A whole head, taken out of a [`HeadReader`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head<T> {
    /// The parsed head.
    pub value: T,
    /// The head's bytes, final CRLFCRLF included.
    pub bytes: Vec<u8>,
    /// What followed the head in the same reads: the start of the frames.
    pub rest: Vec<u8>,
}

impl HeadReader<Request> {
    /// Reads a request head (the server's side of the handshake).
    pub fn request() -> Self {
        HeadReader::new(parse_request)
    }
}

impl HeadReader<Response> {
    /// Reads a response head (the client's side of the handshake).
    pub fn response() -> Self {
        HeadReader::new(parse_response)
    }
}

impl<T> HeadReader<T> {
    fn new(parse: Parse<T>) -> Self {
        HeadReader {
            buf: Vec::with_capacity(READ_CHUNK),
            parse,
        }
    }

    /// The buffer to read the next bytes into (with room for [`READ_CHUNK`] more), for readers that
    /// append to a `Vec`. The parser bounds the head ([`crate::MAX_HEAD_BYTES`]), so asking
    /// [`head`](Self::head) after every read keeps the buffer from growing forever.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        self.buf.reserve(READ_CHUNK);
        &mut self.buf
    }

    /// Appends bytes read elsewhere.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The bytes received so far.
    pub fn received(&self) -> &[u8] {
        &self.buf
    }

    /// The head, once it is whole (and the reader is empty again); `None` while more bytes are
    /// needed; an error for a head that is not HTTP or is too large, whatever comes next.
    pub fn head(&mut self) -> Result<Option<Head<T>>, HeadError> {
        match (self.parse)(&self.buf)? {
            Parsed::Incomplete => Ok(None),
            Parsed::Complete { value, len } => {
                let rest = self.buf.split_off(len);
                Ok(Some(Head {
                    value,
                    bytes: std::mem::take(&mut self.buf),
                    rest,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_HEAD_BYTES;

    const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\n\r\n";

    #[test]
    fn a_head_in_pieces_is_whole_after_its_last_byte() {
        let mut reader = HeadReader::request();
        for byte in &REQUEST[..REQUEST.len() - 1] {
            reader.push(&[*byte]);
            assert_eq!(reader.head(), Ok(None));
        }
        reader.push(&REQUEST[REQUEST.len() - 1..]);
        let head = reader.head().unwrap().unwrap();
        assert_eq!(head.value.target, "/chat");
        assert_eq!(head.bytes, REQUEST);
        assert!(head.rest.is_empty());
        assert!(reader.received().is_empty());
    }

    #[test]
    fn the_bytes_after_the_head_are_handed_back() {
        let mut reader = HeadReader::response();
        reader
            .buffer()
            .extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x00");
        let head = reader.head().unwrap().unwrap();
        assert_eq!(head.value.status, 101);
        assert_eq!(head.rest, b"\x81\x00");
    }

    #[test]
    fn a_malformed_or_endless_head_is_an_error() {
        let mut reader = HeadReader::request();
        reader.push(b"\x81\x05Hello\r\n\r\n");
        assert!(matches!(reader.head(), Err(HeadError::Malformed(_))));

        let mut reader = HeadReader::request();
        reader.push(b"GET / HTTP/1.1\r\nX: ");
        reader.push(&vec![b'a'; MAX_HEAD_BYTES]);
        assert_eq!(reader.head(), Err(HeadError::TooLarge(MAX_HEAD_BYTES)));
    }
}
