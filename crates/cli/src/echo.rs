//! `wsspec echo`: the built-in reference echo server (tokio-tungstenite; yawc for the connections that
//! agree to permessage-deflate, unless `--no-deflate`), served until interrupted.

use std::net::SocketAddr;

use clap::Args;
use wsspec_reference::{EchoConfig, EchoServer, ServerPolicy};

use crate::{
    exit::{self, Exit},
    serve_tls::ServeTlsArgs,
};

#[derive(Args, Debug)]
pub(crate) struct EchoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9001")]
    listen: SocketAddr,
    /// The largest message accepted, in bytes (larger ones are refused with 1009).
    #[arg(long, value_name = "BYTES")]
    max_message_size: Option<usize>,
    /// A subprotocol to support (repeatable): the first one a client offers is selected.
    #[arg(long = "subprotocol", value_name = "NAME")]
    subprotocols: Vec<String>,
    /// An Origin to refuse with 403 (repeatable); every other origin is accepted.
    #[arg(long = "forbidden-origin", value_name = "ORIGIN")]
    forbidden_origins: Vec<String>,
    /// A path to refuse with 404 (repeatable); every other path is served.
    #[arg(long = "missing-path", value_name = "PATH")]
    missing_paths: Vec<String>,
    /// Decline every permessage-deflate offer. By default the server accepts them (RFC 7692, every
    /// window size and both context-takeover parameters; such connections run on yawc).
    #[arg(long)]
    no_deflate: bool,
    #[command(flatten)]
    tls: ServeTlsArgs,
}

/// Serves until Ctrl-C; exit 0 then, 2 when the address cannot be listened on.
pub(crate) async fn echo(args: EchoArgs) -> Result<u8, Exit> {
    let identity = args.tls.identity()?;
    let config = EchoConfig {
        max_message_size: args.max_message_size,
        policy: ServerPolicy {
            subprotocols: args.subprotocols,
            forbidden_origins: args.forbidden_origins,
            missing_paths: args.missing_paths,
        },
        tls: identity,
        permessage_deflate: !args.no_deflate,
    };
    let server = EchoServer::bind(args.listen, config)
        .await
        .map_err(|err| Exit::usage(format!("cannot listen on {}: {err}", args.listen)))?;
    eprintln!(
        "wsspec: reference echo server listening on {} (Ctrl-C to stop)",
        server.url()
    );
    tokio::select! {
        result = server.serve() => result.map(|()| exit::OK).map_err(|err| Exit::usage(err.to_string())),
        _ = tokio::signal::ctrl_c() => Ok(exit::OK),
    }
}
