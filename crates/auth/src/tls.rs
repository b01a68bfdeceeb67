//! TLS for the master: a cluster CA and a server certificate signed by it, generated once into
//! a directory (private keys mode 0600) or loaded from given files; the rustls server config
//! (ring provider); an HTTPS server for an axum router ([`serve_tls`]); and the CA certificate
//! route (`GET /ca/dcos-ca.crt`) with its SHA-256 fingerprint, which `dcos cluster setup`
//! shows and pins.

use crate::middleware::CA_CERT_PATH;
use axum::extract::ConnectInfo;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const CA_CERT_FILE: &str = "ca.crt";
pub const CA_KEY_FILE: &str = "ca.key";
pub const SERVER_CERT_FILE: &str = "server.crt";
pub const SERVER_KEY_FILE: &str = "server.key";
/// Records which names the server certificate covers and until when.
const SERVER_INFO_FILE: &str = "server.json";
/// The CA is valid this many years.
const CA_YEARS: i32 = 10;
/// The server certificate is valid this many days, and re-issued at start when it has fewer
/// than [`RENEW_BEFORE_DAYS`] left.
const SERVER_DAYS: u64 = 825;
const RENEW_BEFORE_DAYS: u64 = 30;
/// A TLS handshake must finish within this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: no usable {what} in PEM form; give a PEM file (-----BEGIN ...-----)")]
    Pem { path: PathBuf, what: &'static str },
    #[error("TLS configuration rejected: {0}; check that the key matches the certificate")]
    Rustls(#[from] rustls::Error),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Certificates and key for serving HTTPS. `Debug` leaves the private key out.
#[derive(Clone)]
pub struct TlsMaterial {
    /// The CA certificate clients should trust (PEM).
    pub ca_pem: String,
    /// The server certificate chain (PEM; the leaf first).
    pub cert_chain_pem: String,
    key_pem: String,
    /// SHA-256 of the CA certificate's DER, upper-case hex pairs joined by `:`.
    pub ca_fingerprint_sha256: String,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca_fingerprint_sha256", &self.ca_fingerprint_sha256)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct ServerInfo {
    names: Vec<String>,
    not_after_unix: u64,
}

/// The SHA-256 fingerprint of the first certificate in `pem` (`AB:CD:...`), or `None` if it
/// holds none.
pub fn ca_fingerprint_sha256(pem: &str) -> Option<String> {
    let der = CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()?
        .ok()?;
    Some(fingerprint_der(&der))
}

fn fingerprint_der(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Writes `data` to `path` atomically (temp file + rename) with the given mode.
fn write_file(path: &Path, data: &str, mode: u32) -> Result<(), TlsError> {
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_err(&tmp))?;
    f.write_all(data.as_bytes()).map_err(io_err(&tmp))?;
    f.sync_all().map_err(io_err(&tmp))?;
    // The mode given to open() is filtered by the umask; set it exactly.
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_err(path))
}

fn read_file(path: &Path) -> Result<Option<String>, TlsError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TlsError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Reads a private key file, tightening its mode to 0600 if it was looser.
fn read_key_file(path: &Path) -> Result<Option<String>, TlsError> {
    let Some(s) = read_file(path)? else {
        return Ok(None);
    };
    let meta = std::fs::metadata(path).map_err(io_err(path))?;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "private key was readable by others; setting mode 0600");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(io_err(path))?;
    }
    Ok(Some(s))
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// (year, month, day) of a Unix time (proleptic Gregorian, UTC).
fn civil_date(unix: u64) -> (i32, u8, u8) {
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = (yoe + era * 400 + i64::from(m <= 2)) as i32;
    (y, m, d)
}

fn set_validity(params: &mut CertificateParams, from_unix: u64, to_unix: u64) {
    let (y, m, d) = civil_date(from_unix.saturating_sub(86_400));
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil_date(to_unix);
    params.not_after = rcgen::date_time_ymd(y, m, d);
}

fn ca_params(now: u64) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "dcos-rs cluster CA");
    dn.push(DnType::OrganizationName, "dcos-rs");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut p, now, now + (CA_YEARS as u64) * 365 * 86_400);
    p
}

