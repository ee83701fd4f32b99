//! Autobahn|Testsuite spec files, read as they are: `fuzzingclient.json` (Autobahn tests servers; so
//! does `wsspec server --spec`) and `fuzzingserver.json` (Autobahn tests clients; so does
//! `wsspec client --spec`).
//!
//! | key | fuzzingclient | fuzzingserver | wsspec |
//! |---|---|---|---|
//! | `servers: [{agent, url, options}]` | yes | — | each server is tested, one after another, into one report |
//! | `url` | — | yes | the address `wsspec client` listens on |
//! | `cases`, `exclude-cases` | yes | yes | Autobahn's wildcards ([`Wildcards::Autobahn`]) |
//! | `exclude-agent-cases: {agent: [case]}` | yes | yes | both patterns match whole names, as in Autobahn |
//! | `outdir` | yes | yes | the report folder (`--out` wins) |
//! | `options` (global and per server) | yes | yes | `openHandshakeTimeout` and `closeHandshakeTimeout` (seconds) |
//!
//! Nothing is dropped silently: every other key, and every option wsspec does not use, becomes one
//! warning naming its path (`servers[0].options.failByDrop`). A file that is not valid JSON, or whose
//! known keys hold the wrong type, is a [`SpecError`] naming the file, the line and the key.

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, Deserializer, de::Error as _};
use serde_json::Value;

use crate::select::{Wildcards, matches};

/// Which `wstest` mode a spec file is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecMode {
    /// `fuzzingclient.json`: Autobahn is the client and tests the `servers`.
    FuzzingClient,
    /// `fuzzingserver.json`: Autobahn listens on `url` and tests the clients that connect.
    FuzzingServer,
}

impl SpecMode {
    fn file_name(self) -> &'static str {
        match self {
            SpecMode::FuzzingClient => "fuzzingclient",
            SpecMode::FuzzingServer => "fuzzingserver",
        }
    }
}

/// A spec file that cannot be used: unreadable, not JSON, or a key with a value of the wrong type.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {}{message}", path.display(), key.as_ref().map(|key| format!("{key}: ")).unwrap_or_default())]
pub struct SpecError {
    /// The file.
    pub path: PathBuf,
    /// The line (1-based; 1 when the file could not be read at all).
    pub line: usize,
    /// The key the error is about, as a path such as `servers[0].url`, when there is one.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// The protocol options wsspec takes from a spec (Autobahn's names; seconds in the file).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SpecOptions {
    /// `openHandshakeTimeout`: how long the opening handshake may take.
    pub open_handshake_timeout: Option<Duration>,
    /// `closeHandshakeTimeout`: how long each part of the closing may take.
    pub close_handshake_timeout: Option<Duration>,
}

impl SpecOptions {
    /// These options, with `over`'s where it sets them (a server's options over the global ones).
    pub fn overridden_by(self, over: SpecOptions) -> SpecOptions {
        SpecOptions {
            open_handshake_timeout: over.open_handshake_timeout.or(self.open_handshake_timeout),
            close_handshake_timeout: over
                .close_handshake_timeout
                .or(self.close_handshake_timeout),
        }
    }
}

/// A server of a `fuzzingclient` spec.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecServer {
    /// The name in the reports; when missing, wsspec names the server by its host and port.
    pub agent: Option<String>,
    /// Its `ws://` or `wss://` URL, as written.
    pub url: String,
    /// Its options, the global ones already applied under them.
    pub options: SpecOptions,
}

/// `exclude-agent-cases`: cases left out for some agents only. Agent and case patterns both match
/// whole names with `*` wildcards, as Autobahn anchors them at both ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentExclusions {
    /// (agent pattern, case patterns), in file order.
    pub rules: Vec<(String, Vec<String>)>,
}

