//! wsspec-mutants: small WebSocket echo servers, each broken in exactly one way.
//!
//! A conformance case is only worth having if some server can fail it. This crate provides the
//! servers that prove it: [`spawn`] starts an echo server with one [`Defect`] on a local port, and
//! the tests of the suite run their cases against it and expect a failure where the defect shows.
//! [`Defect::None`] is the control: a correct server that must pass every case.
//!
//! The servers are built on the sans-IO codec of `wsspec-wire` and driven by tokio; they answer the
//! opening handshake as the reference server does (`wsspec_reference::handshake`), and the handshake
//! defects bend that answer. Unlike the reference server they speak permessage-deflate (RFC 7692,
//! with `wsspec_wire::deflate`): they accept the first valid offer, answering
//! `server_no_context_takeover` and `server_max_window_bits` as offered (an offer of a 2^8 window,
//! which zlib cannot compress with, is declined), inflate compressed messages and compress every echo;
//! the `Deflate*` defects break that. All protocol
//! decisions live in a synchronous state machine (the private `session` module) that turns decoded
//! frame events into steps (send a frame, fail the connection, end after a close); it serves both
//! roles, the mutant servers and the mutant clients, with the rules they share written once. The
//! `server` module (and `client` for the clients) does the socket work. Each defect changes exactly one rule of the correct server, as
//! its variant of [`Defect`] describes.
//!
//! The [`hostile`] module holds the other kind of fixture: servers that attack the harness itself (a
//! flood, a trickle, a reset, a header block of a megabyte) to prove that it never hangs or crashes.
//! The [`client`] module does the same for the other side: [`drive`] runs every case of a fuzzing
//! server (`wsspec client`) with a client that has one [`ClientDefect`]. And [`hostile_client`]
//! attacks the harness in that role: [`hostile_client::attack`] opens one case's URL and then
//! stays silent, trickles, floods or never closes, as its [`hostile_client::ClientBehavior`] says.
//!
//! These servers are test fixtures: they serve every connection until it ends, keep no more than
//! [`MAX_MESSAGE_LEN`] bytes of a message in memory, and never panic on peer input; an I/O error
//! ends only the connection it happened on.

use std::fmt;
use std::io;
use std::net::SocketAddr;

pub mod client;
pub mod hostile;
pub mod hostile_client;
mod server;
mod session;
mod tls_server;

pub use client::drive;

/// The longest message (or frame, for control frames) a server keeps; longer ones fail with 1009.
pub const MAX_MESSAGE_LEN: u64 = 64 * 1024 * 1024;

