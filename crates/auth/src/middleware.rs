//! The one authentication middleware the master wraps around its whole router
//! ([`require_auth`]), the public path list, and the cluster join token check for agent routes
//! ([`JoinToken`], [`require_join_token`]).

use crate::error::ApiError;
use crate::state::AuthState;
use crate::tokens::{Claims, TokenError};
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use dcos_schemas::agent::JOIN_TOKEN_HEADER;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub const LOGIN_PATH: &str = "/acs/api/v1/auth/login";
pub const PROVIDERS_PATH: &str = "/acs/api/v1/auth/providers";
pub const USERS_PATH: &str = "/acs/api/v1/users";
/// Where the cluster CA certificate is served (DC/OS's path).
pub const CA_CERT_PATH: &str = "/ca/dcos-ca.crt";

/// A path, or every path under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRule {
    Exact(Cow<'static, str>),
    /// Matches paths starting with this (include the trailing `/`).
    Prefix(Cow<'static, str>),
}

impl PathRule {
    pub fn matches(&self, path: &str) -> bool {
        // A path with dot segments never matches: no `/ping/../secret` tricks.
        if path.split('/').any(|s| s == "." || s == "..") {
            return false;
        }
        match self {
            PathRule::Exact(p) => path == p,
            PathRule::Prefix(p) => path.starts_with(p.as_ref()),
        }
    }

    pub fn any_matches(rules: &[PathRule], path: &str) -> bool {
        rules.iter().any(|r| r.matches(path))
    }
}

/// Reachable without a token: login, providers, cluster metadata, ping, the CA certificate.
pub const PUBLIC_PATHS: &[PathRule] = &[
    PathRule::Exact(Cow::Borrowed(LOGIN_PATH)),
    PathRule::Exact(Cow::Borrowed(PROVIDERS_PATH)),
    PathRule::Prefix(Cow::Borrowed("/dcos-metadata/")),
    PathRule::Exact(Cow::Borrowed("/metadata")),
    PathRule::Exact(Cow::Borrowed("/ping")),
    PathRule::Exact(Cow::Borrowed(CA_CERT_PATH)),
];

/// The agent -> master protocol (dcos_schemas::agent): join token instead of a user token.
pub const AGENT_PATHS: &[PathRule] = &[PathRule::Prefix(Cow::Borrowed("/internal/v1/agents/"))];

/// The authenticated caller, put into request extensions by [`require_auth`]. As an extractor
/// it also works without the middleware (it then verifies the header itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub uid: String,
    pub claims: Claims,
}

/// Marks a request authenticated by the cluster join token (an agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentAuthenticated;

/// Why a request carries no usable token.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AuthError {
    #[error("authentication required: send the header 'Authorization: token=<token>' (get a token with POST /acs/api/v1/auth/login or `dcos auth login`)")]
    Missing,
    #[error("unreadable Authorization header: use 'Authorization: token=<token>' or 'Authorization: Bearer <token>'")]
    BadHeader,
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the account {0:?} no longer exists: log in as another user")]
    UnknownAccount(String),
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        let code = match &e {
            AuthError::Missing => "ERR_MISSING_AUTH_TOKEN",
            AuthError::BadHeader => "ERR_INVALID_AUTH_HEADER",
            AuthError::Token(TokenError::Expired) => "ERR_EXPIRED_AUTH_TOKEN",
            AuthError::Token(_) => "ERR_INVALID_AUTH_TOKEN",
            AuthError::UnknownAccount(_) => "ERR_UNKNOWN_USER_ID",
        };
        ApiError::unauthorized(code, e.to_string())
    }
}

/// The token in an `Authorization` header: `token=<jwt>` (DC/OS) or `Bearer <jwt>`.
pub fn token_from_headers(headers: &HeaderMap) -> Result<&str, AuthError> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let v = v.to_str().map_err(|_| AuthError::BadHeader)?.trim();
    let token = if let Some(t) = v.strip_prefix("token=") {
        t
    } else if v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer ") {
        &v[7..]
    } else {
        return Err(AuthError::BadHeader);
    };
    let token = token.trim().trim_matches('"');
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token)
}

