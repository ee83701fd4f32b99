//! TCP under TLS that keeps a copy of the first bytes it reads, so that a peer that leaves the
//! tunnel can be shown doing so: RFC 6455 §4.1 and §4.2.2 say that after the TLS handshake "all
//! further communication ... MUST run through the encrypted tunnel". When rustls then meets bytes
//! that are no TLS record, [`Tap::cleartext`] finds them behind the records that came before.

use std::{
    io,
    pin::Pin,
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
};

/// How many of the first bytes read are kept: the TLS handshake and the start of what follows it.
const TAP_BYTES: usize = 16 * 1024;

/// The first bytes a [`TappedTcp`] read, shared with whoever asks about them later.
#[derive(Clone, Debug, Default)]
pub struct Tap(Arc<Mutex<Vec<u8>>>);

impl Tap {
    /// What the peer sent after its last whole TLS record, when that is not a TLS record (the
    /// record framing of RFC 8446 §5.1: a content type from 20 to 23, version 3.x, a length);
    /// `None` while every byte kept belongs to a record.
    pub fn cleartext(&self) -> Option<Vec<u8>> {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut at = 0;
        while at < kept.len() {
            let header = &kept[at..];
            let is_record = (20..=23).contains(&header[0]) && header.get(1).is_none_or(|&v| v == 3);
            if !is_record {
                return Some(header.to_vec());
            }
            let [_, _, _, high, low, ..] = *header else {
                return None;
            };
            at += 5 + usize::from(u16::from_be_bytes([high, low]));
        }
        None
    }

    fn keep(&self, bytes: &[u8]) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let room = TAP_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// A TCP stream whose first [`TAP_BYTES`] read are kept in its [`Tap`].
#[derive(Debug)]
pub struct TappedTcp {
    tcp: TcpStream,
    tap: Tap,
}

impl TappedTcp {
    /// `tcp`, tapped.
    pub fn new(tcp: TcpStream) -> (TappedTcp, Tap) {
        let tap = Tap::default();
        (
            TappedTcp {
                tcp,
                tap: tap.clone(),
            },
            tap,
        )
    }
}

impl AsyncRead for TappedTcp {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            this.tap.keep(&buf.filled()[before..]);
        }
        read
    }
}

impl AsyncWrite for TappedTcp {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().tcp).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tap_of(bytes: &[u8]) -> Tap {
        let tap = Tap::default();
        tap.keep(bytes);
        tap
    }

    #[test]
    fn cleartext_is_what_follows_the_last_record() {
        let handshake = [22, 3, 1, 0, 2, 0xaa, 0xbb];
        let application = [23, 3, 3, 0, 1, 0xcc];
        assert_eq!(tap_of(&handshake).cleartext(), None);
        let records = [handshake.as_slice(), &application].concat();
        assert_eq!(tap_of(&records).cleartext(), None);
        // A record cut short by the read is still a record.
        assert_eq!(tap_of(&records[..records.len() - 3]).cleartext(), None);
        let left = [records.as_slice(), b"GET / HTTP/1.1\r\n"].concat();
        assert_eq!(
            tap_of(&left).cleartext().as_deref(),
            Some(&b"GET / HTTP/1.1\r\n"[..])
        );
        assert_eq!(
            tap_of(b"HTTP/1.1 101").cleartext().as_deref(),
            Some(&b"HTTP/1.1 101"[..])
        );
    }
}
