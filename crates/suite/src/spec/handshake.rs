//! The `[case.handshake]` table's serde shape: read and validated into a [`Handshake`], and written
//! back from one (the request's edits, how it is written, the refusal and the response).

use std::fmt;

use serde::{
    Deserialize, Deserializer, Serialize,
    de::{self, MapAccess, Visitor, value::MapAccessDeserializer},
};

use super::frame::RawFrame;
use super::is_default;
use super::payload::OneOrMany;
use super::step::{chop_keys, write_plan};
use crate::handshake::{
    Handshake, HandshakeExpect, HeaderCase, Refusal, RequestEdit, RequestSpec, ResponseEdit,
    ResponseSpec,
};
use crate::results::Verdict;

/// `[case.handshake]`: the request, how it is written, and what must answer it.
#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHandshake {
    method: Option<String>,
    http_version: Option<String>,
    query: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    query_bytes: usize,
    #[serde(default, skip_serializing_if = "is_default")]
    remove: Vec<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    set: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "is_default")]
    add: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "is_default")]
    filler_bytes: usize,
    #[serde(default, skip_serializing_if = "is_default")]
    filler_fields: usize,
    #[serde(default, skip_serializing_if = "is_default")]
    header_case: HeaderCase,
    raw: Option<String>,
    chop: Option<usize>,
    delay_ms: Option<u64>,
    pipelined: Option<OneOrMany<RawFrame>>,
    refuse: Option<RawRefuse>,
    #[serde(default, skip_serializing_if = "is_default")]
    then_connect: bool,
    response: Option<RawResponse>,
}

/// `[case.handshake.response]`: what to answer a client with.
#[derive(Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawResponse {
    status: Option<u16>,
    #[serde(default, skip_serializing_if = "is_default")]
    remove: Vec<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    set: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "is_default")]
    add: Vec<(String, String)>,
    raw: Option<String>,
}

impl RawResponse {
    fn into_response(self) -> Result<ResponseSpec, String> {
        let edited = self.status.is_some()
            || !self.remove.is_empty()
            || !self.set.is_empty()
            || !self.add.is_empty();
        match self.raw {
            Some(_) if edited => Err(
                "a `raw` response is the whole head; it takes no status, remove, set or add".into(),
            ),
            Some(raw) if !raw.ends_with("\n\r\n") => {
                Err("a `raw` response head must end with an empty line (\\r\\n\\r\\n)".into())
            }
            Some(raw) => Ok(ResponseSpec::Raw(raw)),
            None => Ok(ResponseSpec::Edit(ResponseEdit {
                status: self.status,
                remove: self.remove,
                set: self.set,
                add: self.add,
            })),
        }
    }

    /// The raw form of the response a client is given: none for the correct 101.
    fn from_response(response: &ResponseSpec) -> Option<RawResponse> {
        match response {
            ResponseSpec::Upgrade => None,
            ResponseSpec::Raw(head) => Some(RawResponse {
                raw: Some(head.clone()),
                ..RawResponse::default()
            }),
            ResponseSpec::Edit(ResponseEdit {
                status,
                remove,
                set,
                add,
            }) => Some(RawResponse {
                status: *status,
                remove: remove.clone(),
                set: set.clone(),
                add: add.clone(),
                raw: None,
            }),
        }
    }
}

