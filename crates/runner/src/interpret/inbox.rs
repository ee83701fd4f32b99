//! What the peer has sent and the case has not looked at yet: received bytes decoded into frame events,
//! queued within a byte budget, and turned into [`Observed`] events when the case takes them.
//!
//! Payloads are queued in the chunks they arrived in, so a frame of any declared size costs no more
//! memory than the bytes actually received. Once [`READ_BUDGET`] is queued, or the run's
//! [`ReadPool`] is full, [`Inbox::read_size`] says none and the driver stops reading, so TCP pushes back on
//! a peer that floods.

use std::collections::VecDeque;

use wsspec_suite::results::Direction;
use wsspec_wire::{DecodeEvent, FrameDecoder, FrameHeader, Opcode};

use crate::{
    conn::{Preview, Recorder},
    interpret::READ_CHUNK,
    judge::{Observed, PeerStream},
    read_pool::ReadPool,
};

/// How many bytes of input may wait for the case at once, per connection: payload bytes, plus
/// [`EVENT_COST`] for every event. Past that, the driver stops reading and TCP pushes back on the peer.
pub const READ_BUDGET: usize = 16 << 20;

/// How many events an inbox keeps room for once a burst has drained.
const KEPT_CAPACITY: usize = 1024;

/// What each queued event costs of [`READ_BUDGET`] besides its payload: about its size in memory, so
/// that a flood of empty frames is bounded like a flood of bytes.
pub const EVENT_COST: usize = 64;

/// A frame-level event, decoded from the peer's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A frame header.
    Header(FrameHeader),
    /// Part of the current frame's payload, unmasked.
    Payload(Vec<u8>),
    /// The current frame's last payload byte was read.
    End,
    /// The peer closed its side of TCP.
    Eof,
    /// Reading failed (reset, and so on).
    Error(String),
}

impl Incoming {
    /// What the event costs of the budget while it waits.
    fn cost(&self) -> usize {
        EVENT_COST
            + match self {
                Incoming::Payload(bytes) => bytes.len(),
                _ => 0,
            }
    }

    /// Whether the event shows the peer closing the connection (its close frame, or the end of TCP).
    pub fn is_closing(&self) -> bool {
        match self {
            Incoming::Header(header) => header.opcode == Opcode::Close,
            Incoming::Eof | Incoming::Error(_) => true,
            Incoming::Payload(_) | Incoming::End => false,
        }
    }
}

/// The peer's decoded, not yet handled input.
#[derive(Debug)]
pub struct Inbox {
    decoder: FrameDecoder,
    /// Bytes that do not yet make a whole frame header.
    undecoded: Vec<u8>,
    /// The frame being received and its first payload bytes, for the transcript.
    current: Option<(FrameHeader, Preview)>,
    queue: VecDeque<Incoming>,
    queued_cost: usize,
    /// Whether the peer's side has ended (EOF or an error was queued).
    ended: bool,
    peer: PeerStream,
    /// The run's budget, which `queued_cost` also counts against.
    pool: ReadPool,
}

impl Inbox {
    /// An inbox reading a peer whose frames `peer` checks, queuing within `pool` besides its own budget.
    pub fn new(peer: PeerStream, pool: ReadPool) -> Self {
        Inbox {
            decoder: FrameDecoder::new(),
            undecoded: Vec::new(),
            current: None,
            queue: VecDeque::new(),
            queued_cost: 0,
            ended: false,
            peer,
            pool,
        }
    }

    /// How many bytes the driver may read now, at most [`READ_CHUNK`]: none once the peer's side has
    /// ended, else as many as the room left in this connection's budget and the run's pool can take
    /// even if every byte were an empty frame's (each costs [`EVENT_COST`] at most).
    pub fn read_size(&self) -> usize {
        if self.ended {
            return 0;
        }
        let room = READ_BUDGET
            .saturating_sub(self.queued_cost)
            .min(self.pool.room(self.queued_cost));
        (room / EVENT_COST).min(READ_CHUNK)
    }

