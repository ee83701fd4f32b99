//! permessage-deflate on a connection: what the harness offers or answers, and what was agreed.
//!
//! A case's `deflate` table ([`DeflateSpec`]) says, role-neutrally, what the harness asks of the peer
//! (`peer_no_context_takeover`, `peer_max_window_bits`) and what it promises itself. Testing a server,
//! [`offer_header`] turns it into the request's `Sec-WebSocket-Extensions` value, and [`settled_by_server`]
//! reads back what the response accepted. Testing a client, [`answer_client`] picks the client's first
//! offer that lets the harness ask for an entry and writes the response element. Either way the
//! result is a [`Settled`]: how the harness compresses what it sends, and how the peer compresses what
//! it sends. The codec itself is `wsspec_wire::deflate`.

use wsspec_suite::handshake::{DeflateOffer, DeflateSpec};
use wsspec_wire::{
    Request, Response,
    deflate::{Agreement, DeflateParams, Direction, PERMESSAGE_DEFLATE},
    parse_extensions,
};

use crate::handshake::{Offer, header_values};
use crate::judge::deflate_response_problems;

/// The zlib level the harness compresses at. Level 3 keeps the harness cheaper than a peer at the usual
/// level 6 (the harness must never be the bottleneck) while its output is within a tenth of level 6's
/// size, with dynamic Huffman codes and back-references into the window, which is what the peer's
/// decompressor is tested on. (Level 1 on zlib-rs writes static codes only, and makes incompressible
/// data 4% larger, more for the peer to inflate.)
pub const LEVEL: u32 = 3;

/// The most bytes one compressed message from the peer may inflate to: far above what any case sends
/// (16 MiB at most), low enough that a small "zip bomb" costs bounded time.
pub const MAX_INFLATED: u64 = 64 << 20;

/// What the handshake settled for a connection with permessage-deflate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    /// How the harness compresses: the agreement for its side, and its own promise not to use context
    /// takeover when it made one.
    pub own: Direction,
    /// How the peer compresses, as agreed.
    pub peer: Direction,
    /// The response element that settled it, as a header value.
    pub response: String,
}

/// The request parameters for one entry of a case's `deflate` table (the harness is the client).
pub fn offer_params(entry: &DeflateOffer) -> DeflateParams {
    DeflateParams {
        client_no_context_takeover: entry.no_context_takeover || entry.hint_no_context_takeover,
        client_max_window_bits: Some(entry.max_window_bits),
        server_no_context_takeover: entry.peer_no_context_takeover,
        server_max_window_bits: entry.peer_max_window_bits,
    }
}