impl RawHandshake {
    pub(crate) fn into_handshake(self) -> Result<Handshake, String> {
        let edited = self.method.is_some()
            || self.http_version.is_some()
            || self.query.is_some()
            || self.query_bytes > 0
            || !self.remove.is_empty()
            || !self.set.is_empty()
            || !self.add.is_empty()
            || self.filler_bytes > 0
            || self.filler_fields > 0
            || self.header_case != HeaderCase::Canonical;
        let request = match self.raw {
            Some(_) if edited => {
                return Err("`raw` is the whole request head; it takes no method, http_version, query, query_bytes, remove, set, add, filler_bytes, filler_fields or header_case".into());
            }
            Some(raw) if !raw.ends_with("\n\r\n") => {
                return Err(
                    "a `raw` request head must end with an empty line (\\r\\n\\r\\n)".into(),
                );
            }
            Some(raw) => RequestSpec::Raw(raw),
            None => RequestSpec::Edit(RequestEdit {
                method: self.method,
                http_version: self.http_version,
                query: self.query,
                query_bytes: self.query_bytes,
                remove: self.remove,
                set: self.set,
                add: self.add,
                filler_bytes: self.filler_bytes,
                filler_fields: self.filler_fields,
                header_case: self.header_case,
            }),
        };
        let write = write_plan(self.chop, self.delay_ms, false);
        let pipelined = self
            .pipelined
            .map(|frames| {
                frames
                    .0
                    .into_iter()
                    .map(RawFrame::into_frame)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let expect = match self.refuse {
            None | Some(RawRefuse::Flag(false)) => HandshakeExpect::Upgrade,
            Some(RawRefuse::Flag(true)) => HandshakeExpect::Refuse(Refusal::default()),
            Some(RawRefuse::Table(table)) => HandshakeExpect::Refuse(table.into_refusal()?),
        };
        if matches!(expect, HandshakeExpect::Refuse(_)) && !pipelined.is_empty() {
            return Err("a refused handshake has nothing to pipeline: drop `pipelined`".into());
        }
        let response = self
            .response
            .map(RawResponse::into_response)
            .transpose()?
            .unwrap_or_default();
        Ok(Handshake {
            request,
            write,
            pipelined,
            expect,
            then_connect: self.then_connect,
            response,
        })
    }

    /// The raw form of a handshake: the request's edits (or its raw head), how it is written, the
    /// pipelined frames, the refusal and the response, each left out where it is the default.
    pub(crate) fn from_handshake(handshake: &Handshake) -> RawHandshake {
        let Handshake {
            request,
            write,
            pipelined,
            expect,
            then_connect,
            response,
        } = handshake;
        let mut raw = match request {
            RequestSpec::Raw(head) => RawHandshake {
                raw: Some(head.clone()),
                ..RawHandshake::default()
            },
            RequestSpec::Edit(edit) => {
                let RequestEdit {
                    method,
                    http_version,
                    query,
                    query_bytes,
                    remove,
                    set,
                    add,
                    filler_bytes,
                    filler_fields,
                    header_case,
                } = edit.clone();
                RawHandshake {
                    method,
                    http_version,
                    query,
                    query_bytes,
                    remove,
                    set,
                    add,
                    filler_bytes,
                    filler_fields,
                    header_case,
                    ..RawHandshake::default()
                }
            }
        };
        (raw.chop, raw.delay_ms) = chop_keys(write);
        raw.pipelined = (!pipelined.is_empty())
            .then(|| OneOrMany(pipelined.iter().map(RawFrame::from_frame).collect()));
        raw.refuse = match expect {
            HandshakeExpect::Upgrade => None,
            HandshakeExpect::Refuse(refusal) => Some(RawRefuse::from_refusal(refusal)),
        };
        raw.then_connect = *then_connect;
        raw.response = RawResponse::from_response(response);
        raw
    }
}

/// `refuse = true` or `refuse = { version_header = true, if_upgraded = "informational", ... }`.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum RawRefuse {
    Flag(bool),
    Table(RawRefusal),
}

impl RawRefuse {
    /// `true` for the default refusal, else a table of what differs from it.
    fn from_refusal(refusal: &Refusal) -> RawRefuse {
        let defaults = Refusal::default();
        if *refusal == defaults {
            return RawRefuse::Flag(true);
        }
        let Refusal {
            version_header,
            typical,
            if_upgraded,
            if_not_error,
            if_server_error,
            if_no_response,
        } = refusal;
        let unless_default =
            |verdict: Verdict, default: Verdict| (verdict != default).then_some(verdict);
        RawRefuse::Table(RawRefusal {
            version_header: *version_header,
            typical: typical.clone(),
            if_upgraded: unless_default(*if_upgraded, defaults.if_upgraded),
            if_not_error: unless_default(*if_not_error, defaults.if_not_error),
            if_server_error: unless_default(*if_server_error, defaults.if_server_error),
            if_no_response: unless_default(*if_no_response, defaults.if_no_response),
        })
    }
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRefusal {
    #[serde(default, skip_serializing_if = "is_default")]
    version_header: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    typical: Vec<u16>,
    if_upgraded: Option<Verdict>,
    if_not_error: Option<Verdict>,
    if_server_error: Option<Verdict>,
    if_no_response: Option<Verdict>,
}

impl RawRefusal {
    fn into_refusal(self) -> Result<Refusal, String> {
        let defaults = Refusal::default();
        let verdict = |key: &str, value: Option<Verdict>, default: Verdict| match value {
            None => Ok(default),
            Some(Verdict::Unimplemented | Verdict::Error) => Err(format!(
                "{key} must be \"pass\", \"informational\", \"non-strict\" or \"fail\""
            )),
            Some(verdict) => Ok(verdict),
        };
        Ok(Refusal {
            version_header: self.version_header,
            typical: self.typical,
            if_upgraded: verdict("if_upgraded", self.if_upgraded, defaults.if_upgraded)?,
            if_not_error: verdict("if_not_error", self.if_not_error, defaults.if_not_error)?,
            if_server_error: verdict(
                "if_server_error",
                self.if_server_error,
                defaults.if_server_error,
            )?,
            if_no_response: verdict(
                "if_no_response",
                self.if_no_response,
                defaults.if_no_response,
            )?,
        })
    }
}

impl<'de> Deserialize<'de> for RawRefuse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawRefuse;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, or a table such as { version_header = true }")
            }
            fn visit_bool<E: de::Error>(self, flag: bool) -> Result<RawRefuse, E> {
                Ok(RawRefuse::Flag(flag))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawRefuse, A::Error> {
                RawRefusal::deserialize(MapAccessDeserializer::new(map)).map(RawRefuse::Table)
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::DEFAULT_CHOP_DELAY_MS;

    fn handshake(text: &str) -> Result<Handshake, String> {
        toml::from_str::<RawHandshake>(text)
            .map_err(|err| err.message().to_owned())?
            .into_handshake()
    }

    #[test]
    fn edits_and_refusals() {
        let hs = handshake(
            r#"
            method = "POST"
            remove = ["Host"]
            set = [["Sec-WebSocket-Version", "25"]]
            header_case = "lower"
            refuse = { version_header = true, typical = [426], if_upgraded = "informational" }
            "#,
        )
        .unwrap();
        let RequestSpec::Edit(edit) = &hs.request else {
            panic!("an edit")
        };
        assert_eq!(edit.method.as_deref(), Some("POST"));
        assert_eq!(edit.set, [("Sec-WebSocket-Version".into(), "25".into())]);
        assert_eq!(edit.header_case, HeaderCase::Lower);
        let HandshakeExpect::Refuse(refusal) = &hs.expect else {
            panic!("a refusal")
        };
        assert!(refusal.version_header);
        assert_eq!(refusal.if_upgraded, Verdict::Informational);
        assert_eq!(refusal.if_no_response, Verdict::Fail);
        assert_eq!(
            handshake("refuse = true").unwrap().expect,
            HandshakeExpect::Refuse(Refusal::default())
        );
    }

    #[test]
    fn raw_chop_and_pipelined() {
        let hs = handshake(
            "raw = \"GET / HTTP/1.1\\r\\n\\r\\n\"\nchop = 1\npipelined = { opcode = \"text\", payload = \"hi\" }",
        )
        .unwrap();
        assert_eq!(
            hs.request,
            RequestSpec::Raw("GET / HTTP/1.1\r\n\r\n".into())
        );
        assert_eq!(hs.write.chop, Some(1));
        assert_eq!(hs.write.delay_ms, DEFAULT_CHOP_DELAY_MS);
        assert_eq!(hs.pipelined.len(), 1);
    }

    #[test]
    fn contradictions_are_errors() {
        for (text, fragment) in [
            (
                "raw = \"GET / HTTP/1.1\\r\\n\\r\\n\"\nmethod = \"GET\"",
                "whole request head",
            ),
            ("raw = \"GET / HTTP/1.1\\r\\n\"", "empty line"),
            (
                "refuse = true\npipelined = { opcode = \"text\" }",
                "nothing to pipeline",
            ),
            (
                "refuse = { if_upgraded = \"error\" }",
                "if_upgraded must be",
            ),
            ("refuse = 3", "true, or a table"),
            ("methd = \"GET\"", "unknown field"),
        ] {
            let err = handshake(text).unwrap_err();
            assert!(err.contains(fragment), "{text:?}: {err}");
        }
    }
}
