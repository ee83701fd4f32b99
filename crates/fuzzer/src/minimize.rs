//! Minimizing a failing scenario: delta debugging on the scenario model.
//!
//! [`candidates`] lists the scenarios one simplification away from a failing one, the most reducing
//! first: whole items dropped (halves, then one at a time), handshake edits undone, the ending
//! dropped, then each part made simpler (a message sent in one frame, without pings or chopping,
//! as binary, with a shorter payload; a violation without the message left open before it, with a
//! shorter payload). The fuzzer re-runs them and keeps the first that still fails the same way,
//! then starts over from it, until no candidate fails or the budget of re-runs is spent. Working on
//! the scenario rather than on raw steps keeps every candidate well-formed: an expectation never
//! loses the send it waits for, and a message never loses its last fragment.

use wsspec_wire::Opcode;

use crate::scenario::{Body, Ending, Item, Message, Opening, Scenario, Violation, ViolationKind};

/// The scenarios one simplification away from `scenario`, most reducing first. None equals it.
pub fn candidates(scenario: &Scenario) -> Vec<Scenario> {
    let mut out = Vec::new();
    let items = &scenario.items;

    // Drop items: the first half, the second half, then each one.
    if items.len() >= 2 {
        let half = items.len() / 2;
        out.push(with_items(scenario, items[half..].to_vec()));
        out.push(with_items(scenario, items[..half].to_vec()));
    }
    for i in 0..items.len() {
        let mut fewer = items.clone();
        fewer.remove(i);
        out.push(with_items(scenario, fewer));
    }

    // Undo handshake edits.
    match &scenario.opening {
        Opening::Accepted(edits) => undo_edits(&mut out, scenario, edits, Opening::Accepted),
        Opening::ResponseAccepted(edits) => {
            undo_edits(&mut out, scenario, edits, Opening::ResponseAccepted)
        }
        Opening::Standard | Opening::Refused(_) | Opening::ResponseRefused(_) => {}
    }

    // Drop the ending, or simplify it.
    if scenario.ending != Ending::Done {
        out.push(Scenario {
            ending: Ending::Done,
            ..scenario.clone()
        });
    }
    match &scenario.ending {
        Ending::Done => {}
        Ending::Close(close) => {
            if close.open.is_some() {
                let mut simpler = close.clone();
                simpler.open = None;
                out.push(with_ending(scenario, Ending::Close(simpler)));
            }
            if !close.reason.is_empty() {
                let mut simpler = close.clone();
                simpler.reason.clear();
                out.push(with_ending(scenario, Ending::Close(simpler)));
            }
        }
        Ending::Violation(violation) => {
            for simpler in simpler_violations(violation) {
                out.push(with_ending(scenario, Ending::Violation(simpler)));
            }
        }
    }

    // Simplify each item.
    for (i, item) in items.iter().enumerate() {
        for simpler in simpler_items(item) {
            let mut changed = items.clone();
            changed[i] = simpler;
            out.push(with_items(scenario, changed));
        }
    }

    out.retain(|candidate| candidate != scenario);
    out
}

/// The scenario with the standard handshake, and (with several edits) with each edit undone.
fn undo_edits<E: Clone>(
    out: &mut Vec<Scenario>,
    scenario: &Scenario,
    edits: &[E],
    opening: fn(Vec<E>) -> Opening,
) {
    out.push(Scenario {
        opening: Opening::Standard,
        ..scenario.clone()
    });
    if edits.len() > 1 {
        for i in 0..edits.len() {
            let mut fewer = edits.to_vec();
            fewer.remove(i);
            out.push(Scenario {
                opening: opening(fewer),
                ..scenario.clone()
            });
        }
    }
}

fn with_items(scenario: &Scenario, items: Vec<Item>) -> Scenario {
    Scenario {
        items,
        ..scenario.clone()
    }
}

fn with_ending(scenario: &Scenario, ending: Ending) -> Scenario {
    Scenario {
        ending,
        ..scenario.clone()
    }
}

/// Shorter versions of a payload: empty, then each half.
fn shorter(payload: &[u8]) -> Vec<Vec<u8>> {
    if payload.is_empty() {
        return Vec::new();
    }
    let half = payload.len() / 2;
    let mut out = vec![Vec::new()];
    if half > 0 {
        out.push(payload[..half].to_vec());
        out.push(payload[half..].to_vec());
    }
    out
}

fn simpler_items(item: &Item) -> Vec<Item> {
    match item {
        Item::Ping(payload) => shorter(payload).into_iter().map(Item::Ping).collect(),
        Item::Pong(payload) => shorter(payload).into_iter().map(Item::Pong).collect(),
        Item::Message(message) => simpler_messages(message)
            .into_iter()
            .map(Item::Message)
            .collect(),
    }
}

