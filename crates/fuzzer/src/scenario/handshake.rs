//! The handshake edits of a scenario: the requests a server must refuse or accept, and the 101
//! responses a client must refuse or accept, with what each says in words.

use super::*;

impl RefuseEdit {
    /// The request edit and how its refusal is judged (as the built-in cases of 14.2 judge it).
    pub(super) fn request(&self) -> (RequestEdit, Refusal) {
        let mut edit = RequestEdit::default();
        let mut refusal = Refusal {
            typical: vec![400],
            ..Refusal::default()
        };
        match self {
            RefuseEdit::Remove(name) => {
                edit.remove.push((*name).into());
                match *name {
                    "Upgrade" | "Connection" => {
                        refusal.typical = vec![400, 426];
                        refusal.if_not_error = Verdict::Informational;
                    }
                    "Sec-WebSocket-Version" => refusal.typical = vec![400, 426],
                    _ => {}
                }
            }
            RefuseEdit::Duplicate(name, value) => edit.add.push(((*name).into(), value.clone())),
            RefuseEdit::Key(key) => edit.set.push(("Sec-WebSocket-Key".into(), key.clone())),
            RefuseEdit::Version(version) => {
                edit.set
                    .push(("Sec-WebSocket-Version".into(), version.clone()));
                refusal.version_header = true;
                refusal.typical = vec![426];
            }
            RefuseEdit::Method(method) => {
                edit.method = Some((*method).into());
                refusal.typical = vec![400, 405];
            }
            RefuseEdit::Http10 => {
                edit.http_version = Some("HTTP/1.0".into());
                refusal.typical = vec![400, 505];
            }
            RefuseEdit::Upgrade(protocol) => {
                edit.set.push(("Upgrade".into(), protocol.clone()));
                refusal.typical = vec![400, 426];
                refusal.if_not_error = Verdict::Informational;
            }
            RefuseEdit::Connection(value) => {
                edit.set.push(("Connection".into(), (*value).into()));
                refusal.typical = vec![400, 426];
                refusal.if_not_error = Verdict::Informational;
            }
        }
        (edit, refusal)
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            RefuseEdit::Remove(_) => "remove",
            RefuseEdit::Duplicate(..) => "duplicate",
            RefuseEdit::Key(_) => "key",
            RefuseEdit::Version(_) => "version",
            RefuseEdit::Method(_) => "method",
            RefuseEdit::Http10 => "http10",
            RefuseEdit::Upgrade(_) => "upgrade",
            RefuseEdit::Connection(_) => "connection",
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            RefuseEdit::Remove(name) => format!("no {name} header field"),
            RefuseEdit::Duplicate(name, _) => format!("two {name} header fields"),
            RefuseEdit::Key(key) => format!("Sec-WebSocket-Key {key:?}"),
            RefuseEdit::Version(version) => format!("Sec-WebSocket-Version {version:?}"),
            RefuseEdit::Method(method) => format!("method {method}"),
            RefuseEdit::Http10 => "HTTP/1.0".into(),
            RefuseEdit::Upgrade(protocol) => format!("Upgrade {protocol:?}"),
            RefuseEdit::Connection(value) => format!("Connection {value:?}"),
        }
    }
}

