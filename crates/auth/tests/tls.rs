//! TLS material on disk and real handshakes against `serve_tls`.

mod common;

use common::*;
use dcos_auth::tls::{self, TlsError};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn client_trusting(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap()
}

struct TlsServer {
    port: u16,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

async fn serve_https(m: &tls::TlsMaterial, f: &Fixture) -> TlsServer {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = app(&f.auth).merge(m.ca_router());
    let cfg = m.server_config().unwrap();
    TlsServer {
        port,
        handle: tokio::spawn(tls::serve_tls(listener, app, cfg)),
    }
}

#[test]
fn generated_once_with_private_keys_0600() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("tls");
    let m1 = tls::ensure_ca_and_cert(&d, &["master.example".into(), "10.0.0.5".into()]).unwrap();
    for f in ["ca.key", "server.key"] {
        assert_eq!(mode(&d.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&d), 0o700);
    assert!(m1.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(m1.ca_fingerprint_sha256.len(), 32 * 3 - 1);
    assert_eq!(
        tls::ca_fingerprint_sha256(&m1.ca_pem).unwrap(),
        m1.ca_fingerprint_sha256
    );
    assert!(!format!("{m1:?}").contains("PRIVATE KEY"));

    let m2 = tls::ensure_ca_and_cert(&d, &["master.example".into()]).unwrap();
    assert_eq!(m2.ca_pem, m1.ca_pem, "the CA is kept");
    assert_eq!(
        m2.cert_chain_pem, m1.cert_chain_pem,
        "a covering server certificate is reused"
    );

    let m3 = tls::ensure_ca_and_cert(&d, &["other.example".into()]).unwrap();
    assert_eq!(
        m3.ca_fingerprint_sha256, m1.ca_fingerprint_sha256,
        "pinned clients keep working"
    );
    assert_ne!(
        m3.cert_chain_pem, m1.cert_chain_pem,
        "a new name re-issues the server certificate"
    );
    assert_eq!(mode(&d.join("server.key")), 0o600);

    // A key made readable by others is tightened on the next start.
    std::fs::set_permissions(d.join("ca.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    tls::ensure_ca_and_cert(&d, &["other.example".into()]).unwrap();
    assert_eq!(mode(&d.join("ca.key")), 0o600);
}

#[test]
fn given_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("tls");
    let m = tls::ensure_ca_and_cert(&d, &[]).unwrap();
    let given = tls::load_given(
        &d.join("server.crt"),
        &d.join("server.key"),
        Some(&d.join("ca.crt")),
    )
    .unwrap();
    assert_eq!(given.ca_fingerprint_sha256, m.ca_fingerprint_sha256);
    // Key of another certificate: refused with a clear error.
    let e = tls::load_given(&d.join("server.crt"), &d.join("ca.key"), None).unwrap_err();
    assert!(matches!(e, TlsError::Rustls(_)), "{e}");
    std::fs::write(dir.path().join("junk.pem"), "hello").unwrap();
    let e = tls::load_given(&dir.path().join("junk.pem"), &d.join("server.key"), None).unwrap_err();
    assert!(e.to_string().contains("junk.pem"), "{e}");
    let e =
        tls::load_given(&dir.path().join("missing.pem"), &d.join("server.key"), None).unwrap_err();
    assert!(e.to_string().contains("missing.pem"), "{e}");
}

#[tokio::test]
async fn https_with_the_pinned_ca_works_and_a_wrong_ca_is_refused() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let m = tls::ensure_ca_and_cert(&dir.path().join("tls"), &["master.example".into()]).unwrap();
    let srv = serve_https(&m, &f).await;
    let good = client_trusting(&m.ca_pem);
    for host in ["localhost", "127.0.0.1"] {
        let r = good
            .get(format!("https://{host}:{}/ping", srv.port))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
        assert_eq!(r.text().await.unwrap(), "pong");
    }
    // The CA route is public and serves what `dcos cluster setup` pins.
    let r = good
        .get(format!("https://localhost:{}/ca/dcos-ca.crt", srv.port))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["x-dcos-ca-fingerprint-sha256"]
            .to_str()
            .unwrap(),
        m.ca_fingerprint_sha256
    );
    assert_eq!(r.text().await.unwrap(), m.ca_pem);
    // Auth works the same over TLS.
    let r = good
        .get(format!(
            "https://localhost:{}/mesos/master/state.json",
            srv.port
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = good
        .post(format!(
            "https://localhost:{}/acs/api/v1/auth/login",
            srv.port
        ))
        .json(&serde_json::json!({"uid": "admin", "password": f.admin_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // A client trusting another CA, or only the public roots, is refused.
    let other_dir = tempfile::tempdir().unwrap();
    let other = tls::ensure_ca_and_cert(other_dir.path(), &[]).unwrap();
    assert_ne!(other.ca_fingerprint_sha256, m.ca_fingerprint_sha256);
    let e = client_trusting(&other.ca_pem)
        .get(format!("https://localhost:{}/ping", srv.port))
        .send()
        .await;
    assert!(e.is_err(), "wrong CA must fail the handshake");
    let public_roots = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(public_roots
        .get(format!("https://localhost:{}/ping", srv.port))
        .send()
        .await
        .is_err());
    // The given name is in the certificate; a name that is not is refused.
    let resolving = |name: &str| {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(m.ca_pem.as_bytes()).unwrap())
            .resolve(name, ([127, 0, 0, 1], srv.port).into())
            .build()
            .unwrap()
    };
    let r = resolving("master.example")
        .get(format!("https://master.example:{}/ping", srv.port))
        .send()
        .await;
    assert_eq!(r.unwrap().status(), 200);
    let r = resolving("wrong-name.example")
        .get(format!("https://wrong-name.example:{}/ping", srv.port))
        .send()
        .await;
    assert!(r.is_err(), "a name outside the certificate must fail");
    // The server survived the failed handshakes.
    assert_eq!(
        good.get(format!("https://localhost:{}/ping", srv.port))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn serve_tls_stops_on_shutdown() {
    let f = fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let m = tls::ensure_ca_and_cert(dir.path(), &[]).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(tls::serve_tls_with_shutdown(
        listener,
        app(&f.auth),
        m.server_config().unwrap(),
        async {
            let _ = rx.await;
        },
    ));
    let client = client_trusting(&m.ca_pem);
    assert_eq!(
        client
            .get(format!("https://localhost:{port}/ping"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    tx.send(()).unwrap();
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "the server returns after the signal"
    );
    let fresh = client_trusting(&m.ca_pem);
    assert!(
        fresh
            .get(format!("https://localhost:{port}/ping"))
            .send()
            .await
            .is_err(),
        "no longer listening"
    );
}
