//! Compressed messages made once per run and shared by every connection that would make them again.
//!
//! Sections 12, 13 and 17 send the same messages under the same parameters on many connections:
//! 13.1.10 to 13.7.10 and 13.x.15 to 13.x.18 all send the same 1000 slices of the JSON document, each
//! compressed without context takeover in a 2^15 window; 12.1.10 and 12.1.15 to 12.1.18 send one
//! sequence, with context takeover, cut into frames of different sizes. Compression is
//! deterministic: a message's compressed bytes depend only on the compressor's parameters and on
//! everything it was fed since it last started afresh. So each connection names the state of its
//! compressor by a digest of those (its *history*), looks each message up by that history and the
//! message's own digest, and compresses only what the run has not compressed yet, storing it for
//! the others.
//!
//! A connection that took a message from the cache has not fed it to its own compressor. With
//! context takeover its compressor is then behind: the messages it skipped are kept (as sources; a
//! corpus slice is a position, not a copy), and on its first miss they are fed to it first, so that
//! what the connection writes is byte for byte what it would write without the cache. Without context
//! takeover every message starts afresh, and nothing is ever behind.
//!
//! The cache holds at most its budget of compressed bytes, and drops the oldest first. The
//! connections that share a sequence run at about the same time (the schedule starts cases in file
//! order, many at once), so the budget only has to cover how far apart they drift.

use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use wsspec_wire::deflate::{Compressor, Direction};
use xxhash_rust::xxh3::xxh3_128;

use crate::body::{Body, BodyBuilder, Source};

/// The most compressed bytes a run keeps by default: section 13's distinct messages fit (about
/// 20 MiB), and most of what section 12's cases share across the drift between them (its bitmap and
/// PDF barely compress: 1000 slices of 128 KiB are over 100 MiB).
pub const RUN_CACHE_BUDGET: usize = 64 << 20;

/// A compressed message as the cache knows it: the compressor's history before it, and the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    history: u128,
    digest: u128,
    len: u64,
}

/// The run's compressed messages. Clones share them.
#[derive(Clone)]
pub struct CompressionCache {
    shared: Arc<Shared>,
}

struct Shared {
    budget: usize,
    store: Mutex<Store>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Store {
    messages: HashMap<Key, Arc<[u8]>>,
    /// The keys in the order they were stored, oldest first.
    order: VecDeque<Key>,
    bytes: usize,
}

impl Default for CompressionCache {
    fn default() -> Self {
        CompressionCache::new(RUN_CACHE_BUDGET)
    }
}

impl fmt::Debug for CompressionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (hits, misses) = self.counts();
        f.debug_struct("CompressionCache")
            .field("budget", &self.shared.budget)
            .field("hits", &hits)
            .field("misses", &misses)
            .finish_non_exhaustive()
    }
}

impl CompressionCache {
    /// A cache that holds at most `budget` compressed bytes (0: it never holds any).
    pub fn new(budget: usize) -> Self {
        CompressionCache {
            shared: Arc::new(Shared {
                budget,
                store: Mutex::new(Store::default()),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            }),
        }
    }

