//! What the peer has sent and the case has not looked at yet: received bytes decoded into frame events
//! a few thousand ahead of the case, the rest kept as bytes, all within a byte budget, and turned into
//! [`Observed`] events when the case takes them.
//!
//! Payloads are queued in the chunks they arrived in, so a frame of any declared size costs no more
//! memory than the bytes actually received, and a flood of empty frames costs the bytes it sent, not
//! an event each. Once [`READ_BUDGET`] is held, or the run's [`ReadPool`] is full,
//! [`Inbox::read_size`] says none and the driver stops reading, so TCP pushes back on a peer that
//! floods.

use std::collections::VecDeque;

use wsspec_suite::results::Direction;
use wsspec_wire::{DecodeEvent, FrameDecoder, FrameHeader, Opcode};

use crate::{
    conn::{Preview, Recorder},
    interpret::READ_CHUNK,
    judge::{Observed, PeerStream},
    read_pool::ReadPool,
};

/// How many bytes of input may wait for the case at once, per connection: bytes not decoded yet and
/// payload bytes, plus [`EVENT_COST`] for every event decoded. Past that, the driver stops reading and
/// TCP pushes back on the peer.
pub const READ_BUDGET: usize = 16 << 20;

/// How many events an inbox decodes ahead of the case; the bytes after them wait undecoded, at one
/// byte of the budget each instead of an event's, so a flood of empty frames costs what it sent.
pub const DECODED_AHEAD: usize = 4096;

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

/// The peer's input not yet handled: events decoded ahead, and the bytes after them.
#[derive(Debug)]
pub struct Inbox {
    decoder: FrameDecoder,
    /// Received bytes not decoded yet, from `start` on: what does not make a whole frame header yet,
    /// and everything after the first [`DECODED_AHEAD`] events.
    undecoded: Vec<u8>,
    start: usize,
    /// The frame being received and its first payload bytes, for the transcript.
    current: Option<(FrameHeader, Preview)>,
    queue: VecDeque<Incoming>,
    /// What the queued events cost.
    queued_cost: usize,
    /// Whether the peer's side has ended.
    ended: bool,
    /// The end of the peer's side, queued once every byte before it is decoded.
    end: Option<Incoming>,
    peer: PeerStream,
    /// The run's budget, which this inbox's cost also counts against.
    pool: ReadPool,
    recorder: Recorder,
}

impl Inbox {
    /// An inbox reading a peer whose frames `peer` checks, queuing within `pool` besides its own budget,
    /// each complete frame recorded in `recorder`'s transcript.
    pub fn new(peer: PeerStream, pool: ReadPool, recorder: Recorder) -> Self {
        Inbox {
            decoder: FrameDecoder::new(),
            undecoded: Vec::new(),
            start: 0,
            current: None,
            queue: VecDeque::new(),
            queued_cost: 0,
            ended: false,
            end: None,
            peer,
            pool,
            recorder,
        }
    }

    /// What this inbox holds, as the budgets count it: the queued events' cost and the room taken by
    /// the bytes not decoded yet (what their buffer has grown to, not only what it holds).
    fn cost(&self) -> usize {
        self.queued_cost + self.undecoded.capacity()
    }

    /// How many bytes the driver may read now, at most [`READ_CHUNK`]: none once the peer's side has
    /// ended, else as many as the room left in this connection's budget and the run's pool.
    pub fn read_size(&self) -> usize {
        if self.ended {
            return 0;
        }
        let own = self.cost();
        READ_BUDGET
            .saturating_sub(own)
            .min(self.pool.room(own))
            .min(READ_CHUNK)
    }

    /// Whether only the peer can bring the next input: nothing is queued, and reading is not held
    /// back by the budgets.
    pub fn awaits_peer(&self) -> bool {
        self.queue.is_empty() && (self.ended || self.read_size() > 0)
    }

    /// Takes received bytes and decodes what it can ahead. Returns whether one of the new events shows
    /// the peer closing the connection.
    pub fn receive(&mut self, bytes: &[u8]) -> bool {
        let before = self.undecoded.capacity();
        self.undecoded.extend_from_slice(bytes);
        self.pool.take(self.undecoded.capacity() - before);
        self.decode()
    }

    /// The peer's side ended: `None` for EOF, else the read error. It is queued after every event
    /// the bytes before it make.
    pub fn end(&mut self, error: Option<String>) {
        if !self.ended {
            self.ended = true;
            self.end = Some(error.map_or(Incoming::Eof, Incoming::Error));
            self.decode();
        }
    }

    /// Decodes bytes into events until [`DECODED_AHEAD`] are queued or the bytes run out, recording
    /// each complete frame in the transcript; then, once every byte is decoded, the end of the peer's
    /// side. Returns whether one of the new events shows the peer closing the connection.
    fn decode(&mut self) -> bool {
        let mut closing = false;
        let mut buf = std::mem::take(&mut self.undecoded);
        let mut offset = self.start;
        let starved = loop {
            if self.queue.len() >= DECODED_AHEAD {
                break false;
            }
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
                        self.recorder
                            .frame_with(Direction::Received, &header, preview);
                    }
                    Incoming::End
                }
                None if used == 0 => break true,
                None => continue,
            };
            closing |= incoming.is_closing();
            self.push(incoming);
        };
        // The bytes decoded go once they are the larger part, so that keeping the rest costs little,
        // and a buffer a flood grew is given back once it has drained.
        let before = buf.capacity();
        if offset * 2 >= buf.len() {
            buf.drain(..offset);
            offset = 0;
            if buf.is_empty() && buf.capacity() > 2 * READ_CHUNK {
                buf = Vec::new();
            }
        }
        self.pool.give_back(before - buf.capacity());
        self.undecoded = buf;
        self.start = offset;
        if starved {
            if let Some(end) = self.end.take() {
                closing = true;
                self.push(end);
            }
        }
        closing
    }

    fn push(&mut self, incoming: Incoming) {
        let cost = incoming.cost();
        self.queued_cost += cost;
        self.pool.take(cost);
        self.queue.push_back(incoming);
    }

    /// The next observed event, when the input holds enough for one: frame events are reassembled into
    /// messages and checked by the peer stream, so several may be consumed for one event.
    pub fn next_event(&mut self) -> Option<Observed> {
        loop {
            if self.queue.len() <= DECODED_AHEAD / 2 {
                self.decode();
            }
            let incoming = self.queue.pop_front()?;
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
                return event;
            }
        }
    }
}