impl AgentExclusions {
    /// Whether `case_id` is excluded for `agent`.
    pub fn excludes(&self, agent: &str, case_id: &str) -> bool {
        self.rules.iter().any(|(agents, cases)| {
            matches(agents, agent) && cases.iter().any(|case| matches(case, case_id))
        })
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// A spec file, read.
#[derive(Clone, Debug, PartialEq)]
pub struct AutobahnSpec {
    /// The file.
    pub path: PathBuf,
    /// The mode it was read for.
    pub mode: SpecMode,
    /// `servers` (fuzzingclient); may be empty, and then the URL comes from the command line.
    pub servers: Vec<SpecServer>,
    /// `url` (fuzzingserver): where to listen.
    pub url: Option<String>,
    /// `cases`; empty when the key is missing (then every case runs).
    pub cases: Vec<String>,
    /// `exclude-cases`.
    pub exclude_cases: Vec<String>,
    /// `exclude-agent-cases`.
    pub exclude_agent_cases: AgentExclusions,
    /// `outdir`, relative to the working directory as in Autobahn.
    pub outdir: Option<PathBuf>,
    /// The global `options` (each server's own are already applied over them in `servers`).
    pub options: SpecOptions,
    /// One line per key that wsspec does not use, naming it.
    pub warnings: Vec<String>,
}

impl AutobahnSpec {
    /// The wildcard rule of the spec's `cases` and `exclude-cases`.
    pub const WILDCARDS: Wildcards = Wildcards::Autobahn;

    /// Reads a spec file written for `mode`.
    pub fn read(path: &Path, mode: SpecMode) -> Result<AutobahnSpec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|err| SpecError {
            path: path.to_owned(),
            line: 1,
            key: None,
            message: format!("cannot read the spec file: {err}"),
        })?;
        AutobahnSpec::parse(path, &text, mode)
    }

    /// Parses the text of a spec file; `path` names it in errors and warnings.
    pub fn parse(path: &Path, text: &str, mode: SpecMode) -> Result<AutobahnSpec, SpecError> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let raw: RawSpec = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
            let key = err.path().to_string();
            json_error(path, (key != ".").then_some(key), &err.into_inner())
        })?;
        // Text after the object is an error too, about no key.
        deserializer
            .end()
            .map_err(|err| json_error(path, None, &err))?;
        Ok(raw.into_spec(path, mode))
    }
}

/// A JSON error as a [`SpecError`]: serde_json's message without its position, which goes into `line`.
fn json_error(path: &Path, key: Option<String>, inner: &serde_json::Error) -> SpecError {
    let full = inner.to_string();
    let position = format!(" at line {} column {}", inner.line(), inner.column());
    SpecError {
        path: path.to_owned(),
        line: inner.line().max(1),
        key,
        message: full.strip_suffix(&position).unwrap_or(&full).to_owned(),
    }
}

/// The file as serde sees it; `other` collects every key not listed, so that it can be named.
#[derive(Deserialize)]
struct RawSpec {
    #[serde(default)]
    outdir: Option<String>,
    #[serde(default)]
    options: Option<RawOptions>,
    #[serde(default)]
    servers: Option<Vec<RawServer>>,
    #[serde(default, deserialize_with = "optional_ws_url")]
    url: Option<String>,
    #[serde(default)]
    cases: Option<Vec<String>>,
    #[serde(rename = "exclude-cases", default)]
    exclude_cases: Vec<String>,
    #[serde(rename = "exclude-agent-cases", default)]
    exclude_agent_cases: BTreeMap<String, Vec<String>>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Deserialize)]
struct RawServer {
    #[serde(default)]
    agent: Option<String>,
    #[serde(deserialize_with = "ws_url")]
    url: String,
    #[serde(default)]
    options: Option<RawOptions>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

#[derive(Deserialize, Default)]
struct RawOptions {
    #[serde(rename = "openHandshakeTimeout", default, deserialize_with = "seconds")]
    open_handshake_timeout: Option<Duration>,
    #[serde(
        rename = "closeHandshakeTimeout",
        default,
        deserialize_with = "seconds"
    )]
    close_handshake_timeout: Option<Duration>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

/// A `ws://` or `wss://` URL (checked fully later; its scheme here, so that the error has a line).
fn ws_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let url = String::deserialize(deserializer)?;
    let scheme = url
        .split_once("://")
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("ws" | "wss") => Ok(url),
        _ => Err(D::Error::custom(format!(
            "`{url}` is not a ws:// or wss:// URL"
        ))),
    }
}

fn optional_ws_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    ws_url(deserializer).map(Some)
}

/// A positive number of seconds (Autobahn's timeouts are floats).
fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if !(value.is_finite() && value > 0.0 && value <= 86_400.0) {
        return Err(D::Error::custom(format!(
            "{value} is not a number of seconds between 0 and 86400"
        )));
    }
    Ok(Some(Duration::from_secs_f64(value)))
}

/// Autobahn options that wsspec knows but does not use, with why.
fn unused_option_reason(name: &str) -> &'static str {
    match name {
        "failByDrop" | "serverConnectionDropTimeout" | "echoCloseCodeReason" => {
            "wsspec judges closes by RFC 6455 and its own deadlines"
        }
        "maxMessagePayloadSize" | "maxFramePayloadSize" | "autoFragmentSize" => {
            "wsspec's own limits are fixed; declare the target's with --max-message-size"
        }
        "version"
        | "utf8validateIncoming"
        | "applyMask"
        | "maskClientFrames"
        | "requireMaskedClientFrames"
        | "acceptMaskedServerFrames"
        | "tcpNoDelay" => {
            "wsspec always speaks RFC 6455 (version 13) and checks masking and UTF-8 itself"
        }
        _ => "not an option wsspec knows",
    }
}