    /// How many messages were taken from the cache, and how many were compressed.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.shared.hits.load(Ordering::Relaxed),
            self.shared.misses.load(Ordering::Relaxed),
        )
    }

    /// How many compressed bytes the cache holds now.
    pub fn bytes(&self) -> usize {
        self.store().bytes
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while the lock is held cannot leave the store inconsistent: take it as it is.
        self.shared
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, key: &Key) -> Option<Arc<[u8]>> {
        let found = self.store().messages.get(key).cloned();
        let counter = if found.is_some() {
            &self.shared.hits
        } else {
            &self.shared.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    fn insert(&self, key: Key, compressed: Arc<[u8]>) {
        let budget = self.shared.budget;
        if compressed.len() > budget {
            return;
        }
        let mut store = self.store();
        if store.messages.insert(key, compressed.clone()).is_some() {
            // Another connection compressed the same message meanwhile: the bytes are the same.
            return;
        }
        store.order.push_back(key);
        store.bytes += compressed.len();
        while store.bytes > budget {
            let Some(oldest) = store.order.pop_front() else {
                break;
            };
            if let Some(dropped) = store.messages.remove(&oldest) {
                store.bytes -= dropped.len();
            }
        }
    }
}

/// One connection's compressor for the messages it sends (RFC 7692 §7.2.1), through the run's cache.
pub struct MessageCompressor {
    inner: Compressor,
    no_context_takeover: bool,
    /// The history of a compressor that has just started afresh.
    fresh: u128,
    /// The history of the messages sent since the compressor (as the peer sees it) last started afresh.
    history: u128,
    /// Messages sent from the cache that `inner` has not been fed yet.
    behind: Vec<Source>,
    cache: CompressionCache,
}

impl fmt::Debug for MessageCompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageCompressor")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("behind", &self.behind.len())
            .finish_non_exhaustive()
    }
}

impl MessageCompressor {
    /// A compressor for a sender bound by `direction`, at zlib `level`, sharing `cache`.
    pub fn new(direction: Direction, level: u32, cache: CompressionCache) -> Self {
        let fresh = xxh3_128(
            &[
                b"wsspec-deflate-1".as_slice(),
                &[
                    direction.max_window_bits,
                    u8::from(direction.no_context_takeover),
                ],
                &level.to_le_bytes(),
            ]
            .concat(),
        );
        MessageCompressor {
            inner: Compressor::new(direction, level),
            no_context_takeover: direction.no_context_takeover,
            fresh,
            history: fresh,
            behind: Vec::new(),
            cache,
        }
    }

    /// One whole message: the payload of its frames (the `00 00 ff ff` tail removed), and its
    /// uncompressed body.
    pub fn message(&mut self, source: &Source) -> (Arc<[u8]>, Body) {
        let mut body = BodyBuilder::default();
        source.for_each_block(|block| body.push(block));
        let body = body.finish();
        let key = Key {
            history: self.history,
            digest: body.digest,
            len: body.len,
        };
        let compressed = match self.cache.get(&key) {
            Some(compressed) => {
                if !self.no_context_takeover {
                    self.behind.push(source.clone());
                }
                compressed
            }
            None => {
                let mut scratch = Vec::new();
                for skipped in std::mem::take(&mut self.behind) {
                    self.compress(&skipped, &mut scratch);
                    scratch.clear();
                }
                self.compress(source, &mut scratch);
                let compressed: Arc<[u8]> = scratch.into();
                self.cache.insert(key, compressed.clone());
                compressed
            }
        };
        if !self.no_context_takeover {
            self.history = xxh3_128(
                &[
                    self.history.to_le_bytes().as_slice(),
                    &body.digest.to_le_bytes(),
                    &body.len.to_le_bytes(),
                ]
                .concat(),
            );
        }
        debug_assert!(!self.no_context_takeover || self.history == self.fresh);
        (compressed, body)
    }