impl ResponseAcceptEdit {
    /// The response that these edits make of the correct 101: the `Upgrade` and `Connection`
    /// values and the names of the three required fields as the edits spell them, then fillers.
    pub(super) fn response(edits: &[ResponseAcceptEdit]) -> ResponseSpec {
        let (mut upgrade, mut connection, mut lower, mut filler) =
            ("websocket", "Upgrade", false, 0);
        for edit in edits {
            match edit {
                ResponseAcceptEdit::ValueCase {
                    upgrade: u,
                    connection: c,
                } => (upgrade, connection) = (u, c),
                ResponseAcceptEdit::ConnectionList(c) => connection = c,
                ResponseAcceptEdit::LowerCaseNames => lower = true,
                ResponseAcceptEdit::FillerFields(n) => filler += n,
            }
        }
        let mut edit = ResponseEdit::default();
        let fields = [
            ("Upgrade", upgrade),
            ("Connection", connection),
            ("Sec-WebSocket-Accept", "$accept"),
        ];
        for (name, value) in fields {
            let name = if lower {
                name.to_ascii_lowercase()
            } else {
                name.to_owned()
            };
            if lower
                || (name != "Sec-WebSocket-Accept" && value != "websocket" && value != "Upgrade")
            {
                edit.set.push((name, value.to_owned()));
            }
        }
        edit.add
            .extend((0..filler).map(|i| (format!("X-Wsspec-Filler-{i}"), format!("f{i}"))));
        ResponseSpec::Edit(edit)
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            ResponseAcceptEdit::ValueCase { .. } => "value-case",
            ResponseAcceptEdit::ConnectionList(_) => "connection-list",
            ResponseAcceptEdit::LowerCaseNames => "lower-case-names",
            ResponseAcceptEdit::FillerFields(_) => "filler-fields",
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            ResponseAcceptEdit::ValueCase {
                upgrade,
                connection,
            } => format!("`Upgrade: {upgrade}` and `Connection: {connection}`"),
            ResponseAcceptEdit::ConnectionList(value) => format!("`Connection: {value}`"),
            ResponseAcceptEdit::LowerCaseNames => "lower-case header names".into(),
            ResponseAcceptEdit::FillerFields(n) => format!("{n} extra header fields"),
        }
    }
}

impl ResponseRefuseEdit {
    /// The broken response.
    pub(super) fn response(&self) -> ResponseSpec {
        let mut edit = ResponseEdit::default();
        let mut set = |name: &str, value: &str| edit.set.push((name.into(), value.into()));
        match self {
            ResponseRefuseEdit::Status(_) | ResponseRefuseEdit::Remove(_) => {}
            ResponseRefuseEdit::Accept(accept) => set("Sec-WebSocket-Accept", accept),
            ResponseRefuseEdit::KeyAsAccept => set("Sec-WebSocket-Accept", "$key"),
            ResponseRefuseEdit::Upgrade(value) => set("Upgrade", value),
            ResponseRefuseEdit::Connection(value) => set("Connection", value),
            ResponseRefuseEdit::Subprotocol(value) => set("Sec-WebSocket-Protocol", value),
            ResponseRefuseEdit::Extension(value) => set("Sec-WebSocket-Extensions", value),
        }
        match self {
            ResponseRefuseEdit::Status(status) => edit.status = Some(*status),
            ResponseRefuseEdit::Remove(name) => edit.remove.push((*name).into()),
            _ => {}
        }
        ResponseSpec::Edit(edit)
    }

    /// A text message the client must not echo, and the expectation that it fails the connection
    /// (as 14.5.2-9). After a status other than 101 the client may also just wait for the server
    /// to close, as in 14.5.10: silence passes, then the harness drops the connection.
    pub(super) fn push_steps(&self, steps: &mut Vec<Step>, wait: u64) {
        steps.push(send(
            vec![frame(
                Opcode::Text,
                true,
                text_payload("the handshake was wrong"),
            )],
            None,
        ));
        if let ResponseRefuseEdit::Status(_) = self {
            steps.push(Step::Expect {
                expect: Expect::Fail(Vec::new()),
                within_ms: wait,
                on_timeout: OnTimeout::Pass,
            });
            steps.push(Step::Drop);
        } else {
            steps.push(expectation(Expect::Fail(Vec::new()), wait));
        }
    }