/// The one thing a mutant server does wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Defect {
    /// Nothing: a correct echo server that must pass every case.
    None,
    /// Ignores RSV bits instead of failing the connection.
    AcceptsRsv,
    /// Silently ignores frames with reserved opcodes (3-7, 11-15) instead of failing.
    AcceptsReservedOpcode,
    /// Answers every ping with an empty pong.
    EmptyPong,
    /// Ignores a continuation frame when no message is open instead of failing.
    AcceptsStrayContinuation,
    /// Accepts a ping or pong with FIN = 0: the continuation frames are appended to it, and a
    /// fragmented ping is answered with a pong of the joined payload.
    AcceptsFragmentedControl,
    /// Answers a ping of more than 125 bytes with a pong instead of failing.
    AcceptsOversizedControl,
    /// Echoes only the first 65535 bytes of a longer message (a length-encoding bug).
    TruncatesLongMessages,
    /// Ignores pings that arrive in the middle of a fragmented message.
    NoPongWhileFragmented,
    /// A text or binary frame while a fragmented message is open starts a new message (the open
    /// one is dropped) instead of failing.
    AcceptsNewMessageMidFragment,
    /// Never answers a close frame; keeps reading until the peer goes away.
    NoCloseReply,
    /// Answers the close frame but never closes TCP itself; keeps reading until the peer goes away.
    KeepsTcpOpen,
    /// Never checks that text messages are UTF-8.
    AcceptsInvalidUtf8,
    /// Checks a text message's UTF-8 only once the message is complete, not as bytes arrive.
    Utf8CheckedAtEnd,
    /// Answers a close frame whose code may not be sent (0, 999, 1005, ...) by echoing the code.
    AcceptsInvalidCloseCodes,
    /// Takes a data frame of any declared length and waits for all of its bytes.
    NoSizeLimit,
    /// Checks UTF-8 frame by frame, so a code point split across two frames is wrongly refused.
    Utf8CheckedPerFrame,
    /// Computes `Sec-WebSocket-Accept` with a wrong GUID.
    WrongAcceptGuid,
    /// Upgrades whatever `Sec-WebSocket-Version` says, or with none.
    AcceptsAnyVersion,
    /// Upgrades a request that has no `Sec-WebSocket-Key`.
    AcceptsMissingKey,
    /// Answers a request that offers subprotocols with one it did not offer.
    SelectsUnofferedSubprotocol,
    /// Upgrades a POST request as if it were a GET.
    AcceptsPost,
    /// Accepts permessage-deflate with `client_max_window_bits=15` even when the offer did not
    /// carry that parameter (RFC 7692 §7.1.2.2: the response MUST NOT include it then).
    DeflateUnofferedParameter,
    /// Accepts `server_no_context_takeover` but keeps its compression context from message to
    /// message anyway.
    DeflateKeepsContext,
    /// Inflates each message with an empty window, as if the client had agreed to
    /// `client_no_context_takeover` (RFC 7692 §7.2.2: without it, the server MUST decompress each
    /// message with the window of the last one).
    DeflateForgetsContext,
    /// Accepts a permessage-deflate offer it cannot parse (an unknown, repeated or invalid
    /// parameter) with a plain `permessage-deflate` response (RFC 7692 §7: it MUST decline it).
    DeflateAcceptsInvalidOffer,
    /// With permessage-deflate agreed, sets RSV1 on its pongs (RFC 7692 §6: never on control
    /// frames).
    DeflateRsv1OnPong,
    /// Takes unmasked client frames as if they were masked (RFC 6455 §5.1: the server MUST close
    /// the connection).
    AcceptsUnmaskedFrames,
    /// Answers a close frame it cannot accept (a 1-byte payload, a code that may not be sent, a
    /// reason that is not UTF-8) with an empty close frame and closes TCP: it fails the connection,
    /// but without the status code §7.1.7 asks for (SHOULD).
    FailsWithoutStatusCode,
    /// Writes the length of every frame it sends in the 64-bit form, whatever the length (RFC 6455
    /// §5.2: the minimal number of bytes MUST be used).
    LongLengthForm,
    /// Masks every frame it sends (RFC 6455 §5.1: a server MUST NOT mask).
    MasksFrames,
    /// Sets the RSV bits that no agreed extension defines on every data frame it sends: all three,
    /// or RSV2 and RSV3 with permessage-deflate agreed (RFC 6455 §5.2: they MUST be 0).
    SetsReservedBits,
    /// Echoes every message with the reserved opcode 3 (RFC 6455 §6.1: the opcode of the first
    /// frame MUST be the one for the data).
    EchoesWithReservedOpcode,
    /// Sends each pong as two fragments, a pong with FIN clear and an empty continuation (RFC 6455
    /// §5.5: control frames MUST NOT be fragmented).
    FragmentsPongs,
    /// Fails the connection with close code 1015 instead of the fitting one (RFC 6455 §7.4.1: 1015
    /// MUST NOT be set as a status code in a Close frame).
    FailsWith1015,
    /// Answers a request that offers no extension with `Sec-WebSocket-Extensions:
    /// x-wsspec-unoffered` (RFC 6455 §4.2.2: the extensions in the response MUST be derived from
    /// the client's offer).
    AcceptsUnofferedExtension,
    /// Refuses a request whose target is in the absolute form (`GET http://host/ HTTP/1.1`) with 400
    /// (RFC 9112 §3.2.2: a server MUST accept the absolute-form).
    RejectsAbsoluteForm,
    /// Leaves the `Upgrade` header out of its 101 response (RFC 9110 §7.8: a server that sends 101
    /// MUST send Upgrade).
    UpgradesWithoutUpgradeHeader,
    /// Closes TCP without an HTTP response where it refuses an opening handshake (RFC 6455 §4.2.2:
    /// it MUST return an appropriate HTTP error code).
    DropsRefusals,
    /// Reads its request head as a hand-written parser might: a header line is a name, `: ` and a
    /// value, and only `Upgrade: websocket` written so is an upgrade (RFC 6455 §4.2.1: the value is
    /// case-insensitive; RFC 9110 §5.5: whitespace around a field value is not part of it).
    ReadsHeadersNaively,
    /// Never sends the 500th message of a connection, as a send queue that loses one would (RFC 6455
    /// §6.1: the frames formed MUST be transmitted).
    DropsMessages,
    /// Closes TCP without an answer when the request target is over 8 KiB (RFC 9112 §3: a server
    /// MUST answer a target longer than it wishes to parse with 414).
    DropsLongTargets,
    /// Inflates the client's messages with an empty window when its offer carried
    /// `client_no_context_takeover`, though the response did not agree to it (RFC 7692 §7.2.2: the
    /// offer is a hint; without the agreement the server MUST keep the window).
    DeflateTrustsContextHint,
    /// Accepts permessage-deflate with a parameter the extension does not define,
    /// `x-wsspec-server` (RFC 6455 §9.1: the parameters MUST be defined for that extension).
    DeflateAnswersUnknownParameter,
    /// Accepts permessage-deflate from a `Sec-WebSocket-Extensions` offer that does not conform to
    /// the ABNF (RFC 6455 §9.1: the recipient of malformed negotiation data MUST fail the
    /// connection).
    DeflateAcceptsMalformedOffer,
    /// Sends `Sec-WebSocket-Accept` twice in its 101, `Sec-WebSocket-Extensions` twice when it
    /// accepts an extension, and selects the first offered subprotocol in two
    /// `Sec-WebSocket-Protocol` fields (RFC 6455 §11.3: none MUST appear more than once in a
    /// response).
    DuplicatesResponseFields,
    /// Accepts permessage-deflate with `client_max_window_bits="1 5"`, a quoted value that is no
    /// token once unescaped (RFC 6455 §9.1: it MUST conform to the token ABNF).
    DeflateQuotesNonToken,
    /// Answers the request head as it stands after one read, refusing it with 400 when it is not
    /// complete (RFC 9110 §5.3: a server MUST NOT apply a request before its whole header section).
    AnswersFirstRead,
    /// Answers `Sec-WebSocket-Extensions` with the client's offer, word for word: it accepts every
    /// extension offered, registered or not (RFC 6455 §9.1), and permessage-deflate beside others
    /// that use RSV1 (RFC 7692 §5).
    EchoesExtensionOffer,
    /// Sends each compressed echo of two bytes or more in two fragments, compressing each as if it
    /// were a whole message: it removes 0x00 0x00 0xff 0xff from the first fragment too (RFC 7692
    /// §7.2.1: only at the end of the message).
    DeflateStripsFragmentTails,
    /// Compresses each echo into a stream that ends with a final block (BFINAL = 1) and sets the
    /// padding bits after it to 1 (RFC 7692 §7.2.1: an endpoint MUST pad with 0 bits).
    DeflatePadsWithOnes,
    /// Speaks TLS (`wss://`, a self-signed certificate), and after the TLS handshake writes its
    /// answer to the request in the clear (RFC 6455 §4.2.2: the server's handshake MUST run through
    /// the encrypted tunnel).
    AnswersOutsideTls,
}

