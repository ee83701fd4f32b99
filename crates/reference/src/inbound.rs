//! [`Inbound`]: the stream yawc runs a permessage-deflate connection on, with what the reference
//! adds to yawc 0.5. Reads yield first the bytes read with the request head (already frames), then
//! the socket's; writes go straight to the socket. Both directions are followed frame by frame (the
//! headers read, the payloads skipped by their declared length), for two things:
//!
//! - a rule yawc 0.5 does not keep, RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message
//!   Compressed" bit of control frames and non-first fragments of a data message. An endpoint
//!   receiving such a frame MUST _Fail the WebSocket Connection_." At the first control or
//!   continuation frame with RSV1 the reads deliver nothing more (at most the start of that frame's
//!   header, when it came in an earlier read) and [`Flags::broken`] is raised, so that the echo fails
//!   the connection instead of acting on the frame;
//! - whether a close frame went out ([`Flags::close_sent`]): yawc queues one for most errors, not for
//!   all, and the echo sends its own only where yawc sent none.

use std::{
    io,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use wsspec_wire::{FrameHeader, HeaderDecode, Opcode, RSV1, decode_header};

/// `stream`, with `early` read first; writes go straight to `stream`.
#[derive(Debug)]
pub(crate) struct Inbound<S> {
    early: Vec<u8>,
    /// How much of `early` was read.
    at: usize,
    stream: S,
    /// The frames read and written.
    reading: FrameTrack,
    writing: FrameTrack,
    flags: Arc<Flags>,
}

/// What the echo learns from the stream once yawc owns it.
#[derive(Debug, Default)]
pub(crate) struct Flags {
    /// Raised at a frame that breaks RFC 7692 §6.1; nothing is read after it.
    pub(crate) broken: AtomicBool,
    /// Raised once a close frame was written.
    pub(crate) close_sent: AtomicBool,
}

/// Where a byte stream is in its frames.
#[derive(Debug, Default)]
struct FrameTrack {
    /// The header bytes of the current frame, until the header is whole.
    header: Vec<u8>,
    /// Payload bytes of the current frame still to come.
    payload_left: u64,
}

impl FrameTrack {
    /// Follows the frames through the next bytes of the stream, calling `stop` with each whole
    /// header; returns how many of the bytes come before the header `stop` said yes to (all of them
    /// when it never did), counting from where that header began in these bytes (0 when it began
    /// in earlier ones).
    fn follow(&mut self, bytes: &[u8], mut stop: impl FnMut(&FrameHeader) -> bool) -> usize {
        let mut at = 0;
        let mut header_start = 0;
        while at < bytes.len() {
            if self.payload_left > 0 {
                let skip = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len() - at);
                self.payload_left -= skip as u64;
                at += skip;
                continue;
            }
            if self.header.is_empty() {
                header_start = at;
            }
            self.header.push(bytes[at]);
            at += 1;
            if let HeaderDecode::Complete { header, .. } = decode_header(&self.header) {
                if stop(&header) {
                    return header_start;
                }
                self.payload_left = header.payload_len;
                self.header.clear();
            }
        }
        bytes.len()
    }
}

impl<S> Inbound<S> {
    pub(crate) fn new(early: Vec<u8>, stream: S) -> Inbound<S> {
        Inbound {
            early,
            at: 0,
            stream,
            reading: FrameTrack::default(),
            writing: FrameTrack::default(),
            flags: Arc::default(),
        }
    }

    /// The flags the stream raises.
    pub(crate) fn flags(&self) -> Arc<Flags> {
        self.flags.clone()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Inbound<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.flags.broken.load(Ordering::Relaxed) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        if this.at < this.early.len() {
            let n = buf.remaining().min(this.early.len() - this.at);
            buf.put_slice(&this.early[this.at..this.at + n]);
            this.at += n;
            if this.at == this.early.len() {
                this.early = Vec::new();
                this.at = 0;
            }
        } else {
            match Pin::new(&mut this.stream).poll_read(cx, buf) {
                Poll::Ready(Ok(())) => {}
                other => return other,
            }
        }
        let flags = &this.flags;
        let passed = this.reading.follow(&buf.filled()[before..], |header| {
            let breaks = header.rsv & RSV1 != 0
                && (header.opcode.is_control() || header.opcode == Opcode::Continuation);
            if breaks {
                flags.broken.store(true, Ordering::Relaxed);
            }
            breaks
        });
        buf.set_filled(before + passed);
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inbound<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = std::task::ready!(Pin::new(&mut this.stream).poll_write(cx, buf))?;
        let flags = &this.flags;
        this.writing.follow(&buf[..written], |header| {
            if header.opcode == Opcode::Close {
                flags.close_sent.store(true, Ordering::Relaxed);
            }
            false
        });
        Poll::Ready(Ok(written))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wsspec_wire::{FrameSpec, encode_frame};

    async fn read_all(early: Vec<u8>, later: Vec<u8>) -> (Vec<u8>, bool) {
        let (near, mut far) = tokio::io::duplex(1 << 16);
        far.write_all(&later).await.unwrap();
        drop(far);
        let mut stream = Inbound::new(early, near);
        let flags = stream.flags();
        let mut read = Vec::new();
        stream.read_to_end(&mut read).await.unwrap();
        (read, flags.broken.load(Ordering::Relaxed))
    }

    #[tokio::test]
    async fn the_early_bytes_come_first_then_the_stream() {
        let first = encode_frame(&FrameSpec::text("hello").with_rsv(RSV1));
        let second = encode_frame(&FrameSpec::binary(vec![0xc9; 300]));
        let (read, broken) = read_all(first.clone(), second.clone()).await;
        assert_eq!(read, [first, second].concat());
        assert!(
            !broken,
            "RSV1 on a first data frame is permessage-deflate's"
        );
    }

    #[tokio::test]
    async fn a_control_or_continuation_frame_with_rsv1_stops_the_bytes_at_its_first_byte() {
        let start = encode_frame(&FrameSpec::text("part").with_fin(false).with_rsv(RSV1));
        for bad in [
            FrameSpec::ping("x").with_rsv(RSV1),
            FrameSpec::continuation("y").with_rsv(RSV1),
        ] {
            let bad = encode_frame(&bad.with_mask(Some([1, 2, 3, 4])));
            // The bad frame's header split across the early bytes and the stream.
            let mut early = start.clone();
            early.push(bad[0]);
            let (read, broken) = read_all(early.clone(), bad[1..].to_vec()).await;
            assert!(broken);
            assert_eq!(
                read, early,
                "nothing of the bad frame passes but its first byte"
            );
            let (read, broken) = read_all(Vec::new(), [start.clone(), bad].concat()).await;
            assert!(broken);
            assert_eq!(read, start, "the bad frame in one read: none of it passes");
        }
    }

    #[tokio::test]
    async fn a_close_frame_written_is_noted() {
        let (near, _far) = tokio::io::duplex(1 << 16);
        let mut stream = Inbound::new(Vec::new(), near);
        let flags = stream.flags();
        let text = encode_frame(&FrameSpec::text(vec![0x88; 200]));
        stream.write_all(&text).await.unwrap();
        assert!(
            !flags.close_sent.load(Ordering::Relaxed),
            "0x88 in a payload is no close frame"
        );
        let close = encode_frame(&FrameSpec::close(None, b""));
        stream.write_all(&close[..1]).await.unwrap();
        stream.write_all(&close[1..]).await.unwrap();
        assert!(flags.close_sent.load(Ordering::Relaxed));
    }
}