fn simpler_messages(message: &Message) -> Vec<Message> {
    let mut out = Vec::new();
    let mut push = |change: &dyn Fn(&mut Message)| {
        let mut simpler = message.clone();
        change(&mut simpler);
        out.push(simpler);
    };
    if message.chop.is_some() {
        push(&|m| m.chop = None);
    }
    if !message.pings.is_empty() {
        push(&|m| m.pings.clear());
        for i in 0..message.pings.len() {
            push(&|m| {
                m.pings.remove(i);
            });
        }
        for i in 0..message.pings.len() {
            push(&|m| m.pings[i].1.clear());
        }
    }
    if !message.cuts.is_empty() {
        push(&|m| {
            m.cuts.clear();
            m.pings.clear();
        });
        for i in 0..message.cuts.len() {
            push(&|m| merge_fragments(m, i));
        }
    }
    if message.opcode == Opcode::Text {
        push(&|m| m.opcode = Opcode::Binary);
    }
    if let Body::Bytes(bytes) = &message.body {
        for (start, end) in fragment_halves(message, bytes) {
            push(&|m| remove_range(m, start, end));
        }
    }
    for body in shorter_bodies(&message.body, message.opcode == Opcode::Text) {
        push(&|m| {
            m.body = body.clone();
            let len = m.body.len();
            for cut in &mut m.cuts {
                *cut = (*cut).min(len);
            }
        });
    }
    out
}

/// Merges fragments `i` and `i + 1` (drops cut `i`); the pings keep their places between the
/// fragments that remain.
fn merge_fragments(message: &mut Message, i: usize) {
    message.cuts.remove(i);
    let frames = message.cuts.len() + 1;
    for (after, _) in &mut message.pings {
        if *after > i {
            *after -= 1;
        }
        // A ping that would now follow the last fragment goes before it instead.
        if *after + 1 >= frames && frames >= 2 {
            *after = frames - 2;
        }
    }
    message.pings.retain(|(after, _)| after + 1 < frames);
}

/// Byte ranges that halve one fragment each: the first or the second half of its bytes (for text,
/// whole characters only, so that a character split across fragments stays split).
fn fragment_halves(message: &Message, bytes: &[u8]) -> Vec<(usize, usize)> {
    let text = if message.opcode == Opcode::Text {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    };
    let boundary = |at: usize| text.is_none_or(|text| text.is_char_boundary(at));
    let mut bounds: Vec<usize> = message
        .cuts
        .iter()
        .map(|cut| usize::try_from(*cut).unwrap_or(usize::MAX).min(bytes.len()))
        .collect();
    bounds.push(bytes.len());
    let mut ranges = Vec::new();
    let mut start = 0;
    for end in bounds {
        let half = (end.saturating_sub(start) / 2).max(1);
        for (mut a, mut b) in [(start, start + half), (end.saturating_sub(half), end)] {
            while a < b && !boundary(a) {
                a += 1;
            }
            while b > a && !boundary(b) {
                b -= 1;
            }
            if start <= a && a < b && b <= end && !ranges.contains(&(a, b)) {
                ranges.push((a, b));
            }
        }
        start = end.max(start);
    }
    ranges
}

/// Removes bytes `start..end` of a spelled-out body; cuts after the range move back with it.
fn remove_range(message: &mut Message, start: usize, end: usize) {
    if let Body::Bytes(bytes) = &mut message.body {
        bytes.drain(start..end.min(bytes.len()));
        let removed = (end - start) as u64;
        for cut in &mut message.cuts {
            if *cut >= end as u64 {
                *cut -= removed;
            } else if *cut > start as u64 {
                *cut = start as u64;
            }
        }
    }
}

/// Shorter message bodies: empty, then each half (text cut at a character boundary).
fn shorter_bodies(body: &Body, text: bool) -> Vec<Body> {
    match body {
        Body::Bytes(bytes) if text => {
            let Ok(text) = std::str::from_utf8(bytes) else {
                return Vec::new();
            };
            if text.is_empty() {
                return Vec::new();
            }
            let mut half = text.len() / 2;
            while !text.is_char_boundary(half) {
                half -= 1;
            }
            let mut out = vec![Body::Bytes(Vec::new())];
            if half > 0 {
                out.push(Body::Bytes(text.as_bytes()[..half].to_vec()));
                out.push(Body::Bytes(text.as_bytes()[half..].to_vec()));
            }
            out
        }
        Body::Bytes(bytes) => shorter(bytes).into_iter().map(Body::Bytes).collect(),
        Body::Repeat { pattern, len } if *len > 0 => {
            let mut out = vec![Body::Bytes(Vec::new())];
            // Halve towards the smallest length that still fails; near the 64 KiB boundary, step
            // down by one byte at a time once halving no longer reproduces.
            for smaller in [len / 2, len - 1] {
                if smaller > 0 {
                    out.push(Body::Repeat {
                        pattern: pattern.clone(),
                        len: smaller,
                    });
                }
            }
            out
        }
        Body::Repeat { .. } => Vec::new(),
    }
}