    /// Decodes received bytes into events, recording each complete frame in the transcript. Returns
    /// whether one of the new events shows the peer closing the connection.
    pub fn receive(&mut self, bytes: &[u8], recorder: &Recorder) -> bool {
        let mut closing = false;
        let mut buf = std::mem::take(&mut self.undecoded);
        buf.extend_from_slice(bytes);
        let mut offset = 0;
        loop {
            // Called even with nothing left: the end of a frame is reported on its own call.
            let (used, event) = self.decoder.decode(&mut buf[offset..]);
            offset += used;
            let incoming = match event {
                Some(DecodeEvent::Header(header)) => {
                    self.current = Some((header.clone(), Preview::EMPTY));
                    Incoming::Header(header)
                }
                Some(DecodeEvent::Payload(data)) => {
                    if let Some((_, preview)) = self.current.as_mut() {
                        preview.extend(data);
                    }
                    Incoming::Payload(data.to_vec())
                }
                Some(DecodeEvent::End) => {
                    if let Some((header, preview)) = self.current.take() {
                        recorder.frame_with(Direction::Received, &header, preview);
                    }
                    Incoming::End
                }
                None if used == 0 => break,
                None => continue,
            };
            closing |= incoming.is_closing();
            self.push(incoming);
        }
        buf.drain(..offset);
        self.undecoded = buf;
        closing
    }

    /// The peer's side ended: `None` for EOF, else the read error.
    pub fn end(&mut self, error: Option<String>) {
        if !self.ended {
            self.ended = true;
            self.push(error.map_or(Incoming::Eof, Incoming::Error));
        }
    }

    fn push(&mut self, incoming: Incoming) {
        let cost = incoming.cost();
        self.queued_cost += cost;
        self.pool.take(cost);
        self.queue.push_back(incoming);
    }

    /// The next observed event, when the queue holds enough for one: frame events are reassembled into
    /// messages and checked by the peer stream, so several may be consumed for one event.
    pub fn next_event(&mut self) -> Option<Observed> {
        while let Some(incoming) = self.queue.pop_front() {
            let cost = incoming.cost();
            self.queued_cost -= cost;
            self.pool.give_back(cost);
            let event = match incoming {
                Incoming::Header(header) => self.peer.header(&header),
                Incoming::Payload(chunk) => self.peer.payload(&chunk),
                Incoming::End => self.peer.end(),
                Incoming::Eof => Some(Observed::TcpClosed(None)),
                Incoming::Error(err) => Some(Observed::TcpClosed(Some(err))),
            };
            if event.is_some() {
                self.release_room();
                return event;
            }
        }
        self.release_room();
        None
    }

    /// Gives back the memory of a queue that a burst grew and that has drained since: a queue keeps
    /// its largest size otherwise, which the budget no longer counts.
    fn release_room(&mut self) {
        if self.queue.len() < self.queue.capacity() / 4 && self.queue.capacity() > KEPT_CAPACITY {
            self.queue
                .shrink_to(KEPT_CAPACITY.max(self.queue.len() * 2));
        }
    }
}