/// Why a key wsspec ignores is ignored, for the warnings.
fn unused_key_reason(key: &str, mode: SpecMode) -> String {
    match (key, mode) {
        ("url", SpecMode::FuzzingClient) => {
            "a fuzzingserver key (where to listen); `wsspec server` takes the URLs from `servers` or the command line (did you mean `wsspec client --spec`?)".into()
        }
        ("servers", SpecMode::FuzzingServer) => {
            "a fuzzingclient key; `wsspec client` tests the clients that connect (did you mean `wsspec server --spec`?)".into()
        }
        ("webport", _) => "`wsspec client` serves its browser page on the `url` port itself".into(),
        ("origin" | "protocols" | "hostname" | "headers", _) => {
            "wsspec's handshake cases choose Origin, subprotocols and Host themselves (declare yours with --allowed-origin, --forbidden-origin and --subprotocol)".into()
        }
        _ => format!("not a {} spec key", mode.file_name()),
    }
}

impl RawOptions {
    fn resolve(self, at: &str, warnings: &mut Vec<String>) -> SpecOptions {
        for name in self.other.keys() {
            warnings.push(format!(
                "{at}.{name} is ignored: {}",
                unused_option_reason(name)
            ));
        }
        SpecOptions {
            open_handshake_timeout: self.open_handshake_timeout,
            close_handshake_timeout: self.close_handshake_timeout,
        }
    }
}

impl RawSpec {
    fn into_spec(self, path: &Path, mode: SpecMode) -> AutobahnSpec {
        let mut warnings = Vec::new();
        for key in self.other.keys() {
            warnings.push(format!(
                "{key} is ignored: {}",
                unused_key_reason(key, mode)
            ));
        }
        let options = self
            .options
            .unwrap_or_default()
            .resolve("options", &mut warnings);
        let mut servers = Vec::new();
        let mut url = None;
        match mode {
            SpecMode::FuzzingClient => {
                for (i, server) in self.servers.unwrap_or_default().into_iter().enumerate() {
                    let at = format!("servers[{i}]");
                    for key in server.other.keys() {
                        warnings.push(format!(
                            "{at}.{key} is ignored: {}",
                            unused_key_reason(key, mode)
                        ));
                    }
                    let own = server
                        .options
                        .unwrap_or_default()
                        .resolve(&format!("{at}.options"), &mut warnings);
                    servers.push(SpecServer {
                        agent: server.agent,
                        url: server.url,
                        options: options.overridden_by(own),
                    });
                }
                if self.url.is_some() {
                    warnings.push(format!(
                        "url is ignored: {}",
                        unused_key_reason("url", mode)
                    ));
                }
            }
            SpecMode::FuzzingServer => {
                url = self.url;
                if self.servers.is_some() {
                    warnings.push(format!(
                        "servers is ignored: {}",
                        unused_key_reason("servers", mode)
                    ));
                }
            }
        }
        let file = path.display();
        AutobahnSpec {
            path: path.to_owned(),
            mode,
            servers,
            url,
            cases: self.cases.unwrap_or_default(),
            exclude_cases: self.exclude_cases,
            exclude_agent_cases: AgentExclusions {
                rules: self.exclude_agent_cases.into_iter().collect(),
            },
            outdir: self.outdir.map(PathBuf::from),
            options,
            warnings: warnings
                .into_iter()
                .map(|warning| format!("{file}: {warning}"))
                .collect(),
        }
    }
}

