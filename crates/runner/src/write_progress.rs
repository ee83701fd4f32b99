//! How far a write has got: a writer that counts the bytes the socket took and when it last took
//! some, so that the driver tells a peer that stopped reading from one that reads slowly.

use std::{
    io,
    pin::Pin,
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::Instant,
};

use tokio::io::AsyncWrite;

/// The progress of one write.
#[derive(Debug)]
pub struct WriteProgress {
    taken: AtomicU64,
    last: Mutex<Instant>,
}

impl WriteProgress {
    /// A write that starts at `now`.
    pub fn new(now: Instant) -> Self {
        WriteProgress {
            taken: AtomicU64::new(0),
            last: Mutex::new(now),
        }
    }

    /// How many bytes the socket took so far.
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// When the socket last took bytes (or when the write started).
    pub fn last(&self) -> Instant {
        *self.last.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn took(&self, bytes: usize) {
        self.taken.fetch_add(bytes as u64, Ordering::Relaxed);
        *self.last.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }
}

/// A writer whose writes count in a [`WriteProgress`].
pub struct Watched<'a, W> {
    inner: &'a mut W,
    progress: &'a WriteProgress,
}

impl<'a, W> Watched<'a, W> {
    /// Watches the writes to `inner`.
    pub fn new(inner: &'a mut W, progress: &'a WriteProgress) -> Self {
        Watched { inner, progress }
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for Watched<'_, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut *this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n @ 1..)) = polled {
            this.progress.took(n);
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn what_the_socket_takes_is_counted_and_stamped() {
        let start = Instant::now();
        let progress = WriteProgress::new(start);
        let mut sink = Vec::new();
        Watched::new(&mut sink, &progress)
            .write_all(b"hello")
            .await
            .unwrap();
        assert_eq!(
            (progress.taken(), sink.as_slice()),
            (5, b"hello".as_slice())
        );
        assert!(progress.last() >= start);
    }
}
