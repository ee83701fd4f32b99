//! The run's memory budget for what the peers sent and the cases have not handled yet.
//!
//! Each connection queues the peer's decoded input until its case takes it (see
//! [`crate::interpret::Inbox`]), up to [`READ_BUDGET`](crate::interpret::READ_BUDGET) of its own, so
//! that a 16 MiB echo fits. Sixteen connections at that budget would hold 256 MiB, so the queues of a
//! run also share one [`ReadPool`]: past a small [`READ_FLOOR`] of its own, a connection reads on only
//! while the whole run queues less than the pool's limit. A connection that cannot read leaves the
//! peer's bytes in the socket, and TCP pushes back on the peer; the floor keeps every connection
//! moving however much the others hold.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

/// What every connection may queue whatever the rest of the run holds.
pub const READ_FLOOR: usize = 256 << 10;

/// The most the queues of one run hold together beyond their floors, by default: with the floors of
/// 16 connections and the rest of a run, peak memory stays well under 100 MiB.
pub const RUN_READ_BUDGET: usize = 24 << 20;

/// The bytes queued by every connection of a run, against one limit. Clones share the count.
#[derive(Clone, Debug)]
pub struct ReadPool {
    queued: Arc<AtomicUsize>,
    limit: usize,
}

impl Default for ReadPool {
    fn default() -> Self {
        ReadPool::new(RUN_READ_BUDGET)
    }
}

impl ReadPool {
    /// A pool of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        ReadPool {
            queued: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// How many bytes the run queues now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// How many bytes more a connection that queues `own` bytes may queue: what is left of its floor,
    /// or of the pool, whichever is more.
    pub fn room(&self, own: usize) -> usize {
        READ_FLOOR
            .saturating_sub(own)
            .max(self.limit.saturating_sub(self.queued()))
    }

    /// Counts `bytes` more queued.
    pub fn take(&self, bytes: usize) {
        self.queued.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `bytes` fewer queued.
    pub fn give_back(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_its_floor_a_connection_reads_only_while_the_run_has_room() {
        let pool = ReadPool::new(1 << 20);
        let other = pool.clone();
        other.take(1 << 20);
        assert_eq!(pool.room(READ_FLOOR), 0);
        assert_eq!(pool.room(READ_FLOOR - 10), 10, "the floor is always there");
        other.give_back(1);
        assert_eq!(pool.room(READ_FLOOR), 1);
        assert_eq!(pool.queued(), (1 << 20) - 1);
    }
}