impl Defect {
    /// Every variant, [`Defect::None`] first.
    pub const ALL: [Defect; 52] = [
        Defect::None,
        Defect::AcceptsRsv,
        Defect::AcceptsReservedOpcode,
        Defect::EmptyPong,
        Defect::AcceptsStrayContinuation,
        Defect::AcceptsFragmentedControl,
        Defect::AcceptsOversizedControl,
        Defect::TruncatesLongMessages,
        Defect::NoPongWhileFragmented,
        Defect::AcceptsNewMessageMidFragment,
        Defect::NoCloseReply,
        Defect::KeepsTcpOpen,
        Defect::AcceptsInvalidUtf8,
        Defect::Utf8CheckedAtEnd,
        Defect::AcceptsInvalidCloseCodes,
        Defect::NoSizeLimit,
        Defect::Utf8CheckedPerFrame,
        Defect::WrongAcceptGuid,
        Defect::AcceptsAnyVersion,
        Defect::AcceptsMissingKey,
        Defect::SelectsUnofferedSubprotocol,
        Defect::AcceptsPost,
        Defect::DeflateUnofferedParameter,
        Defect::DeflateKeepsContext,
        Defect::DeflateForgetsContext,
        Defect::DeflateAcceptsInvalidOffer,
        Defect::DeflateRsv1OnPong,
        Defect::AcceptsUnmaskedFrames,
        Defect::FailsWithoutStatusCode,
        Defect::LongLengthForm,
        Defect::MasksFrames,
        Defect::SetsReservedBits,
        Defect::EchoesWithReservedOpcode,
        Defect::FragmentsPongs,
        Defect::FailsWith1015,
        Defect::DropsRefusals,
        Defect::RejectsAbsoluteForm,
        Defect::UpgradesWithoutUpgradeHeader,
        Defect::AcceptsUnofferedExtension,
        Defect::ReadsHeadersNaively,
        Defect::DropsMessages,
        Defect::DropsLongTargets,
        Defect::DeflateTrustsContextHint,
        Defect::DeflateAnswersUnknownParameter,
        Defect::DeflateAcceptsMalformedOffer,
        Defect::DuplicatesResponseFields,
        Defect::AnswersFirstRead,
        Defect::DeflateQuotesNonToken,
        Defect::EchoesExtensionOffer,
        Defect::DeflateStripsFragmentTails,
        Defect::DeflatePadsWithOnes,
        Defect::AnswersOutsideTls,
    ];