/// The `Sec-WebSocket-Extensions` value offering every entry, most preferred first.
pub fn offer_header(spec: &DeflateSpec) -> String {
    spec.offers
        .iter()
        .map(|entry| offer_params(entry).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a server's response settled, if it accepted permessage-deflate validly for one of the offers
/// (an invalid acceptance is the judge's business, and settles nothing). The harness keeps to the
/// `client_no_context_takeover` it offered, unless the case's `spec` offered it as a hint only.
pub fn settled_by_server(
    spec: Option<&DeflateSpec>,
    offer: &Offer,
    response: &Response,
) -> Option<Settled> {
    let accepted = header_values(&response.headers, "sec-websocket-extensions")
        .flat_map(parse_extensions)
        .find(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))?;
    let answer = DeflateParams::parse(&accepted.params).ok()?;
    let offered = offer
        .extensions
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .filter_map(|e| DeflateParams::parse(&e.params).ok())
        .find(|params| deflate_response_problems(&accepted.params, params).is_empty())?;
    let agreement = Agreement::of(&offered, &answer);
    let hinted = spec.is_some_and(|spec| spec.offers.iter().any(|e| e.hint_no_context_takeover));
    let promised = offered.client_no_context_takeover && !hinted;
    Some(Settled {
        own: Direction {
            no_context_takeover: agreement.client.no_context_takeover || promised,
            ..agreement.client
        },
        peer: agreement.server,
        response: answer.to_string(),
    })
}

/// The harness's answer to a client's request (the harness is the server): the response element for
/// the first entry of `spec` that one of the client's valid offers allows, and what it settles.
/// `None` when no offer allows any entry (or the client offered nothing).
pub fn answer_client(spec: &DeflateSpec, request: &Request) -> Option<Settled> {
    let offers: Vec<DeflateParams> = request
        .header_values("sec-websocket-extensions")
        .flat_map(parse_extensions)
        .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        // RFC 7692 §7: a server MUST decline an offer with an unknown, repeated or invalid parameter.
        .filter_map(|e| DeflateParams::parse(&e.params).ok())
        .collect();
    spec.offers.iter().find_map(|entry| {
        offers.iter().find_map(|offered| {
            let response = answer_params(entry, offered)?;
            let agreement = Agreement::of(offered, &response);
            Some(Settled {
                own: agreement.server,
                peer: agreement.client,
                response: response.to_string(),
            })
        })
    })
}

/// The response a server sends to accept `offered` while asking for what `entry` asks, if it can.
fn answer_params(entry: &DeflateOffer, offered: &DeflateParams) -> Option<DeflateParams> {
    // The client's window can only be limited when its offer says it supports that (§7.1.2.2).
    let client_max_window_bits = match (entry.peer_max_window_bits, offered.client_max_window_bits)
    {
        (None, _) => None,
        (Some(_), None) => return None,
        (Some(asked), Some(promised)) => Some(Some(promised.map_or(asked, |p| p.min(asked)))),
    };
    // Accepting a server_max_window_bits offer means answering it with the same or a smaller value.
    let server_max_window_bits = match (offered.server_max_window_bits, entry.max_window_bits) {
        (Some(limit), own) => Some(own.map_or(limit, |own| own.min(limit))),
        (None, own) => own,
    };
    Some(DeflateParams {
        server_no_context_takeover: offered.server_no_context_takeover || entry.no_context_takeover,
        client_no_context_takeover: entry.peer_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::parse_extensions;

    fn spec(offers: &[DeflateOffer]) -> DeflateSpec {
        DeflateSpec {
            offers: offers.to_vec(),
            required: true,
        }
    }

    const NCT9: DeflateOffer = DeflateOffer {
        peer_no_context_takeover: true,
        peer_max_window_bits: Some(9),
        no_context_takeover: true,
        max_window_bits: None,
        hint_no_context_takeover: false,
    };

    #[test]
    fn offers_are_written_as_autobahn_writes_them() {
        let offers = spec(&[
            NCT9,
            DeflateOffer {
                peer_no_context_takeover: true,
                no_context_takeover: true,
                ..DeflateOffer::default()
            },
            DeflateOffer::default(),
        ]);
        assert_eq!(
            offer_header(&offers),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9, \
             permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, \
             permessage-deflate; client_max_window_bits"
        );
    }

    #[test]
    fn a_server_response_settles_both_directions() {
        let offer = Offer {
            extensions: parse_extensions(&offer_header(&spec(&[NCT9, DeflateOffer::default()]))),
            ..Offer::default()
        };
        let mut response = Response::switching_protocols("x");
        response.set_header(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
        );
        let settled = settled_by_server(None, &offer, &response).unwrap();
        assert_eq!(
            settled.peer,
            Direction {
                max_window_bits: 9,
                no_context_takeover: true
            }
        );
        // The harness promised no context takeover in its offer, and keeps to it.
        assert_eq!(
            settled.own,
            Direction {
                max_window_bits: 10,
                no_context_takeover: true
            }
        );
        // Offered as a hint only, it binds the harness only when the response agrees to it.
        let hint = spec(&[DeflateOffer {
            hint_no_context_takeover: true,
            ..DeflateOffer::default()
        }]);
        let hinted = Offer {
            extensions: parse_extensions(&offer_header(&hint)),
            ..offer.clone()
        };
        response.set_header("Sec-WebSocket-Extensions", "permessage-deflate");
        let settled = settled_by_server(Some(&hint), &hinted, &response).unwrap();
        assert!(!settled.own.no_context_takeover);
        assert!(offer_header(&hint).contains("client_no_context_takeover"));
        response.set_header(
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_no_context_takeover",
        );
        let settled = settled_by_server(Some(&hint), &hinted, &response).unwrap();
        assert!(settled.own.no_context_takeover);
        response.set_header("Sec-WebSocket-Extensions", "x-other");
        assert_eq!(settled_by_server(None, &offer, &response), None);
    }

    #[test]
    fn a_client_offer_is_answered_with_what_the_case_asks() {
        let request = |value: &str| {
            let mut request = Request::websocket("h", "/", "k");
            request.set_header("Sec-WebSocket-Extensions", value);
            request
        };
        // The client's window can be limited only if it offered client_max_window_bits.
        let asks_window = spec(&[NCT9]);
        assert_eq!(
            answer_client(&asks_window, &request("permessage-deflate")),
            None
        );
        let settled = answer_client(
            &asks_window,
            &request("permessage-deflate; foo, permessage-deflate; client_max_window_bits; server_max_window_bits=12"),
        )
        .unwrap();
        assert_eq!(
            settled.response,
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=9; server_no_context_takeover; server_max_window_bits=12"
        );
        assert_eq!(
            (settled.peer.max_window_bits, settled.own.max_window_bits),
            (9, 12)
        );
        let plain = answer_client(
            &spec(&[DeflateOffer::default()]),
            &request("permessage-deflate"),
        );
        assert_eq!(plain.unwrap().response, "permessage-deflate");
    }
}