    fn compress(&mut self, source: &Source, out: &mut Vec<u8>) {
        source.for_each_block(|block| self.inner.push(block, out));
        self.inner.finish(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;
    use wsspec_suite::corpus::Corpus;
    use wsspec_wire::deflate::Decompressor;

    /// The `i`-th of `n`-byte slices of a corpus, as a case sends them.
    fn slice(corpus: Corpus, size: u64, i: u64) -> Source {
        Source {
            pattern: Cow::Borrowed(corpus.bytes()),
            start: i * size,
            len: size,
        }
    }

    fn sequence(compressor: &mut MessageCompressor, count: u64) -> Vec<Vec<u8>> {
        (0..count)
            .map(|i| compressor.message(&slice(Corpus::Json, 4096, i)).0.to_vec())
            .collect()
    }

    fn alone(direction: Direction, count: u64) -> Vec<Vec<u8>> {
        let mut compressor = MessageCompressor::new(direction, 3, CompressionCache::new(0));
        sequence(&mut compressor, count)
    }

    #[test]
    fn a_connection_that_shares_writes_what_it_would_write_alone() {
        for no_context_takeover in [false, true] {
            let direction = Direction {
                no_context_takeover,
                ..Direction::default()
            };
            let expected = alone(direction, 40);
            // The first connection fills the cache with 40 messages; the second takes them, then
            // goes on alone for 20 more, which needs the 40 it skipped under context takeover.
            let cache = CompressionCache::new(1 << 20);
            let mut first = MessageCompressor::new(direction, 3, cache.clone());
            assert_eq!(sequence(&mut first, 40), expected);
            let mut second = MessageCompressor::new(direction, 3, cache.clone());
            assert_eq!(sequence(&mut second, 40), expected);
            assert_eq!(cache.counts(), (40, 40));
            let more: Vec<Vec<u8>> = (40..60)
                .map(|i| second.message(&slice(Corpus::Json, 4096, i)).0.to_vec())
                .collect();
            let whole = alone(direction, 60);
            assert_eq!(
                more,
                whole[40..],
                "no context takeover: {no_context_takeover}"
            );
            assert!(second.behind.is_empty());
        }
    }

    #[test]
    fn messages_from_the_cache_inflate_to_what_was_sent() {
        let direction = Direction::default();
        let cache = CompressionCache::new(1 << 20);
        let mut first = MessageCompressor::new(direction, 3, cache.clone());
        sequence(&mut first, 10);
        let mut second = MessageCompressor::new(direction, 3, cache);
        let mut inflater = Decompressor::new(direction, 1 << 20);
        for i in 0..10 {
            let source = slice(Corpus::Json, 4096, i);
            let (compressed, body) = second.message(&source);
            let mut inflated = BodyBuilder::default();
            inflater
                .push(&compressed, &mut |bytes| inflated.push(bytes))
                .unwrap();
            inflater.finish(&mut |bytes| inflated.push(bytes)).unwrap();
            assert_eq!(inflated.finish(), body);
        }
    }

    #[test]
    fn other_parameters_and_other_histories_do_not_share() {
        let cache = CompressionCache::new(1 << 20);
        let small = Direction {
            max_window_bits: 9,
            no_context_takeover: false,
        };
        let mut wide = MessageCompressor::new(Direction::default(), 3, cache.clone());
        sequence(&mut wide, 5);
        let mut narrow = MessageCompressor::new(small, 3, cache.clone());
        assert_eq!(sequence(&mut narrow, 5), alone(small, 5));
        // The same message after a different one is not the same compressed message.
        let mut other = MessageCompressor::new(Direction::default(), 3, cache.clone());
        other.message(&slice(Corpus::Html, 4096, 0));
        other.message(&slice(Corpus::Json, 4096, 1));
        assert_eq!(cache.counts(), (0, 12));
    }

    #[test]
    fn the_cache_keeps_to_its_budget_dropping_the_oldest() {
        let direction = Direction {
            no_context_takeover: true,
            ..Direction::default()
        };
        let sizes: Vec<usize> = alone(direction, 20).iter().map(Vec::len).collect();
        let budget = sizes[..5].iter().sum::<usize>();
        let cache = CompressionCache::new(budget);
        let mut first = MessageCompressor::new(direction, 3, cache.clone());
        sequence(&mut first, 20);
        assert!(cache.bytes() <= budget);
        // The last messages are still there, the first ones are not.
        let mut second = MessageCompressor::new(direction, 3, cache.clone());
        second.message(&slice(Corpus::Json, 4096, 19));
        second.message(&slice(Corpus::Json, 4096, 0));
        assert_eq!(cache.counts(), (1, 21));
    }
}
