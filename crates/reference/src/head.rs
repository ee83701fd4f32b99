//! Reading an HTTP head from a tokio stream: the one async loop around [`wsspec_wire::HeadReader`],
//! shared by the reference server and the mutant servers and clients.
//!
//! The parsing, the size bound and the split between the head and the frames after it are wire's
//! (sans-IO, so the runner uses them too); this crate is the lowest one with tokio that the mutants
//! already depend on, so the loop that awaits the stream lives here once.

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt};
use wsspec_wire::{Head, HeadError, HeadReader};

/// Reads from `stream` until `reader` holds a whole head. The outer error is I/O, or
/// [`io::ErrorKind::UnexpectedEof`] when the peer leaves before the head ends; the inner one a head
/// that cannot be parsed or is too large, which a server still answers.
pub async fn read_head<S, T>(
    stream: &mut S,
    mut reader: HeadReader<T>,
) -> io::Result<Result<Head<T>, HeadError>>
where
    S: AsyncRead + Unpin,
{
    loop {
        if let Some(head) = reader.head().transpose() {
            return Ok(head);
        }
        if stream.read_buf(reader.buffer()).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_head_split_across_reads_comes_whole_with_what_followed() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in [&b"GET / HTTP/1.1\r\nHo"[..], b"st: x\r\n\r\n", b"\x81\x00"] {
                client.write_all(piece).await.unwrap();
                tokio::task::yield_now().await;
            }
            client
        });
        let head = read_head(&mut server, HeadReader::request())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(head.value.header("host"), Some("x"));
        drop(writer.await.unwrap());
        // The frame bytes may arrive with the head or after it; none is lost either way.
        let mut rest = head.rest;
        server.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"\x81\x00");
    }

    #[tokio::test]
    async fn a_peer_that_leaves_mid_head_is_an_unexpected_eof() {
        let (mut client, mut server) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut client, b"GET / HT")
            .await
            .unwrap();
        drop(client);
        let err = read_head(&mut server, HeadReader::request())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