fn simpler_violations(violation: &Violation) -> Vec<Violation> {
    let mut out = Vec::new();
    let with_kind = |kind: ViolationKind| Violation {
        kind,
        ..violation.clone()
    };
    if violation.open.is_some() && !violation.kind.needs_open() {
        out.push(Violation {
            open: None,
            ..violation.clone()
        });
    }
    if violation.chop.is_some() {
        out.push(Violation {
            chop: None,
            ..violation.clone()
        });
    }
    if let Some(open) = &violation.open {
        for payload in shorter(&open.payload) {
            let mut open = open.clone();
            open.payload = payload;
            out.push(Violation {
                open: Some(open),
                ..violation.clone()
            });
        }
    }
    match &violation.kind {
        ViolationKind::Rsv {
            rsv,
            opcode,
            payload,
        } => {
            if *opcode == Opcode::Continuation {
                // RSV bits on a continuation need a message open; a whole frame needs none.
                out.push(Violation {
                    kind: ViolationKind::Rsv {
                        rsv: *rsv,
                        opcode: Opcode::Binary,
                        payload: payload.clone(),
                    },
                    open: None,
                    ..violation.clone()
                });
            }
            for payload in shorter(payload) {
                out.push(with_kind(ViolationKind::Rsv {
                    rsv: *rsv,
                    opcode: *opcode,
                    payload,
                }));
            }
        }
        ViolationKind::ReservedOpcode {
            opcode,
            fin,
            payload,
        } => {
            if !fin {
                out.push(with_kind(ViolationKind::ReservedOpcode {
                    opcode: *opcode,
                    fin: true,
                    payload: payload.clone(),
                }));
            }
            for payload in shorter(payload) {
                out.push(with_kind(ViolationKind::ReservedOpcode {
                    opcode: *opcode,
                    fin: *fin,
                    payload,
                }));
            }
        }
        ViolationKind::OversizedControl { opcode, len } => {
            if *len > 126 {
                out.push(with_kind(ViolationKind::OversizedControl {
                    opcode: *opcode,
                    len: 126,
                }));
            }
        }
        ViolationKind::FragmentedControl {
            opcode,
            first,
            rest,
        } => {
            if rest.is_some() {
                out.push(with_kind(ViolationKind::FragmentedControl {
                    opcode: *opcode,
                    first: first.clone(),
                    rest: None,
                }));
            }
            for first in shorter(first) {
                out.push(with_kind(ViolationKind::FragmentedControl {
                    opcode: *opcode,
                    first,
                    rest: rest.clone(),
                }));
            }
            if let Some(rest) = rest {
                for rest in shorter(rest) {
                    out.push(with_kind(ViolationKind::FragmentedControl {
                        opcode: *opcode,
                        first: first.clone(),
                        rest: Some(rest),
                    }));
                }
            }
        }
        ViolationKind::StrayContinuation { fin, payload } => {
            for payload in shorter(payload) {
                out.push(with_kind(ViolationKind::StrayContinuation {
                    fin: *fin,
                    payload,
                }));
            }
        }
        ViolationKind::NewMessage {
            opcode,
            fin,
            payload,
        } => {
            for payload in shorter(payload) {
                out.push(with_kind(ViolationKind::NewMessage {
                    opcode: *opcode,
                    fin: *fin,
                    payload,
                }));
            }
        }
        ViolationKind::InvalidUtf8 { bytes, cuts } => {
            if !cuts.is_empty() {
                out.push(with_kind(ViolationKind::InvalidUtf8 {
                    bytes: bytes.clone(),
                    cuts: Vec::new(),
                }));
            }
            // Keep only what is still invalid: drop bytes from either end.
            let len = bytes.len();
            for (start, end) in [(len / 2, len), (0, len / 2), (1, len), (0, len - 1)] {
                let part = bytes.get(start..end).unwrap_or_default();
                if part.len() < len && std::str::from_utf8(part).is_err() {
                    let cuts = cuts.iter().map(|c| (*c).min(part.len() as u64)).collect();
                    out.push(with_kind(ViolationKind::InvalidUtf8 {
                        bytes: part.to_vec(),
                        cuts,
                    }));
                }
            }
        }
        ViolationKind::InvalidCloseCode { code, reason } => {
            if !reason.is_empty() {
                out.push(with_kind(ViolationKind::InvalidCloseCode {
                    code: *code,
                    reason: String::new(),
                }));
            }
        }
        ViolationKind::OneByteClose(_) => {}
        ViolationKind::InvalidCloseReason { code, reason } => {
            let len = reason.len();
            for (start, end) in [(len / 2, len), (0, len / 2), (1, len), (0, len - 1)] {
                let part = reason.get(start..end).unwrap_or_default();
                if part.len() < len && std::str::from_utf8(part).is_err() {
                    out.push(with_kind(ViolationKind::InvalidCloseReason {
                        code: *code,
                        reason: part.to_vec(),
                    }));
                }
            }
        }
        ViolationKind::Unmasked { payload, .. } | ViolationKind::Masked { payload, .. } => {
            for shorter_payload in shorter(payload) {
                let mut kind = violation.kind.clone();
                if let ViolationKind::Unmasked { payload, .. }
                | ViolationKind::Masked { payload, .. } = &mut kind
                {
                    *payload = shorter_payload;
                }
                out.push(with_kind(kind));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
