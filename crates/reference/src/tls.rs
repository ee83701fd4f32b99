//! TLS for the reference server: the certificate and key it serves `wss://` with, either a fresh
//! self-signed certificate from rcgen or PEM files the user provides.
//!
//! The rustls configuration uses the *ring* provider, given explicitly rather than taken from a
//! process-wide default, and offers ALPN `http/1.1`, the protocol a WebSocket handshake runs on.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
};
use tokio_rustls::TlsAcceptor;

/// The names a self-signed certificate is valid for: the loopback host by name and by address.
pub const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A certificate chain with its private key, ready to serve TLS. Cloning it is cheap.
#[derive(Clone)]
pub struct TlsIdentity {
    chain: Vec<CertificateDer<'static>>,
    chain_pem: String,
    server_config: Arc<ServerConfig>,
}

/// Why a TLS identity cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// rcgen failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A certificate or key file is missing or not PEM.
    #[error("cannot use {}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the certificate and key (e.g. the key does not belong to the certificate).
    #[error("the certificate and key cannot serve TLS: {0}")]
    Config(#[from] rustls::Error),
}

impl TlsIdentity {
    /// A fresh self-signed certificate (ECDSA P-256) for [`SELF_SIGNED_NAMES`].
    pub fn self_signed() -> Result<TlsIdentity, TlsError> {
        let names = SELF_SIGNED_NAMES.map(str::to_owned).to_vec();
        let generated = rcgen::generate_simple_self_signed(names)?;
        let chain_pem = generated.cert.pem();
        let chain = vec![generated.cert.der().clone()];
        TlsIdentity::new(chain, PrivateKeyDer::from(generated.signing_key), chain_pem)
    }

    /// The certificate chain of `cert` (PEM, leaf first) with the private key of `key` (PEM: PKCS#8,
    /// PKCS#1 or SEC1).
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsIdentity, TlsError> {
        let file_error = |path: &Path, reason: String| TlsError::File {
            path: path.to_owned(),
            reason,
        };
        let chain_pem =
            std::fs::read_to_string(cert).map_err(|err| file_error(cert, err.to_string()))?;
        let chain = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| file_error(cert, err.to_string()))?;
        if chain.is_empty() {
            return Err(file_error(cert, "no CERTIFICATE block in it".into()));
        }
        let key_pem = std::fs::read(key).map_err(|err| file_error(key, err.to_string()))?;
        let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|err| match err {
            rustls::pki_types::pem::Error::NoItemsFound => {
                file_error(key, "no PRIVATE KEY block in it".into())
            }
            err => file_error(key, err.to_string()),
        })?;
        TlsIdentity::new(chain, key_der, chain_pem)
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        chain_pem: String,
    ) -> Result<TlsIdentity, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain.clone(), key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsIdentity {
            chain,
            chain_pem,
            server_config: Arc::new(config),
        })
    }

    /// The certificate chain, leaf first. A client that trusts these serves without `--insecure`.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The certificate chain as PEM, to save for a client's `--ca`.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The acceptor that runs the server side of the TLS handshake with this identity.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.server_config.clone())
    }
}

impl fmt::Debug for TlsIdentity {
    /// The chain's size only: never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("certificates", &self.chain.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_identity_round_trips_through_pem_files() {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let dir = std::env::temp_dir().join(format!("wsspec-identity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        let identity = TlsIdentity::from_pem_files(&cert, &key).unwrap();
        assert_eq!(identity.chain(), [generated.cert.der().clone()]);
        assert_eq!(identity.chain_pem(), generated.cert.pem());

        // The key of another certificate does not fit.
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();
        assert!(matches!(
            TlsIdentity::from_pem_files(&cert, &key),
            Err(TlsError::Config(_))
        ));
        // A key file without a key, a certificate file without a certificate.
        let err = TlsIdentity::from_pem_files(&cert, &cert).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot use {}: no PRIVATE KEY block in it", cert.display())
        );
        let err = TlsIdentity::from_pem_files(&key, &key).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot use {}: no CERTIFICATE block in it", key.display())
        );
        assert!(TlsIdentity::from_pem_files(&dir.join("none.pem"), &key).is_err());
    }

    #[test]
    fn self_signed_certificates_are_fresh_and_debug_hides_the_key() {
        let a = TlsIdentity::self_signed().unwrap();
        let b = TlsIdentity::self_signed().unwrap();
        assert_ne!(a.chain(), b.chain());
        assert!(a.chain_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(format!("{a:?}"), "TlsIdentity { certificates: 1, .. }");
    }
}
