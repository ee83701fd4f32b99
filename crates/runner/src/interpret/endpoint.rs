//! What an RFC 6455 endpoint does on its own while a case waits for the peer: take the next event,
//! answer pings and close frames, note the end of TCP, and mask what it sends as its role requires.

use std::time::Instant;

use rand::Rng;
use wsspec_suite::{
    Role,
    case::{MaskSpec, WritePlan},
    results::{Direction, Side},
};
use wsspec_wire::{ClosePayload, FrameSpec, Opcode, encode_close_payload, encode_frame};

use super::{Interpreter, MAX_OBSERVED};
use crate::judge::Observed;

impl Interpreter {
    /// What the next event is, waiting until `until` at most: one a `wait` step kept (with
    /// `pending`), else the next from the peer, answered as an endpoint answers it.
    pub(super) fn take_event(&mut self, until: Instant, pending: bool) -> Taken {
        let Some(conn) = self.conn.as_mut() else {
            return Taken::TimedOut;
        };
        if self.turn >= super::EVENTS_PER_TURN {
            self.more = true;
            return Taken::Wait;
        }
        self.turn += 1;
        if pending {
            if let Some(event) = conn.pending.pop_front() {
                return Taken::Event(event);
            }
        }
        // After the end of TCP nothing more can come: the wait runs out.
        if conn.tcp_closed && self.now < until {
            self.wake = Some(until);
            return Taken::Wait;
        }
        // A peer that never stops sending must not keep the harness here past `until`.
        if conn.tcp_closed || self.now >= until {
            return Taken::TimedOut;
        }
        let Some(event) = conn.inbox.next_event() else {
            self.wake = Some(until);
            return Taken::Wait;
        };
        if let Observed::Message { body, .. } = &event {
            self.record.received_messages += 1;
            self.record.received_bytes += body.len;
        }
        self.react(&event);
        if self.record.observed.len() < MAX_OBSERVED {
            self.record.observed.push(event.to_string());
        }
        Taken::Event(event)
    }

    /// What an RFC 6455 endpoint does on its own: answer pings, answer a close frame, note TCP closing.
    pub(super) fn react(&mut self, event: &Observed) {
        let sent_close = self.conn.as_ref().is_some_and(|conn| conn.sent_close);
        match event {
            Observed::Ping(payload) if !sent_close => {
                let spec = FrameSpec::new(Opcode::Pong, payload.clone())
                    .with_mask(self.mask(MaskSpec::Auto));
                self.recorder
                    .frame(Direction::Sent, &spec.header(), &spec.payload);
                self.write_bytes(encode_frame(&spec), WritePlan::default());
            }
            Observed::Close(payload) => {
                self.record.answered_harness_close = self.close_frame_sent;
                let info = &mut self.record.close;
                info.initiated_by.get_or_insert(Side::Peer);
                let parsed = ClosePayload::parse(payload);
                if let ClosePayload::Code { code, reason } = parsed {
                    info.peer_code = Some(code.0);
                    info.peer_reason = Some(String::from_utf8_lossy(reason).into_owned());
                }
                if !sent_close {
                    // Answer with the peer's code, as §5.5.1 suggests; an empty close is answered empty.
                    let reply = match parsed {
                        ClosePayload::Code { code, .. } => encode_close_payload(code, b""),
                        _ => Vec::new(),
                    };
                    self.send_close(reply, WritePlan::default());
                }
                self.record.close.clean = true;
            }
            Observed::TcpClosed(_) => {
                if let Some(conn) = self.conn.as_mut() {
                    conn.tcp_closed = true;
                }
                self.record.close.tcp_closed_by.get_or_insert(Side::Peer);
            }
            _ => {}
        }
    }

    /// Sends a close frame with this payload.
    pub(super) fn send_close(&mut self, payload: Vec<u8>, write: WritePlan) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if conn.sent_close {
            self.recorder
                .note("a second close frame, sent as the case asks");
        }
        conn.sent_close = true;
        self.close_frame_sent = true;
        let info = &mut self.record.close;
        info.initiated_by.get_or_insert(Side::Harness);
        if let ClosePayload::Code { code, .. } = ClosePayload::parse(&payload) {
            info.harness_code.get_or_insert(code.0);
        }
        let spec = FrameSpec::new(Opcode::Close, payload).with_mask(self.mask(MaskSpec::Auto));
        self.recorder
            .frame(Direction::Sent, &spec.header(), &spec.payload);
        self.write_bytes(encode_frame(&spec), write);
    }

    /// The masking key a frame gets: the harness masks as its role requires unless the case says.
    pub(super) fn mask(&mut self, spec: MaskSpec) -> Option<[u8; 4]> {
        match spec {
            MaskSpec::Auto if self.role == Role::Server => Some(self.rng.random()),
            MaskSpec::AutoZero if self.role == Role::Server => Some([0; 4]),
            MaskSpec::Auto | MaskSpec::AutoZero | MaskSpec::None => None,
            MaskSpec::Random => Some(self.rng.random()),
            MaskSpec::Key(key) => Some(key),
        }
    }
}

/// What [`Interpreter::take_event`] found.
pub(super) enum Taken {
    /// The next event, already answered where an endpoint answers it.
    Event(Observed),
    /// Nothing yet: the wake-up is armed.
    Wait,
    /// The time ran out (or the connection is gone).
    TimedOut,
}
