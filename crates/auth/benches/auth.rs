//! What authentication costs: key generation (first start), argon2id hashing (each login and
//! password change), token issue/verify, and the middleware's per-request overhead over real
//! HTTP. Prints figures; run with `cargo bench -p dcos-auth --bench auth`.

use axum::routing::get;
use axum::Router;
use dcos_auth::{AuthConfig, AuthState, SqliteAccountStore, TokenIssuer, TokenKeys};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let mut keygen = Vec::new();
    let mut keys = None;
    for _ in 0..3 {
        let t = Instant::now();
        keys = Some(TokenKeys::generate().expect("keygen"));
        keygen.push(t.elapsed());
    }
    let (keys, _) = keys.expect("keys");
    println!(
        "RSA-2048 signing key generation (first start): median {:.0} ms of 3",
        ms(median(keygen))
    );

    let mut hash = Vec::new();
    let mut verify = Vec::new();
    for i in 0..10 {
        let pw = format!("benchmark-password-{i}");
        let t = Instant::now();
        let h = dcos_auth::password::hash_password(&pw).expect("hash");
        hash.push(t.elapsed());
        let t = Instant::now();
        assert!(dcos_auth::password::verify_password(&pw, &h));
        verify.push(t.elapsed());
    }
    println!(
        "argon2id (m=19 MiB, t=2, p=1): hash median {:.1} ms, verify median {:.1} ms (10 runs)",
        ms(median(hash)),
        ms(median(verify))
    );

    let iss = TokenIssuer::new(
        keys.clone(),
        Duration::from_secs(3600),
        Arc::new(dcos_auth::SystemClock),
    );
    let n = 2000;
    let t = Instant::now();
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        tokens.push(iss.issue(&format!("user{i}")).expect("issue"));
    }
    let issue = t.elapsed();
    let t = Instant::now();
    for tok in &tokens {
        iss.verify(tok).expect("verify");
    }
    let ver = t.elapsed();
    println!(
        "RS256 tokens: issue {:.0}/s ({:.3} ms each), verify {:.0}/s ({:.3} ms each), {} bytes",
        n as f64 / issue.as_secs_f64(),
        ms(issue) / n as f64,
        n as f64 / ver.as_secs_f64(),
        ms(ver) / n as f64,
        tokens[0].len()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = SqliteAccountStore::open(&dir.path().join("m.sqlite")).expect("store");
        let pw = dcos_auth::bootstrap(&mut store).expect("bootstrap").expect("password");
        let auth = AuthState::with_keys(store, keys, AuthConfig::new("join"));
        let app = dcos_auth::protect(
            Router::new().route("/ping", get(|| async { "pong" })).route("/state", get(|| async { "state" })),
            &auth,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
        });
        let http = reqwest::Client::new();
        let base = format!("http://{addr}");
        let login = http
            .post(format!("{base}/acs/api/v1/auth/login"))
            .json(&serde_json::json!({"uid": "admin", "password": pw}))
            .send()
            .await
            .expect("login");
        let token = login.json::<serde_json::Value>().await.expect("json")["token"].as_str().expect("token").to_string();
        let auth_header = format!("token={token}");
        let reqs = 3000;
        let mut figures = Vec::new();
        for (name, path, with_token) in [("public /ping", "/ping", false), ("protected /state", "/state", true)] {
            let mut lat = Vec::with_capacity(reqs);
            let t0 = Instant::now();
            for _ in 0..reqs {
                let mut rb = http.get(format!("{base}{path}"));
                if with_token {
                    rb = rb.header("Authorization", &auth_header);
                }
                let t = Instant::now();
                let r = rb.send().await.expect("send");
                assert_eq!(r.status(), 200);
                let _ = r.bytes().await;
                lat.push(t.elapsed());
            }
            let total = t0.elapsed();
            let med = median(lat.clone());
            lat.sort();
            let p99 = lat[lat.len() * 99 / 100];
            figures.push(med);
            println!(
                "HTTP {name}: {reqs} sequential requests, median {:.3} ms, p99 {:.3} ms, {:.0} req/s",
                ms(med),
                ms(p99),
                reqs as f64 / total.as_secs_f64()
            );
        }
        println!("middleware overhead per protected request (median difference): {:.3} ms", ms(figures[1].saturating_sub(figures[0])));
        server.abort();
    });
}
