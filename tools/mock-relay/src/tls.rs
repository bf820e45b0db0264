//! TLS for the relay listener: a rustls acceptor (ring, no OpenSSL) built from
//! PEM files, speaking HTTP/1.1 only and saying so in ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::server::Tls;

/// The only protocol served; a client that offers ALPN without it is refused.
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// The relay listener's TLS for `config` (None: plain HTTP).
pub fn for_config(config: &Config, log_failures: bool) -> Result<Option<Tls>, String> {
    let Some((cert, key)) = config.tls_files() else {
        return Ok(None);
    };
    let acceptor = acceptor(cert, key)?;
    Ok(Some(Tls {
        acceptor,
        log_failures,
    }))
}

/// Reads the certificate chain and key, or says which file is wrong and why.
/// Used both at start-up and by the admin API, so both refuse the same files.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("tls_cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!(
            "tls_cert {}: no PEM CERTIFICATE in the file",
            cert.display()
        ));
    }
    let private_key =
        PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls_key {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            format!(
                "tls_cert {} with tls_key {}: {e}",
                cert.display(),
                key.display()
            )
        })?;
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs;

    #[test]
    fn generated_files_load_and_bad_files_are_named() {
        let dir = std::env::temp_dir().join(format!("mock-relay-tls-{}", std::process::id()));
        let files = certs::write(&dir, &["api.holysheep.ai".to_string()]).unwrap();
        assert!(acceptor(&files.server_cert, &files.server_key).is_ok());

        let missing = dir.join("missing.pem");
        let err = acceptor(&missing, &files.server_key).err().unwrap();
        assert!(
            err.starts_with("tls_cert ") && err.contains("missing.pem"),
            "{err}"
        );
        let err = acceptor(&files.server_key, &files.server_key)
            .err()
            .unwrap();
        assert!(err.contains("no PEM CERTIFICATE"), "{err}");
        let err = acceptor(&files.server_cert, &files.server_cert)
            .err()
            .unwrap();
        assert!(err.starts_with("tls_key "), "{err}");
        // A key that does not belong to the certificate.
        let other = certs::write(&dir.join("other"), &["x.test".to_string()]).unwrap();
        let err = acceptor(&files.server_cert, &other.server_key)
            .err()
            .unwrap();
        assert!(err.contains("with tls_key"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