    pub(super) fn name(&self) -> &'static str {
        match self {
            ResponseRefuseEdit::Status(_) => "status",
            ResponseRefuseEdit::Remove(_) => "remove",
            ResponseRefuseEdit::Accept(_) => "accept",
            ResponseRefuseEdit::KeyAsAccept => "key-as-accept",
            ResponseRefuseEdit::Upgrade(_) => "upgrade",
            ResponseRefuseEdit::Connection(_) => "connection",
            ResponseRefuseEdit::Subprotocol(_) => "subprotocol",
            ResponseRefuseEdit::Extension(_) => "extension",
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            ResponseRefuseEdit::Status(status) => format!("a {status} response instead of 101"),
            ResponseRefuseEdit::Remove(name) => {
                format!("a 101 response with no {name} header field")
            }
            ResponseRefuseEdit::Accept(accept) => {
                format!("a 101 response with the wrong Sec-WebSocket-Accept {accept:?}")
            }
            ResponseRefuseEdit::KeyAsAccept => {
                "a 101 response with the request's key as its Sec-WebSocket-Accept".into()
            }
            ResponseRefuseEdit::Upgrade(value) => format!("a 101 response with `Upgrade: {value}`"),
            ResponseRefuseEdit::Connection(value) => {
                format!("a 101 response with `Connection: {value}`")
            }
            ResponseRefuseEdit::Subprotocol(value) => {
                format!("a 101 response with the subprotocol {value:?}, which was not offered")
            }
            ResponseRefuseEdit::Extension(value) => {
                format!("a 101 response with the extension {value:?}, which was not offered")
            }
        }
    }

    /// The registry's ids of [`ResponseRefuseEdit::requirement`]'s sentence.
    pub(super) fn requirement_ids(&self) -> &'static [&'static str] {
        match self {
            ResponseRefuseEdit::Status(_) => &["6455-4.1-42"],
            ResponseRefuseEdit::Remove("Upgrade") | ResponseRefuseEdit::Upgrade(_) => {
                &["6455-4.1-37"]
            }
            ResponseRefuseEdit::Remove("Connection") | ResponseRefuseEdit::Connection(_) => {
                &["6455-4.1-38"]
            }
            ResponseRefuseEdit::Remove(_)
            | ResponseRefuseEdit::Accept(_)
            | ResponseRefuseEdit::KeyAsAccept => &["6455-4.1-39"],
            ResponseRefuseEdit::Subprotocol(_) => &["6455-4.1-41"],
            ResponseRefuseEdit::Extension(_) => &["6455-4.1-40"],
        }
    }

    /// The sentence of RFC 6455 §4.1 that the edit breaks.
    pub(super) fn requirement(&self) -> String {
        let rule = match self {
            ResponseRefuseEdit::Status(_) => {
                "If the status code received from the server is not 101, the client handles the response per HTTP procedures"
            }
            ResponseRefuseEdit::Remove("Upgrade") | ResponseRefuseEdit::Upgrade(_) => {
                "If the response lacks an |Upgrade| header field or the |Upgrade| header field contains a value that is not an ASCII case-insensitive match for the value \"websocket\", the client MUST _Fail the WebSocket Connection_"
            }
            ResponseRefuseEdit::Remove("Connection") | ResponseRefuseEdit::Connection(_) => {
                "If the response lacks a |Connection| header field or the |Connection| header field doesn't contain a token that is an ASCII case-insensitive match for the value \"Upgrade\", the client MUST _Fail the WebSocket Connection_"
            }
            ResponseRefuseEdit::Remove(_)
            | ResponseRefuseEdit::Accept(_)
            | ResponseRefuseEdit::KeyAsAccept => {
                "If the response lacks a |Sec-WebSocket-Accept| header field or the |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the concatenation of the |Sec-WebSocket-Key| (as a string, not base64-decoded) with the string \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\", the client MUST _Fail the WebSocket Connection_"
            }
            ResponseRefuseEdit::Subprotocol(_) => {
                "If the response includes a |Sec-WebSocket-Protocol| header field and this header field indicates the use of a subprotocol that was not present in the client's handshake, the client MUST _Fail the WebSocket Connection_"
            }
            ResponseRefuseEdit::Extension(_) => {
                "If the response includes a |Sec-WebSocket-Extensions| header field and this header field indicates the use of an extension that was not present in the client's handshake, the client MUST _Fail the WebSocket Connection_"
            }
        };
        format!("The client must refuse {}: {rule}.", self.describe())
    }
}

impl AcceptEdit {
    pub(super) fn name(&self) -> &'static str {
        match self {
            AcceptEdit::HeaderCase(_) => "header-case",
            AcceptEdit::FillerFields(_) => "filler-fields",
            AcceptEdit::Query(_) => "query",
            AcceptEdit::Chopped(_) => "chopped",
        }
    }

    pub(super) fn describe(&self) -> String {
        match self {
            AcceptEdit::HeaderCase(HeaderCase::Upper) => "upper-case header names".into(),
            AcceptEdit::HeaderCase(_) => "lower-case header names".into(),
            AcceptEdit::FillerFields(n) => format!("{n} extra header fields"),
            AcceptEdit::Query(query) => format!("the query {query:?}"),
            AcceptEdit::Chopped(n) => format!("the head written in {n}-byte pieces"),
        }
    }
}