impl Drop for Inbox {
    /// What is still queued goes back to the run's pool.
    fn drop(&mut self) {
        self.pool.give_back(self.queued_cost);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use wsspec_suite::Role;
    use wsspec_wire::{FrameSpec, encode_frame};

    fn inbox() -> (Inbox, Recorder) {
        (
            Inbox::new(PeerStream::new(Role::Server), ReadPool::default()),
            Recorder::new(Instant::now()),
        )
    }

    #[test]
    fn frames_split_anywhere_decode_to_the_same_events() {
        let frame = encode_frame(&FrameSpec::new(Opcode::Text, b"hello".to_vec()));
        let (mut whole, recorder) = inbox();
        whole.receive(&frame, &recorder);
        let (mut bytewise, _) = inbox();
        for byte in &frame {
            bytewise.receive(std::slice::from_ref(byte), &recorder);
        }
        let a = whole.next_event().unwrap();
        let b = bytewise.next_event().unwrap();
        assert_eq!(a, b);
        assert!(a.to_string().starts_with("text message of 5 bytes"), "{a}");
    }

    #[test]
    fn a_close_frame_and_the_end_of_tcp_count_as_closing() {
        let (mut inbox, recorder) = inbox();
        let ping = encode_frame(&FrameSpec::new(Opcode::Ping, b"p".to_vec()));
        assert!(!inbox.receive(&ping, &recorder));
        let close = encode_frame(&FrameSpec::new(Opcode::Close, Vec::new()));
        assert!(inbox.receive(&close, &recorder));
        inbox.end(None);
        assert!(inbox.read_size() == 0);
        assert_eq!(inbox.next_event(), Some(Observed::Ping(b"p".to_vec())));
        assert_eq!(inbox.next_event(), Some(Observed::Close(Vec::new())));
        assert_eq!(inbox.next_event(), Some(Observed::TcpClosed(None)));
        assert_eq!(inbox.next_event(), None);
    }

    #[test]
    fn a_huge_declared_length_allocates_nothing_up_front() {
        // fin=1 op=2, 64-bit length 2^63-1, then 3 payload bytes.
        let bytes = [
            0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3,
        ];
        let (mut inbox, recorder) = inbox();
        inbox.receive(&bytes, &recorder);
        assert_eq!(inbox.queued_cost, 2 * EVENT_COST + 3);
        assert!(matches!(
            &inbox.queue.iter().collect::<Vec<_>>()[..],
            [Incoming::Header(h), Incoming::Payload(p)] if h.payload_len == (1 << 63) - 1 && p == &[1, 2, 3]
        ));
    }

    #[test]
    fn a_flood_of_empty_frames_fills_the_budget() {
        // 0x80 0x80: an empty continuation frame, again and again.
        let (mut inbox, recorder) = inbox();
        let flood = vec![0x80; 64 * 1024];
        let mut reads = 0;
        while inbox.read_size() > 0 {
            inbox.receive(&flood, &recorder);
            reads += 1;
        }
        assert!(inbox.queued_cost >= READ_BUDGET);
        assert!(inbox.queued_cost < READ_BUDGET + 64 * 1024 * EVENT_COST);
        assert!(reads > 1);
    }

    #[test]
    fn an_event_costs_at_least_its_size() {
        assert!(std::mem::size_of::<Incoming>() <= EVENT_COST);
    }

    #[test]
    fn the_budget_counts_payload_and_events() {
        let (mut inbox, recorder) = inbox();
        let big = encode_frame(&FrameSpec::new(Opcode::Binary, vec![0; READ_BUDGET]));
        inbox.receive(&big, &recorder);
        assert!(inbox.read_size() == 0);
        while inbox.next_event().is_some() {}
        assert!(inbox.read_size() > 0);
        assert_eq!(inbox.queued_cost, 0);
    }

    #[test]
    fn the_run_pool_stops_a_second_connection_past_its_floor_and_gets_back_what_is_dropped() {
        let recorder = Recorder::new(Instant::now());
        let pool = ReadPool::new(READ_BUDGET);
        let mut first = Inbox::new(PeerStream::new(Role::Server), pool.clone());
        let mut second = Inbox::new(PeerStream::new(Role::Server), pool.clone());
        let big = encode_frame(&FrameSpec::new(Opcode::Binary, vec![0; READ_BUDGET]));
        first.receive(&big, &recorder);
        assert!(second.read_size() > 0, "the floor is there");
        second.receive(&big[..crate::read_pool::READ_FLOOR], &recorder);
        assert!(second.read_size() == 0);
        drop(first);
        assert!(second.read_size() > 0);
        drop(second);
        assert_eq!(pool.queued(), 0);
    }
}