    /// The kebab-case name, such as "accepts-rsv" (and "none" for the correct server).
    pub fn name(self) -> &'static str {
        match self {
            Defect::None => "none",
            Defect::AcceptsRsv => "accepts-rsv",
            Defect::AcceptsReservedOpcode => "accepts-reserved-opcode",
            Defect::EmptyPong => "empty-pong",
            Defect::AcceptsStrayContinuation => "accepts-stray-continuation",
            Defect::AcceptsFragmentedControl => "accepts-fragmented-control",
            Defect::AcceptsOversizedControl => "accepts-oversized-control",
            Defect::TruncatesLongMessages => "truncates-long-messages",
            Defect::NoPongWhileFragmented => "no-pong-while-fragmented",
            Defect::AcceptsNewMessageMidFragment => "accepts-new-message-mid-fragment",
            Defect::NoCloseReply => "no-close-reply",
            Defect::KeepsTcpOpen => "keeps-tcp-open",
            Defect::AcceptsInvalidUtf8 => "accepts-invalid-utf8",
            Defect::Utf8CheckedAtEnd => "utf8-checked-at-end",
            Defect::AcceptsInvalidCloseCodes => "accepts-invalid-close-codes",
            Defect::NoSizeLimit => "no-size-limit",
            Defect::Utf8CheckedPerFrame => "utf8-checked-per-frame",
            Defect::WrongAcceptGuid => "wrong-accept-guid",
            Defect::AcceptsAnyVersion => "accepts-any-version",
            Defect::AcceptsMissingKey => "accepts-missing-key",
            Defect::SelectsUnofferedSubprotocol => "selects-unoffered-subprotocol",
            Defect::AcceptsPost => "accepts-post",
            Defect::DeflateUnofferedParameter => "deflate-unoffered-parameter",
            Defect::DeflateKeepsContext => "deflate-keeps-context",
            Defect::DeflateForgetsContext => "deflate-forgets-context",
            Defect::DeflateAcceptsInvalidOffer => "deflate-accepts-invalid-offer",
            Defect::DeflateRsv1OnPong => "deflate-rsv1-on-pong",
            Defect::AcceptsUnmaskedFrames => "accepts-unmasked-frames",
            Defect::FailsWithoutStatusCode => "fails-without-status-code",
            Defect::LongLengthForm => "long-length-form",
            Defect::MasksFrames => "masks-frames",
            Defect::SetsReservedBits => "sets-reserved-bits",
            Defect::EchoesWithReservedOpcode => "echoes-with-reserved-opcode",
            Defect::FragmentsPongs => "fragments-pongs",
            Defect::FailsWith1015 => "fails-with-1015",
            Defect::DropsRefusals => "drops-refusals",
            Defect::RejectsAbsoluteForm => "rejects-absolute-form",
            Defect::AcceptsUnofferedExtension => "accepts-unoffered-extension",
            Defect::UpgradesWithoutUpgradeHeader => "upgrades-without-upgrade-header",
            Defect::ReadsHeadersNaively => "reads-headers-naively",
            Defect::DropsMessages => "drops-messages",
            Defect::DropsLongTargets => "drops-long-targets",
            Defect::DeflateTrustsContextHint => "deflate-trusts-context-hint",
            Defect::DeflateAnswersUnknownParameter => "deflate-answers-unknown-parameter",
            Defect::DeflateAcceptsMalformedOffer => "deflate-accepts-malformed-offer",
            Defect::DuplicatesResponseFields => "duplicates-response-fields",
            Defect::EchoesExtensionOffer => "echoes-extension-offer",
            Defect::DeflateStripsFragmentTails => "deflate-strips-fragment-tails",
            Defect::DeflatePadsWithOnes => "deflate-pads-with-ones",
            Defect::AnswersOutsideTls => "answers-outside-tls",
            Defect::AnswersFirstRead => "answers-first-read",
            Defect::DeflateQuotesNonToken => "deflate-quotes-non-token",
        }
    }
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The one thing a mutant client does wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientDefect {
    /// Nothing: a correct client.
    None,
    /// Sends its frames unmasked.
    SendsUnmasked,
    /// Masks every frame with the same key (RFC 6455 §5.3: a fresh key for each frame).
    RepeatsMaskingKey,
    /// Accepts masked frames from the server: unmasks and echoes them instead of failing.
    AcceptsMaskedServerFrames,
    /// Does not check `Sec-WebSocket-Accept`.
    IgnoresWrongAccept,
    /// Reports close code 1000, cleanly, when the server dropped TCP without a close frame.
    Reports1000AfterDrop,
    /// Sends its opening handshake with the method POST (RFC 6455 §4.1: it MUST be GET).
    RequestsWithPost,
    /// Sends its opening handshake as HTTP/1.0 (RFC 6455 §4.1: at least 1.1).
    RequestsWithHttp10,
    /// Leaves `Host` out of its opening handshake.
    RequestsWithoutHost,
    /// Leaves `Upgrade` out of its opening handshake.
    RequestsWithoutUpgrade,
    /// Leaves `Connection` out of its opening handshake.
    RequestsWithoutConnection,
    /// Leaves `Sec-WebSocket-Key` out of its opening handshake.
    RequestsWithoutKey,
    /// Sends a `Sec-WebSocket-Key` of 3 bytes, not 16.
    RequestsWithShortKey,
    /// Sends the same `Sec-WebSocket-Key` on every connection (RFC 6455 §4.1: a nonce selected
    /// randomly for each connection).
    ReusesKey,
    /// Sends `Sec-WebSocket-Key` twice, with two keys.
    RequestsWithTwoKeys,
    /// Leaves `Sec-WebSocket-Version` out of its opening handshake.
    RequestsWithoutVersion,
    /// Sends `Sec-WebSocket-Version: 8`.
    RequestsVersion8,
    /// Sends `Sec-WebSocket-Version: 13` twice.
    RequestsWithTwoVersions,
    /// Sends a ping right behind its opening handshake, in the same write, before the response
    /// (RFC 6455 §4.1: the client MUST wait for the response before sending any further data).
    SendsBeforeResponse,
    /// Offers permessage-deflate and takes any response that names it: parameters it does not know,
    /// cannot read or gets twice are ignored (RFC 7692 §7: the client MUST fail the connection).
    DeflateAcceptsInvalidResponse,
    /// Offers permessage-deflate and keeps its compression context from message to message even
    /// when the response agreed `client_no_context_takeover` (RFC 7692 §7.2.1).
    DeflateKeepsContext,
    /// Offers permessage-deflate and inflates every message with an empty window, though the
    /// server keeps its context (RFC 7692 §7.2.2: the client MUST use the last message's window).
    DeflateForgetsContext,
    /// Offers permessage-deflate with `server_max_window_bits=16` and `client_max_window_bits=0`,
    /// values outside the ABNF of RFC 7692 §7.1.2.
    DeflateOffersInvalidWindow,
    /// Offers the subprotocol `chat v1`, which is not a token (RFC 6455 §4.1 point 10).
    OffersInvalidSubprotocol,
    /// Offers permessage-deflate and fails the connection when the response asks for
    /// `client_no_context_takeover` (RFC 7692 §7.1.1.2: a client MUST support it).
    DeflateRefusesNoContextTakeover,
    /// Sends its opening handshake without the blank line that ends it, and closes the connection
    /// (RFC 6455 §4.1: the client MUST send an opening handshake).
    AbandonsRequest,
    /// Writes `Sec-WebSocket-Version : 13`, with a space before the colon, which is no valid HTTP
    /// header field (RFC 6455 §4.1: the handshake MUST be a valid HTTP request).
    SendsMalformedHeader,
    /// Sends the whole `ws://` URL as its request-target (RFC 6455 §4.1 point 3: the resource name,
    /// or an absolute http or https URI).
    RequestsWsUri,
    /// Offers permessage-deflate and compresses its messages even when the response does not accept
    /// it (RFC 6455 §9.1: it MUST NOT use an extension the server did not accept).
    DeflateCompressesUnaccepted,
    /// Offers permessage-deflate and x-webkit-deflate-frame, and takes a response that accepts both
    /// by ignoring the second (RFC 7692 §5: both use RSV1, so the client MUST fail the connection).
    DeflateAcceptsConflictingExtension,
    /// Given a `wss://` URL, sends its opening handshake in the clear, with no TLS handshake (RFC 6455
    /// §4.1: it MUST perform a TLS handshake first).
    SkipsTls,
    /// Leaves the Server Name Indication extension out of its TLS handshake (RFC 6455 §4.1: clients
    /// MUST use it).
    SendsNoSni,
    /// Completes its TLS handshake, then sends its opening handshake in the clear on the TCP beneath
    /// (RFC 6455 §4.1: all further communication MUST run through the encrypted tunnel).
    LeavesTls,
}

