//! `mock-relay certs`: a throwaway PKI for TLS tests, made at test time so that no
//! key is ever committed. A CA, a server certificate it signs for the given host
//! names, and a second, unrelated CA (a trust store that must reject the server).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use clap::Parser;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde::Serialize;
use time::OffsetDateTime;

/// Valid from an hour ago (clock skew between processes does not matter) to a day ahead.
const NOT_BEFORE: Duration = Duration::from_secs(60 * 60);
const NOT_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Parser)]
#[command(
    name = "mock-relay certs",
    about = "Write a test CA, a server certificate it signs, and an unrelated CA, as PEM"
)]
pub struct CertsCli {
    /// Directory for ca.pem, server.pem, server-key.pem and other-ca.pem (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// DNS name (or IP address) the server certificate is valid for (repeatable).
    #[arg(long = "host", value_name = "NAME", required = true)]
    pub hosts: Vec<String>,
}

/// The paths written, printed as the command's one JSON line.
#[derive(Debug, Serialize)]
pub struct CertFiles {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub other_ca: PathBuf,
}

/// Entry point of the subcommand: write the files, print their paths.
pub fn run(cli: &CertsCli) -> anyhow::Result<()> {
    let files = write(&cli.out, &cli.hosts)?;
    println!("{}", serde_json::to_string(&files)?);
    Ok(())
}

pub fn write(out: &Path, hosts: &[String]) -> anyhow::Result<CertFiles> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let (ca_params, ca_key) = ca("mock-relay test CA")?;
    let ca_pem = ca_params.self_signed(&ca_key)?.pem();
    let (other_params, other_key) = ca("mock-relay other CA")?;
    let other_pem = other_params.self_signed(&other_key)?.pem();

    let mut server = CertificateParams::new(hosts.to_vec())
        .with_context(|| format!("invalid --host in {hosts:?}"))?;
    server.distinguished_name.push(
        DnType::CommonName,
        hosts.first().map_or("mock-relay", String::as_str),
    );
    server.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    set_validity(&mut server);
    let server_key = KeyPair::generate()?;
    let issuer = Issuer::new(ca_params, ca_key);
    let server_pem = server.signed_by(&server_key, &issuer)?.pem();

    let files = CertFiles {
        ca: out.join("ca.pem"),
        server_cert: out.join("server.pem"),
        server_key: out.join("server-key.pem"),
        other_ca: out.join("other-ca.pem"),
    };
    for (path, pem) in [
        (&files.ca, ca_pem),
        (&files.server_cert, server_pem),
        (&files.server_key, server_key.serialize_pem()),
        (&files.other_ca, other_pem),
    ] {
        std::fs::write(path, pem).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(files)
}

fn ca(name: &str) -> anyhow::Result<(CertificateParams, KeyPair)> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params);
    Ok((params, KeyPair::generate()?))
}

fn set_validity(params: &mut CertificateParams) {
    let now = SystemTime::now();
    params.not_before = OffsetDateTime::from(now - NOT_BEFORE);
    params.not_after = OffsetDateTime::from(now + NOT_AFTER);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::RootCertStore;

    fn verify(ca: &Path, cert: &Path, host: &str) -> Result<(), rustls::Error> {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(ca).unwrap())
            .unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .unwrap();
        let leaf = CertificateDer::from_pem_file(cert).unwrap();
        verifier
            .verify_server_cert(
                &leaf,
                &[],
                &ServerName::try_from(host.to_string()).unwrap(),
                &[],
                UnixTime::now(),
            )
            .map(|_| ())
    }

    use rustls::client::danger::ServerCertVerifier;

    #[test]
    fn server_cert_is_trusted_by_its_ca_only_and_for_its_hosts_only() {
        let dir = std::env::temp_dir().join(format!("mock-relay-certs-{}", std::process::id()));
        let hosts = ["api.holysheep.ai".to_string(), "green.test".to_string()];
        let files = write(&dir, &hosts).unwrap();
        for path in [
            &files.ca,
            &files.server_cert,
            &files.server_key,
            &files.other_ca,
        ] {
            assert!(
                std::fs::metadata(path).unwrap().len() > 0,
                "{}",
                path.display()
            );
        }
        verify(&files.ca, &files.server_cert, "api.holysheep.ai").unwrap();
        verify(&files.ca, &files.server_cert, "green.test").unwrap();
        assert!(verify(&files.ca, &files.server_cert, "other.test").is_err());
        assert!(verify(&files.other_ca, &files.server_cert, "api.holysheep.ai").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cli_needs_a_host() {
        assert!(CertsCli::try_parse_from(["certs", "--out", "/tmp/x"]).is_err());
        let cli =
            CertsCli::try_parse_from(["certs", "--out", "/tmp/x", "--host", "a", "--host", "b"])
                .unwrap();
        assert_eq!(cli.hosts, ["a", "b"]);
    }
}