impl Drop for Inbox {
    /// What is still held goes back to the run's pool.
    fn drop(&mut self) {
        self.pool.give_back(self.cost());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use wsspec_suite::Role;
    use wsspec_wire::{FrameSpec, encode_frame};

    fn inbox() -> Inbox {
        Inbox::new(
            PeerStream::new(Role::Server),
            ReadPool::default(),
            Recorder::new(Instant::now()),
        )
    }

    #[test]
    fn frames_split_anywhere_decode_to_the_same_events() {
        let frame = encode_frame(&FrameSpec::new(Opcode::Text, b"hello".to_vec()));
        let mut whole = inbox();
        whole.receive(&frame);
        let mut bytewise = inbox();
        for byte in &frame {
            bytewise.receive(std::slice::from_ref(byte));
        }
        let a = whole.next_event().unwrap();
        let b = bytewise.next_event().unwrap();
        assert_eq!(a, b);
        assert!(a.to_string().starts_with("text message of 5 bytes"), "{a}");
    }

    #[test]
    fn a_close_frame_and_the_end_of_tcp_count_as_closing() {
        let mut inbox = inbox();
        let ping = encode_frame(&FrameSpec::new(Opcode::Ping, b"p".to_vec()));
        assert!(!inbox.receive(&ping));
        let close = encode_frame(&FrameSpec::new(Opcode::Close, Vec::new()));
        assert!(inbox.receive(&close));
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
        let mut inbox = inbox();
        inbox.receive(&bytes);
        assert_eq!(inbox.queued_cost, 2 * EVENT_COST + 3);
        assert!(matches!(
            &inbox.queue.iter().collect::<Vec<_>>()[..],
            [Incoming::Header(h), Incoming::Payload(p)] if h.payload_len == (1 << 63) - 1 && p == &[1, 2, 3]
        ));
    }

    #[test]
    fn a_flood_of_empty_frames_waits_as_bytes_past_the_events_decoded_ahead() {
        // 0x80 0x80: an empty continuation frame, again and again.
        let mut inbox = inbox();
        let flood = vec![0x80; 64 * 1024];
        let mut reads = 0;
        while inbox.read_size() > 0 {
            inbox.receive(&flood[..inbox.read_size()]);
            reads += 1;
        }
        assert_eq!(inbox.queue.len(), DECODED_AHEAD);
        // The budget is the bytes received, beside what the events decoded ahead cost.
        assert!(inbox.cost() <= READ_BUDGET + DECODED_AHEAD * EVENT_COST);
        assert!(reads > 1);
        // Taken one by one, the events come out (each continuation without a message breaks the
        // protocol), and then nothing is held.
        let mut events = 0;
        while inbox.next_event().is_some() {
            events += 1;
        }
        assert!(events > DECODED_AHEAD, "{events}");
        assert_eq!(inbox.cost(), 0);
        assert_eq!(inbox.pool.queued(), 0);
    }

    #[test]
    fn the_end_of_tcp_comes_after_every_frame_before_it() {
        let mut inbox = inbox();
        let ping = encode_frame(&FrameSpec::new(Opcode::Ping, Vec::new()));
        inbox.receive(&ping.repeat(DECODED_AHEAD));
        inbox.end(None);
        let mut pings = 0;
        while let Some(event) = inbox.next_event() {
            if event == Observed::TcpClosed(None) {
                break;
            }
            pings += 1;
        }
        assert_eq!(pings, DECODED_AHEAD);
        assert_eq!(inbox.next_event(), None);
    }

    #[test]
    fn an_event_costs_at_least_its_size() {
        assert!(std::mem::size_of::<Incoming>() <= EVENT_COST);
    }

    #[test]
    fn the_budget_counts_payload_and_events() {
        let mut inbox = inbox();
        let big = encode_frame(&FrameSpec::new(Opcode::Binary, vec![0; READ_BUDGET]));
        inbox.receive(&big);
        assert!(inbox.read_size() == 0);
        while inbox.next_event().is_some() {}
        assert!(inbox.read_size() > 0);
        assert_eq!(inbox.queued_cost, 0);
    }

    #[test]
    fn the_run_pool_stops_a_second_connection_past_its_floor_and_gets_back_what_is_dropped() {
        let recorder = Recorder::new(Instant::now());
        let pool = ReadPool::new(READ_BUDGET);
        let open = || {
            Inbox::new(
                PeerStream::new(Role::Server),
                pool.clone(),
                recorder.clone(),
            )
        };
        let (mut first, mut second) = (open(), open());
        let big = encode_frame(&FrameSpec::new(Opcode::Binary, vec![0; READ_BUDGET]));
        first.receive(&big);
        assert!(second.read_size() > 0, "the floor is there");
        second.receive(&big[..crate::read_pool::READ_FLOOR]);
        assert!(second.read_size() == 0);
        drop(first);
        assert!(second.read_size() > 0);
        drop(second);
        assert_eq!(pool.queued(), 0);
    }
}
