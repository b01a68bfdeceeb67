//! Authentication for the master, on by default as in DC/OS: accounts (users with argon2id
//! password hashes, service accounts with RSA public keys) in SQLite tables prefixed `auth_`,
//! RS256 JWTs (`uid`, `iat`, `exp`; 5 days by default), the IAM routes
//! (`/acs/api/v1/auth/login`, `/acs/api/v1/auth/providers`, `/acs/api/v1/users[/{uid}]`),
//! throttling of repeated failed logins, ONE middleware ([`require_auth`]) that guards every
//! route but the public ones and checks the cluster join token on the agent routes, and TLS
//! material (cluster CA + server certificate) with an HTTPS server ([`tls::serve_tls`]).
//!
//! How the master mounts it (in `crates/master/src/lib.rs` `run()`, right after
//! `let app = http::router(master.clone());`; `token` is the cluster join token):
//!
//! ```ignore
//! let store = dcos_auth::SqliteAccountStore::open(&args.data_dir.join("master.sqlite"))
//!     .context("opening the auth tables")?;                 // its own connection, auth_* tables
//! let opened = dcos_auth::AuthState::open(store, dcos_auth::AuthConfig::new(token.clone()))
//!     .context("initialising authentication")?;             // first start: key pair + admin
//! if let Some(pw) = &opened.bootstrap_password {
//!     println!("created user 'admin' with password {pw} (shown only this once)");
//! }
//! let app = dcos_auth::protect(app, &opened.state);          // IAM routes + ONE middleware
//! // plain HTTP (ConnectInfo gives login throttling the client address):
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
//!     .with_graceful_shutdown(shutdown_signal()).await?;
//! // or, with `--tls` (names/IPs clients use; localhost and 127.0.0.1 are always added):
//! let tls = dcos_auth::tls::ensure_ca_and_cert(&args.data_dir.join("tls"), &names)?;
//! let app = app.merge(tls.ca_router());                      // GET /ca/dcos-ca.crt (public)
//! dcos_auth::tls::serve_tls_with_shutdown(listener, app, tls.server_config()?, shutdown_signal()).await?;
//! ```
//!
//! `AuthConfig` fields change the defaults: `token_lifetime` (5 days), `throttle`,
//! `public_paths` (e.g. push `PathRule::Exact("/metrics".into())`), `agent_paths`, `clock`.
//! Given certificates instead of generated ones: `dcos_auth::tls::load_given(cert, key, ca)`.
//! The master's whole-route-table test can use [`testing::refused_authorizations`] (missing,
//! malformed, expired, wrongly signed, `alg: none`, HS256 tokens) and
//! [`testing::valid_authorization`].
//! Agents guard their own API with
//! `from_fn_with_state(dcos_auth::JoinToken::new(token), dcos_auth::require_join_token)`.
//!
//! [`protect`] merges [`AuthState::router`] and wraps everything (fallback included) in
//! [`require_auth`]. Public paths are [`PUBLIC_PATHS`] (login, providers, `/dcos-metadata/...`,
//! `/metadata`, `/ping`, `/ca/dcos-ca.crt`); [`AGENT_PATHS`] (`/internal/v1/agents/...`) need
//! the `X-Dcos-Join-Token` header instead; everything else needs `Authorization: token=<jwt>`
//! or `Authorization: Bearer <jwt>` and gets [`Authenticated`] in its request extensions
//! (handlers can take `Extension<Authenticated>`). Agents protect their own API with
//! [`require_join_token`].

pub mod accounts;
pub mod clock;
pub mod error;
pub mod middleware;
pub mod password;
mod routes;
pub mod state;
pub mod testing;
pub mod throttle;
pub mod tls;
pub mod tokens;

pub use accounts::{
    bootstrap, Account, AccountError, AccountStore, Credential, SqliteAccountStore, BOOTSTRAP_UID,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::ApiError;
pub use middleware::{
    require_auth, require_join_token, token_from_headers, AgentAuthenticated, AuthError,
    Authenticated, JoinToken, JoinTokenError, PathRule, AGENT_PATHS, CA_CERT_PATH, LOGIN_PATH,
    PROVIDERS_PATH, PUBLIC_PATHS, USERS_PATH,
};
pub use state::{AuthConfig, AuthInitError, AuthState, Opened};
pub use throttle::{LoginThrottle, ThrottlePolicy};
pub use tokens::{
    sign_login_token, Claims, TokenError, TokenIssuer, TokenKeys, DEFAULT_TOKEN_LIFETIME,
};

/// The master's router with the auth routes merged in and every route (and the fallback)
/// behind [`require_auth`].
pub fn protect(router: axum::Router, auth: &AuthState) -> axum::Router {
    router
        .merge(auth.router())
        .layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            require_auth,
        ))
}

#[cfg(test)]
mod tests;