impl fmt::Display for SpecMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.file_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, mode: SpecMode) -> Result<AutobahnSpec, SpecError> {
        AutobahnSpec::parse(Path::new("spec.json"), text, mode)
    }

    #[test]
    fn tungstenite_fuzzingclient_reads_as_is() {
        let text = "{\n\t\"outdir\": \"./autobahn/server\",\n\t\"servers\": [\n\t\t{\n\t\t\t\"agent\": \"Tungstenite\",\n\t\t\t\"url\": \"ws://127.0.0.1:9002\"\n\t\t}\n\t],\n\t\"cases\": [\"*\"],\n\t\"exclude-cases\": [],\n\t\"exclude-agent-cases\": {}\n}\n";
        let spec = parse(text, SpecMode::FuzzingClient).unwrap();
        assert_eq!(spec.servers.len(), 1);
        assert_eq!(spec.servers[0].agent.as_deref(), Some("Tungstenite"));
        assert_eq!(spec.servers[0].url, "ws://127.0.0.1:9002");
        assert_eq!(spec.cases, ["*"]);
        assert_eq!(spec.outdir, Some(PathBuf::from("./autobahn/server")));
        assert!(spec.warnings.is_empty(), "{:?}", spec.warnings);
    }

    #[test]
    fn options_are_used_or_named() {
        let text = r#"{
   "options": {"failByDrop": false, "openHandshakeTimeout": 2.5},
   "outdir": "./reports/clients",
   "servers": [{"agent": "websockets", "url": "ws://localhost:8642", "options": {"version": 18, "closeHandshakeTimeout": 0.5}}],
   "cases": ["*"],
   "exclude-cases": [],
   "exclude-agent-cases": {},
   "webport": 8080
}"#;
        let spec = parse(text, SpecMode::FuzzingClient).unwrap();
        let options = spec.servers[0].options;
        assert_eq!(
            options.open_handshake_timeout,
            Some(Duration::from_millis(2500))
        );
        assert_eq!(
            options.close_handshake_timeout,
            Some(Duration::from_millis(500))
        );
        assert_eq!(spec.warnings.len(), 3, "{:?}", spec.warnings);
        assert!(spec.warnings[0].starts_with("spec.json: webport is ignored: "));
        assert!(spec.warnings[1].starts_with("spec.json: options.failByDrop is ignored: "));
        assert!(spec.warnings[2].starts_with("spec.json: servers[0].options.version is ignored: "));
    }

    #[test]
    fn the_other_modes_keys_are_named() {
        let text = r#"{"url": "ws://127.0.0.1:9001", "servers": [], "cases": ["1.*"]}"#;
        let server = parse(text, SpecMode::FuzzingServer).unwrap();
        assert_eq!(server.url.as_deref(), Some("ws://127.0.0.1:9001"));
        assert_eq!(server.warnings.len(), 1);
        assert!(server.warnings[0].contains("wsspec server --spec"));
        let client = parse(text, SpecMode::FuzzingClient).unwrap();
        assert!(client.servers.is_empty());
        assert!(client.warnings[0].contains("wsspec client --spec"));
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let text = "{\n  \"servers\": [\n    {\"agent\": \"a\",\n     \"url\": 9002}\n  ]\n}\n";
        let err = parse(text, SpecMode::FuzzingClient).unwrap_err();
        assert_eq!(err.line, 4);
        assert_eq!(err.key.as_deref(), Some("servers[0].url"));
        assert_eq!(
            err.to_string(),
            "spec.json:4: servers[0].url: invalid type: integer `9002`, expected a string"
        );
        let err = parse("{\n \"cases\": \"1.*\"\n}", SpecMode::FuzzingServer).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.json:2: cases: invalid type: string \"1.*\", expected a sequence"
        );
        let err = parse("{\n \"cases\": [\"1.*\",]\n}", SpecMode::FuzzingServer).unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        let err = parse(
            "{\"options\": {\n\"openHandshakeTimeout\": -1}}",
            SpecMode::FuzzingServer,
        )
        .unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert_eq!(err.key.as_deref(), Some("options.openHandshakeTimeout"));
        let err = parse(
            "{\"servers\": [{\"agent\": \"x\"}]}",
            SpecMode::FuzzingClient,
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing field `url`"), "{err}");
        let err = parse(
            "{\"servers\": [\n{\"url\": \"http://x\"}]}",
            SpecMode::FuzzingClient,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec.json:2: servers[0].url: `http://x` is not a ws:// or wss:// URL"
        );
        let err = parse("{} x", SpecMode::FuzzingClient).unwrap_err();
        assert_eq!(err.key, None, "{err}");
    }

    #[test]
    fn agent_exclusions_match_whole_names() {
        let text = r#"{"exclude-agent-cases": {"Tung*": ["6.4.*", "2.1"]}}"#;
        let spec = parse(text, SpecMode::FuzzingServer).unwrap();
        let rules = &spec.exclude_agent_cases;
        assert!(rules.excludes("Tungstenite", "6.4.1"));
        assert!(rules.excludes("Tungstenite", "2.1"));
        assert!(!rules.excludes("Tungstenite", "2.10"));
        assert!(!rules.excludes("MyTungstenite", "6.4.1"));
        assert!(!rules.excludes("Tungstenite", "6.40.1"));
    }
}