impl ClientDefect {
    /// Every variant, [`ClientDefect::None`] first.
    pub const ALL: [ClientDefect; 33] = [
        ClientDefect::None,
        ClientDefect::SendsUnmasked,
        ClientDefect::RepeatsMaskingKey,
        ClientDefect::AcceptsMaskedServerFrames,
        ClientDefect::IgnoresWrongAccept,
        ClientDefect::Reports1000AfterDrop,
        ClientDefect::RequestsWithPost,
        ClientDefect::RequestsWithHttp10,
        ClientDefect::RequestsWithoutHost,
        ClientDefect::RequestsWithoutUpgrade,
        ClientDefect::RequestsWithoutConnection,
        ClientDefect::RequestsWithoutKey,
        ClientDefect::RequestsWithShortKey,
        ClientDefect::ReusesKey,
        ClientDefect::RequestsWithTwoKeys,
        ClientDefect::RequestsWithoutVersion,
        ClientDefect::RequestsVersion8,
        ClientDefect::RequestsWithTwoVersions,
        ClientDefect::SendsBeforeResponse,
        ClientDefect::DeflateAcceptsInvalidResponse,
        ClientDefect::DeflateKeepsContext,
        ClientDefect::DeflateForgetsContext,
        ClientDefect::DeflateOffersInvalidWindow,
        ClientDefect::OffersInvalidSubprotocol,
        ClientDefect::DeflateRefusesNoContextTakeover,
        ClientDefect::AbandonsRequest,
        ClientDefect::SendsMalformedHeader,
        ClientDefect::RequestsWsUri,
        ClientDefect::DeflateCompressesUnaccepted,
        ClientDefect::DeflateAcceptsConflictingExtension,
        ClientDefect::SkipsTls,
        ClientDefect::SendsNoSni,
        ClientDefect::LeavesTls,
    ];