/// The SAN list: the given names and IPs plus `localhost` and `127.0.0.1`, deduplicated.
fn san_list(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names
        .iter()
        .map(|n| n.trim().to_string())
        .chain(["localhost".into(), "127.0.0.1".into()])
    {
        if !n.is_empty() && !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Ensures `dir` holds a cluster CA (`ca.crt`, `ca.key`) and a server certificate signed by
/// it (`server.crt`, `server.key`) valid for `names` (DNS names or IP addresses) plus
/// `localhost`/`127.0.0.1`. Generates what is missing; re-issues the server certificate when
/// it lacks a requested name or expires within 30 days; keeps the CA, so pinned clients keep
/// working. Keys are written with mode 0600, the directory with 0700.
pub fn ensure_ca_and_cert(dir: &Path, names: &[String]) -> Result<TlsMaterial, TlsError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io_err(dir))?;
    let now = now_unix();
    let (ca_cert_path, ca_key_path) = (dir.join(CA_CERT_FILE), dir.join(CA_KEY_FILE));
    let (ca_pem, ca_key_pem, ca_new) =
        match (read_file(&ca_cert_path)?, read_key_file(&ca_key_path)?) {
            (Some(c), Some(k)) => (c, k, false),
            _ => {
                let key = KeyPair::generate()?;
                let cert = ca_params(now).self_signed(&key)?;
                let key_pem = key.serialize_pem();
                write_file(&ca_key_path, &key_pem, 0o600)?;
                write_file(&ca_cert_path, &cert.pem(), 0o644)?;
                tracing::info!(dir = %dir.display(), "generated the cluster CA");
                (cert.pem(), key_pem, true)
            }
        };
    let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(|_| TlsError::Pem {
        path: ca_key_path.clone(),
        what: "private key",
    })?;

    let sans = san_list(names);
    let (cert_path, key_path, info_path) = (
        dir.join(SERVER_CERT_FILE),
        dir.join(SERVER_KEY_FILE),
        dir.join(SERVER_INFO_FILE),
    );
    let info: Option<ServerInfo> =
        read_file(&info_path)?.and_then(|s| serde_json::from_str(&s).ok());
    let reusable = !ca_new
        && info.as_ref().is_some_and(|i| {
            sans.iter().all(|n| i.names.contains(n))
                && i.not_after_unix > now + RENEW_BEFORE_DAYS * 86_400
        });
    if reusable {
        if let (Some(cert), Some(key)) = (read_file(&cert_path)?, read_key_file(&key_path)?) {
            return material(ca_pem, cert, key, &ca_cert_path);
        }
    }
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key)?;
    let key = KeyPair::generate()?;
    let mut p = CertificateParams::new(sans.clone())?;
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        sans.first().cloned().unwrap_or_else(|| "localhost".into()),
    );
    p.distinguished_name = dn;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.use_authority_key_identifier_extension = true;
    let not_after = now + SERVER_DAYS * 86_400;
    set_validity(&mut p, now, not_after);
    let cert = p.signed_by(&key, &issuer)?;
    let key_pem = key.serialize_pem();
    write_file(&key_path, &key_pem, 0o600)?;
    write_file(&cert_path, &cert.pem(), 0o644)?;
    let info = ServerInfo {
        names: sans,
        not_after_unix: not_after,
    };
    write_file(
        &info_path,
        &serde_json::to_string_pretty(&info).unwrap_or_default(),
        0o644,
    )?;
    tracing::info!(names = ?info.names, "issued the server certificate");
    material(ca_pem, cert.pem(), key_pem, &ca_cert_path)
}

fn material(
    ca_pem: String,
    cert_chain_pem: String,
    key_pem: String,
    ca_path: &Path,
) -> Result<TlsMaterial, TlsError> {
    let ca_fingerprint_sha256 = ca_fingerprint_sha256(&ca_pem).ok_or_else(|| TlsError::Pem {
        path: ca_path.to_path_buf(),
        what: "certificate",
    })?;
    Ok(TlsMaterial {
        ca_pem,
        cert_chain_pem,
        key_pem,
        ca_fingerprint_sha256,
    })
}

