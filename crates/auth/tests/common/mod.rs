//! Shared fixtures: a real SQLite store in a temp dir, a real HTTP server on 127.0.0.1:0.
#![allow(dead_code)]

use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use dcos_auth::{
    AuthConfig, AuthState, Authenticated, ManualClock, SqliteAccountStore, ThrottlePolicy,
    TokenKeys,
};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const JOIN_TOKEN: &str = "test-join-token-0123456789";
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// (keys, private PEM), generated once per test binary (RSA key generation is slow).
pub fn cluster_keys() -> &'static (TokenKeys, String) {
    static K: OnceLock<(TokenKeys, String)> = OnceLock::new();
    K.get_or_init(|| TokenKeys::generate().expect("keygen"))
}

pub fn other_keys() -> &'static (TokenKeys, String) {
    static K: OnceLock<(TokenKeys, String)> = OnceLock::new();
    K.get_or_init(|| TokenKeys::generate().expect("keygen"))
}

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub auth: AuthState,
    pub clock: Arc<ManualClock>,
    pub admin_password: String,
    pub server: Server,
    pub http: reqwest::Client,
}

/// Stops the server when the test ends, also on failure.
pub struct Server {
    pub base: String,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl Fixture {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base, path)
    }

    pub async fn login(&self, uid: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/acs/api/v1/auth/login"))
            .json(&json!({"uid": uid, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn admin_token(&self) -> String {
        let r = self.login("admin", &self.admin_password).await;
        assert_eq!(r.status(), 200);
        r.json::<serde_json::Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The routes a master would have, behind `dcos_auth::protect`.
pub fn app(auth: &AuthState) -> Router {
    let master = Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route(
            "/metadata",
            get(|| async { Json(json!({"CLUSTER_ID": "c1", "PUBLIC_IPV4": "127.0.0.1"})) }),
        )
        .route(
            "/dcos-metadata/dcos-version.json",
            get(|| async { Json(json!({"version": "2.2.0"})) }),
        )
        .route(
            "/mesos/master/state.json",
            get(|Extension(who): Extension<Authenticated>| async move { who.uid }),
        )
        .route(
            "/internal/v1/agents/register",
            post(|| async { "registered" }),
        );
    dcos_auth::protect(master, auth)
}

pub async fn serve(app: Router) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Server {
        base: format!("http://{addr}"),
        handle,
    }
}

pub async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteAccountStore::open(&dir.path().join("master.sqlite")).unwrap();
    let admin_password = dcos_auth::bootstrap(&mut store).unwrap().unwrap();
    let clock = Arc::new(ManualClock::starting_now());
    let mut cfg = AuthConfig::new(JOIN_TOKEN);
    cfg.clock = clock.clone();
    cfg.token_lifetime = TOKEN_LIFETIME;
    cfg.throttle = ThrottlePolicy {
        free_failures: 3,
        base_delay: Duration::from_secs(2),
        ..Default::default()
    };
    let auth = AuthState::with_keys(store, cluster_keys().0.clone(), cfg);
    let server = serve(app(&auth)).await;
    Fixture {
        _dir: dir,
        auth,
        clock,
        admin_password,
        server,
        http: reqwest::Client::new(),
    }
}