    /// Whether the defect is in the opening handshake the client sends (so that every case fails).
    pub fn bends_the_request(self) -> bool {
        matches!(
            self,
            ClientDefect::RequestsWithPost
                | ClientDefect::RequestsWithHttp10
                | ClientDefect::RequestsWithoutHost
                | ClientDefect::RequestsWithoutUpgrade
                | ClientDefect::RequestsWithoutConnection
                | ClientDefect::RequestsWithoutKey
                | ClientDefect::RequestsWithShortKey
                | ClientDefect::ReusesKey
                | ClientDefect::RequestsWithTwoKeys
                | ClientDefect::RequestsWithoutVersion
                | ClientDefect::RequestsVersion8
                | ClientDefect::RequestsWithTwoVersions
                | ClientDefect::SendsBeforeResponse
                | ClientDefect::DeflateOffersInvalidWindow
                | ClientDefect::OffersInvalidSubprotocol
                | ClientDefect::AbandonsRequest
                | ClientDefect::SendsMalformedHeader
                | ClientDefect::RequestsWsUri
                | ClientDefect::SkipsTls
                | ClientDefect::SendsNoSni
                | ClientDefect::LeavesTls
        )
    }

    /// Whether the defect is in how the client uses TLS: it shows against a `wss://` listener only.
    pub fn in_tls(self) -> bool {
        matches!(
            self,
            ClientDefect::SkipsTls | ClientDefect::SendsNoSni | ClientDefect::LeavesTls
        )
    }