/// Uses given files instead: the server certificate chain, its key, and the CA certificate to
/// publish (when `None`, the last certificate of the chain is published as the CA).
pub fn load_given(cert: &Path, key: &Path, ca: Option<&Path>) -> Result<TlsMaterial, TlsError> {
    let chain = read_file(cert)?.ok_or_else(|| TlsError::Io {
        path: cert.to_path_buf(),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let key_pem = read_file(key)?.ok_or_else(|| TlsError::Io {
        path: key.to_path_buf(),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let (ca_pem, ca_path) = match ca {
        Some(p) => (
            read_file(p)?.ok_or_else(|| TlsError::Io {
                path: p.to_path_buf(),
                source: std::io::ErrorKind::NotFound.into(),
            })?,
            p,
        ),
        None => {
            let last = CertificateDer::pem_slice_iter(chain.as_bytes())
                .filter_map(Result::ok)
                .last()
                .ok_or_else(|| TlsError::Pem {
                    path: cert.to_path_buf(),
                    what: "certificate",
                })?;
            let b64 =
                base64::Engine::encode(&base64::engine::general_purpose::STANDARD, last.as_ref());
            let body: Vec<String> = b64
                .as_bytes()
                .chunks(64)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            (
                format!(
                    "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                    body.join("\n")
                ),
                cert,
            )
        }
    };
    let m = material(ca_pem, chain, key_pem, ca_path)?;
    // Fail now, with the file names, rather than at the first connection.
    m.server_config_for(cert, key)?;
    Ok(m)
}

impl TlsMaterial {
    /// The rustls server configuration (ring provider, TLS 1.2 and 1.3, ALPN h2 and http/1.1).
    pub fn server_config(&self) -> Result<Arc<ServerConfig>, TlsError> {
        self.server_config_for(Path::new(SERVER_CERT_FILE), Path::new(SERVER_KEY_FILE))
    }

    fn server_config_for(
        &self,
        cert_path: &Path,
        key_path: &Path,
    ) -> Result<Arc<ServerConfig>, TlsError> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_chain_pem.as_bytes())
                .filter_map(Result::ok)
                .collect();
        if certs.is_empty() {
            return Err(TlsError::Pem {
                path: cert_path.to_path_buf(),
                what: "certificate",
            });
        }
        let key =
            PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).map_err(|_| TlsError::Pem {
                path: key_path.to_path_buf(),
                what: "private key",
            })?;
        let mut cfg =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()?
                .with_no_client_auth()
                .with_single_cert(certs, key)?;
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }

    /// `GET /ca/dcos-ca.crt`: the CA certificate (PEM), with its fingerprint in the
    /// `X-Dcos-Ca-Fingerprint-Sha256` header. Public in [`crate::PUBLIC_PATHS`].
    pub fn ca_router(&self) -> Router {
        let pem = self.ca_pem.clone();
        let fp = self.ca_fingerprint_sha256.clone();
        Router::new().route(
            CA_CERT_PATH,
            get(move || async move {
                (
                    [
                        (
                            header::CONTENT_TYPE,
                            "application/x-x509-ca-cert".to_string(),
                        ),
                        (
                            header::HeaderName::from_static("x-dcos-ca-fingerprint-sha256"),
                            fp,
                        ),
                    ],
                    pem,
                )
                    .into_response()
            }),
        )
    }
}

/// Serves `router` over HTTPS on `listener` until the task is dropped. Each connection gets
/// `ConnectInfo<SocketAddr>` (used by login throttling); handshakes time out after
/// [`HANDSHAKE_TIMEOUT`]; failed handshakes (e.g. a client not trusting the CA) are logged at
/// debug level and do not affect other connections.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: Router,
    config: Arc<ServerConfig>,
) -> std::io::Result<()> {
    serve_tls_with_shutdown(listener, router, config, std::future::pending()).await
}

/// [`serve_tls`] that stops accepting connections when `shutdown` completes (connections in
/// flight finish on their own tasks), like `axum::serve(..).with_graceful_shutdown(..)`.
pub async fn serve_tls_with_shutdown(
    listener: tokio::net::TcpListener,
    router: Router,
    config: Arc<ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = &mut shutdown => return Ok(()),
        };
        let (tcp, peer) = match accepted {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: back off, keep serving.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(client = %peer, "TLS handshake failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!(client = %peer, "TLS handshake timed out");
                    return;
                }
            };
            let svc = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    tower::ServiceExt::oneshot(router.clone(), req.map(axum::body::Body::new))
                },
            );
            if let Err(e) = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection_with_upgrades(TokioIo::new(tls), svc)
                .await
            {
                tracing::debug!(client = %peer, "connection ended: {e}");
            }
        });
    }
}

#[cfg(test)]
mod civil_tests {
    #[test]
    fn civil_date_known_days() {
        assert_eq!(super::civil_date(0), (1970, 1, 1));
        assert_eq!(super::civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(super::civil_date(1_798_675_200), (2026, 12, 31));
    }
}
