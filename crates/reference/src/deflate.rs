//! permessage-deflate (RFC 7692) in the reference server: which offer it accepts, and the echo of a
//! connection that agreed to it. tungstenite 0.30 has no permessage-deflate, so such a connection runs
//! on yawc, which implements it with zlib (every window size, both context-takeover parameters);
//! connections without it stay on tungstenite.
//!
//! **The offer accepted** is the first valid one (RFC 7692 §5: offers are in the client's order of
//! preference). An offer with an unknown, repeated or malformed parameter is declined, as §7.1
//! requires. The response repeats the offer's context-takeover parameters and its server window,
//! and sets no client window: the server inflates with 2^15, which decodes what any smaller window
//! produced. With `server_max_window_bits=8` agreed, the server sends its messages uncompressed
//! (§6: a message may go either way): zlib cannot compress with a 2^8 window, and yawc would use
//! 2^9, further back than such a client keeps.
//!
//! **The echo** sends every text and binary message back, compressed; yawc answers pings and the
//! close frame itself. When the client breaks the protocol the connection fails with a close frame:
//! 1002, 1007 or 1009 as for the tungstenite connections, 1011 for data that does not inflate, and
//! 1002 for RSV1 on a control or continuation frame, which [`Inbound`] catches before yawc (yawc 0.5
//! takes such frames).

use std::{sync::atomic::Ordering, time::Duration};

use futures_util::SinkExt;
use tokio::io::{AsyncRead, AsyncWrite};
use wsspec_wire::{
    Request,
    deflate::{DeflateParams, MIN_WINDOW_BITS, PERMESSAGE_DEFLATE},
    parse_extensions,
};
use yawc::{
    Options, WebSocket, WebSocketError,
    close::CloseCode,
    frame::{Frame, OpCode},
};

use crate::{Outcome, inbound::Inbound};

/// The response element for the request's first valid permessage-deflate offer, or `None` when it
/// made none.
pub fn accept(request: &Request) -> Option<DeflateParams> {
    request
        .header_values("sec-websocket-extensions")
        .flat_map(parse_extensions)
        .filter(|offer| offer.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .filter_map(|offer| DeflateParams::parse(&offer.params).ok())
        .next()
        .map(|offer| DeflateParams {
            server_no_context_takeover: offer.server_no_context_takeover,
            client_no_context_takeover: offer.client_no_context_takeover,
            server_max_window_bits: offer.server_max_window_bits,
            client_max_window_bits: None,
        })
}

/// Echoes a connection that agreed to `agreed` until it closes or fails. `early` holds what the
/// client sent after its request head, already frames.
pub(crate) async fn echo<S>(
    stream: S,
    early: Vec<u8>,
    agreed: &DeflateParams,
    max_message_size: usize,
    linger: Duration,
) -> Outcome
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Every message is compressed, but under a 2^8 window, which zlib cannot keep: none is.
    let threshold = if agreed.server_max_window_bits == Some(MIN_WINDOW_BITS) {
        usize::MAX
    } else {
        0
    };
    let options = Options::default()
        .with_low_latency_compression()
        .with_compression_threshold(threshold)
        .with_max_payload_read(max_message_size)
        .with_utf8();
    let inbound = Inbound::new(early, stream);
    let flags = inbound.flags();
    let agreed = agreed.to_string();
    let Ok(mut ws) =
        WebSocket::from_stream_with_extensions(inbound, yawc::Role::Server, Some(&agreed), options)
    else {
        return Outcome::Dropped;
    };
    loop {
        let err = match ws.next_frame().await {
            Ok(frame) => {
                let (opcode, _, payload) = frame.into_parts();
                let echo = match opcode {
                    OpCode::Text => Frame::text(payload),
                    OpCode::Binary => Frame::binary(payload),
                    // yawc queued the pong or the close reply; the next read writes it out.
                    _ => continue,
                };
                // `send` flushes, so the echo is on the wire when it returns.
                if ws.send(echo).await.is_err() {
                    return Outcome::Dropped;
                }
                continue;
            }
            Err(err) => err,
        };
        let broken = flags.broken.load(Ordering::Relaxed);
        let (code, reason) = match err {
            // Inbound stopped the bytes at a frame with RSV1 (yawc saw their end, or an error).
            _ if broken => (
                CloseCode::Protocol,
                "RSV1 on a control or continuation frame",
            ),
            // The close handshake is done and yawc wrote its reply (or the client went away):
            // closing the sink sends nothing more, and shuts TCP down, server first.
            WebSocketError::ConnectionClosed => {
                let _ = tokio::time::timeout(linger, ws.close()).await;
                return Outcome::Closed;
            }
            err if err.is_io_error() => return Outcome::Dropped,
            WebSocketError::InvalidUTF8 => (CloseCode::Invalid, "invalid UTF-8"),
            WebSocketError::FrameTooLarge => (CloseCode::Size, "message too big"),
            _ => (CloseCode::Protocol, "protocol error"),
        };
        // yawc queued a close frame for most errors, written when the sink is next made ready;
        // where it did not (an RSV1 frame never reached it, a text that is not UTF-8, a stray
        // continuation), this one goes out. Then TCP is shut down and the client's last bytes are
        // read and dropped, so that no reset destroys the close frame before the client reads it.
        let sent = tokio::time::timeout(linger, async {
            std::future::poll_fn(|cx| ws.poll_ready_unpin(cx)).await?;
            if !flags.close_sent.load(Ordering::Relaxed) {
                ws.send(Frame::close(code, reason)).await?;
            }
            ws.close().await
        })
        .await;
        if !matches!(sent, Ok(Ok(()))) {
            return Outcome::Dropped;
        }
        let _ =
            tokio::time::timeout(linger, async { while ws.next_frame().await.is_ok() {} }).await;
        return Outcome::FailedOnDeflate;
    }
}