    /// Whether the client offers permessage-deflate (the other clients offer no extension).
    pub fn offers_deflate(self) -> bool {
        matches!(
            self,
            ClientDefect::DeflateAcceptsInvalidResponse
                | ClientDefect::DeflateKeepsContext
                | ClientDefect::DeflateForgetsContext
                | ClientDefect::DeflateOffersInvalidWindow
                | ClientDefect::DeflateRefusesNoContextTakeover
                | ClientDefect::DeflateCompressesUnaccepted
                | ClientDefect::DeflateAcceptsConflictingExtension
        )
    }

    /// The kebab-case name, such as "sends-unmasked" (and "none" for the correct client).
    pub fn name(self) -> &'static str {
        match self {
            ClientDefect::None => "none",
            ClientDefect::SendsUnmasked => "sends-unmasked",
            ClientDefect::RepeatsMaskingKey => "repeats-masking-key",
            ClientDefect::AcceptsMaskedServerFrames => "accepts-masked-server-frames",
            ClientDefect::IgnoresWrongAccept => "ignores-wrong-accept",
            ClientDefect::Reports1000AfterDrop => "reports-1000-after-drop",
            ClientDefect::RequestsWithPost => "requests-with-post",
            ClientDefect::RequestsWithHttp10 => "requests-with-http10",
            ClientDefect::RequestsWithoutHost => "requests-without-host",
            ClientDefect::RequestsWithoutUpgrade => "requests-without-upgrade",
            ClientDefect::RequestsWithoutConnection => "requests-without-connection",
            ClientDefect::RequestsWithoutKey => "requests-without-key",
            ClientDefect::RequestsWithShortKey => "requests-with-short-key",
            ClientDefect::ReusesKey => "reuses-key",
            ClientDefect::RequestsWithTwoKeys => "requests-with-two-keys",
            ClientDefect::RequestsWithoutVersion => "requests-without-version",
            ClientDefect::RequestsVersion8 => "requests-version-8",
            ClientDefect::RequestsWithTwoVersions => "requests-with-two-versions",
            ClientDefect::SendsBeforeResponse => "sends-before-response",
            ClientDefect::DeflateAcceptsInvalidResponse => "deflate-accepts-invalid-response",
            ClientDefect::DeflateKeepsContext => "deflate-keeps-context",
            ClientDefect::DeflateForgetsContext => "deflate-forgets-context",
            ClientDefect::DeflateOffersInvalidWindow => "deflate-offers-invalid-window",
            ClientDefect::OffersInvalidSubprotocol => "offers-invalid-subprotocol",
            ClientDefect::DeflateRefusesNoContextTakeover => "deflate-refuses-no-context-takeover",
            ClientDefect::AbandonsRequest => "abandons-request",
            ClientDefect::SendsMalformedHeader => "sends-malformed-header",
            ClientDefect::RequestsWsUri => "requests-ws-uri",
            ClientDefect::DeflateCompressesUnaccepted => "deflate-compresses-unaccepted",
            ClientDefect::DeflateAcceptsConflictingExtension => {
                "deflate-accepts-conflicting-extension"
            }
            ClientDefect::SkipsTls => "skips-tls",
            ClientDefect::SendsNoSni => "sends-no-sni",
            ClientDefect::LeavesTls => "leaves-tls",
        }
    }
}

