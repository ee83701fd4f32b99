//! `--tls`, `--cert`, `--key` and `--write-cert`: how a listening command (`echo`, `client`,
//! `fuzz --client`) serves TLS.

use std::path::PathBuf;

use clap::Args;
use wsspec_reference::{TlsIdentity, tls::SELF_SIGNED_NAMES};

use crate::exit::Exit;

/// How a listening command serves TLS.
#[derive(Args, Debug)]
pub(crate) struct ServeTlsArgs {
    /// Serve TLS (wss://) with a fresh self-signed certificate for localhost, 127.0.0.1 and ::1.
    #[arg(long)]
    tls: bool,
    /// Serve TLS with this certificate chain (PEM, leaf first) instead; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// The private key of --cert (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Save the served certificate chain as PEM here, for a client's --ca.
    #[arg(long, value_name = "FILE")]
    write_cert: Option<PathBuf>,
}

impl ServeTlsArgs {
    /// The identity to serve (none: plain TCP), with the certificate saved if asked; a self-signed
    /// one is announced with what clients need to trust it.
    pub(crate) fn identity(&self) -> Result<Option<TlsIdentity>, Exit> {
        let identity = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(TlsIdentity::from_pem_files(cert, key)),
            _ if self.tls => Some(TlsIdentity::self_signed()),
            _ => None,
        }
        .transpose()
        .map_err(|err| Exit::usage(err.to_string()))?;
        if let Some(path) = &self.write_cert {
            let Some(identity) = &identity else {
                return Err(Exit::usage("--write-cert needs --tls or --cert"));
            };
            std::fs::write(path, identity.chain_pem()).map_err(|err| {
                Exit::usage(format!(
                    "cannot write the certificate to {}: {err}",
                    path.display()
                ))
            })?;
        }
        if self.cert.is_none() && identity.is_some() {
            let trust = match &self.write_cert {
                Some(path) => format!("--ca {}", path.display()),
                None => {
                    "--insecure (or save it with --write-cert FILE and use --ca FILE)".to_owned()
                }
            };
            eprintln!(
                "wsspec: serving a self-signed certificate for {}; clients need {trust}",
                SELF_SIGNED_NAMES.join(", ")
            );
        }
        Ok(identity)
    }
}
