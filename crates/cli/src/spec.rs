//! `--spec FILE`: an Autobahn spec file, read as it is (see [`wsspec_suite::autobahn`] for what each
//! key does). Its warnings go to stderr, one line each; an unusable file is exit 2 with one line naming
//! the file, the line and the key.

use std::{
    net::{SocketAddr, ToSocketAddrs},
    path::{Path, PathBuf},
};

use wsspec_runner::CaseSettings;
use wsspec_suite::autobahn::{AutobahnSpec, SpecMode, SpecOptions};

use crate::exit::Exit;

/// Reads the spec file for `mode` and prints its warnings.
pub(crate) fn load(path: &Path, mode: SpecMode) -> Result<AutobahnSpec, Exit> {
    let spec = AutobahnSpec::read(path, mode).map_err(|err| Exit::usage(err.to_string()))?;
    for warning in &spec.warnings {
        eprintln!("wsspec: warning: {warning}");
    }
    Ok(spec)
}

/// The report folder: `--out` when given, else the spec's `outdir`, else `reports`.
pub(crate) fn out_dir(out: Option<&Path>, spec: Option<&AutobahnSpec>) -> PathBuf {
    out.map(Path::to_owned)
        .or_else(|| spec.and_then(|spec| spec.outdir.clone()))
        .unwrap_or_else(|| PathBuf::from("reports"))
}

/// Applies a spec's protocol options to the case settings.
pub(crate) fn apply_options(options: SpecOptions, settings: &mut CaseSettings) {
    if let Some(timeout) = options.open_handshake_timeout {
        settings.handshake_timeout = timeout;
    }
    if let Some(timeout) = options.close_handshake_timeout {
        settings.close_wait = timeout;
    }
}

/// The address a fuzzingserver spec's `url` (`ws://127.0.0.1:9001`) says to listen on; a host name
/// is resolved, an IPv4 address preferred.
pub(crate) fn listen_address(spec: &AutobahnSpec) -> Result<Option<SocketAddr>, Exit> {
    let Some(url) = &spec.url else {
        return Ok(None);
    };
    let bad = |why: String| Exit::usage(format!("{}: url: `{url}` {why}", spec.path.display()));
    let parsed = url::Url::parse(url).map_err(|err| bad(format!("is not a URL: {err}")))?;
    if parsed.scheme() != "ws" {
        return Err(bad("is not a ws:// URL".into()));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| bad("has no host".into()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = parsed.port().unwrap_or(80);
    let addresses: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|err| bad(format!("cannot be resolved: {err}")))?
        .collect();
    let address = addresses
        .iter()
        .find(|address| address.is_ipv4())
        .or(addresses.first())
        .copied()
        .ok_or_else(|| bad("resolves to no address".into()))?;
    Ok(Some(address))
}