impl fmt::Display for ClientDefect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Starts a server with `defect`: binds 127.0.0.1:0, spawns the accept loop on the current tokio
/// runtime and returns the bound address.
///
/// Each connection runs in its own task. The server lives as long as the runtime; there is no
/// way to stop it, which suits tests.
///
/// # Errors
///
/// When the listening socket cannot be bound.
///
/// # Panics
///
/// When called outside a tokio runtime (as [`tokio::spawn`] does).
pub async fn spawn(defect: Defect) -> io::Result<SocketAddr> {
    match defect {
        Defect::AnswersOutsideTls => tls_server::spawn().await,
        _ => server::spawn(defect).await,
    }
}

/// The URL of the server with `defect` listening on `addr`: `wss://` for the defect that speaks
/// TLS (with a self-signed certificate: a harness needs `--insecure`), `ws://` for the others.
pub fn url(defect: Defect, addr: SocketAddr) -> String {
    match defect {
        Defect::AnswersOutsideTls => format!("wss://{addr}/"),
        _ => format!("ws://{addr}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_kebab_case() {
        let mut names: Vec<&str> = Defect::ALL.iter().map(|d| d.name()).collect();
        assert!(names.iter().all(|n| {
            !n.is_empty()
                && !n.starts_with('-')
                && !n.ends_with('-')
                && !n.contains("--")
                && n.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        }));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Defect::ALL.len());
        assert_eq!(Defect::ALL[0], Defect::None);
        assert_eq!(Defect::AcceptsRsv.to_string(), "accepts-rsv");
    }

    #[test]
    fn client_names_are_unique() {
        let mut names: Vec<&str> = ClientDefect::ALL.iter().map(|d| d.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ClientDefect::ALL.len());
        assert_eq!(ClientDefect::ALL[0], ClientDefect::None);
        assert_eq!(ClientDefect::SendsUnmasked.to_string(), "sends-unmasked");
    }
}