impl AuthState {
    /// Verifies the request's token and that its account still exists.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Authenticated, AuthError> {
        let token = token_from_headers(headers)?;
        let claims = self.tokens().verify(token)?;
        let exists = self
            .with_store(|s| s.get(&claims.uid))
            .map(|a| a.is_some())
            .unwrap_or(false);
        if !exists {
            return Err(AuthError::UnknownAccount(claims.uid));
        }
        Ok(Authenticated {
            uid: claims.uid.clone(),
            claims,
        })
    }
}

fn client_addr(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The middleware: public paths pass; agent paths need the join token; everything else needs
/// a valid token, whose caller is put into the request's extensions as [`Authenticated`].
/// Mount with `axum::middleware::from_fn_with_state(auth_state, dcos_auth::require_auth)`.
pub async fn require_auth(State(auth): State<AuthState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if auth.is_public(&path) {
        return next.run(req).await;
    }
    if auth.is_agent_path(&path) {
        return match auth.join_token().check(req.headers()) {
            Ok(()) => {
                req.extensions_mut().insert(AgentAuthenticated);
                next.run(req).await
            }
            Err(e) => {
                tracing::warn!(path = %path, client = %client_addr(&req), "agent call refused: {e}");
                e.into_response()
            }
        };
    }
    match auth.authenticate(req.headers()) {
        Ok(who) => {
            req.extensions_mut().insert(who);
            next.run(req).await
        }
        Err(e) => {
            tracing::debug!(path = %path, client = %client_addr(&req), "unauthenticated request: {e}");
            ApiError::from(e).into_response()
        }
    }
}

impl FromRequestParts<AuthState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AuthState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(a) = parts.extensions.get::<Authenticated>() {
            return Ok(a.clone());
        }
        Ok(state.authenticate(&parts.headers)?)
    }
}

/// The cluster join token. `Debug` never shows it; comparisons are constant-time.
#[derive(Clone)]
pub struct JoinToken(Arc<[u8; 32]>);

impl std::fmt::Debug for JoinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JoinToken(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JoinTokenError {
    #[error("missing {JOIN_TOKEN_HEADER} header: agents must present the cluster join token (<master data dir>/join-token)")]
    Missing,
    #[error("wrong cluster join token in {JOIN_TOKEN_HEADER}: copy <master data dir>/join-token to the agent")]
    Wrong,
}

impl IntoResponse for JoinTokenError {
    fn into_response(self) -> Response {
        let code = match self {
            JoinTokenError::Missing => "ERR_MISSING_JOIN_TOKEN",
            JoinTokenError::Wrong => "ERR_INVALID_JOIN_TOKEN",
        };
        // 401 like the master's own agent routes, so agents see one status for "not admitted".
        ApiError::new(StatusCode::UNAUTHORIZED, code, self.to_string()).into_response()
    }
}

impl JoinToken {
    pub fn new(token: impl Into<String>) -> Self {
        let t: String = token.into();
        JoinToken(Arc::new(Sha256::digest(t.trim().as_bytes()).into()))
    }

    /// Constant-time comparison (of SHA-256 digests, so the length does not leak either).
    pub fn matches(&self, given: &[u8]) -> bool {
        let d: [u8; 32] = Sha256::digest(given.trim_ascii()).into();
        bool::from(d.ct_eq(self.0.as_ref()))
    }

    pub fn check(&self, headers: &HeaderMap) -> Result<(), JoinTokenError> {
        match headers.get(JOIN_TOKEN_HEADER) {
            None => Err(JoinTokenError::Missing),
            Some(v) if self.matches(v.as_bytes()) => Ok(()),
            Some(_) => Err(JoinTokenError::Wrong),
        }
    }
}

/// A middleware for routes served only to cluster members (e.g. the agent's own API called by
/// the master): `from_fn_with_state(join_token, dcos_auth::require_join_token)`. Refusals are
/// logged with the caller's address.
pub async fn require_join_token(
    State(token): State<JoinToken>,
    req: Request,
    next: Next,
) -> Response {
    match token.check(req.headers()) {
        Ok(()) => next.run(req).await,
        Err(e) => {
            tracing::warn!(path = %req.uri().path(), client = %client_addr(&req), "cluster call refused: {e}");
            e.into_response()
        }
    }
}
