//! Helpers for tests in other crates (e.g. the master's test that walks its whole route
//! table): `Authorization` header values that must all be refused, and one that must work.

use crate::state::AuthState;
use crate::tokens::{TokenIssuer, TokenKeys};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// `(what, Authorization header value)` pairs that [`crate::require_auth`] must answer with
/// 401: no token, garbage, a non-JWT scheme, an expired token, one signed by another key, one
/// with an edited payload, `alg: none`, and HS256 keyed with the public key. `uid` should
/// exist, so only the token itself is wrong. Generates one RSA key (slow in debug builds:
/// call it once per test).
pub fn refused_authorizations(auth: &AuthState, uid: &str) -> Vec<(&'static str, String)> {
    let tokens = auth.tokens();
    let now = auth.now().as_secs();
    let mut out = vec![
        ("empty token", "token=".to_string()),
        ("garbage", "token=garbage".to_string()),
        ("three dots of garbage", "Bearer a.b.c".to_string()),
        ("basic auth", "Basic YWRtaW46YWRtaW4=".to_string()),
    ];
    // Expired: a token issued "lifetime + 1 h" ago by the real key.
    let expired = TokenIssuer::new(
        tokens.keys().clone(),
        Duration::from_secs(1),
        Arc::new(crate::clock::ManualClock::at(Duration::from_secs(
            now.saturating_sub(3600),
        ))),
    );
    if let Ok(t) = expired.issue(uid) {
        out.push(("expired", format!("token={t}")));
    }
    if let Ok((other, _)) = TokenKeys::generate() {
        let foreign = TokenIssuer::new(
            other,
            tokens.lifetime(),
            Arc::new(crate::clock::SystemClock),
        );
        if let Ok(t) = foreign.issue(uid) {
            out.push(("signed by another key", format!("token={t}")));
        }
    }
    if let Ok(good) = tokens.issue(uid) {
        let parts: Vec<&str> = good.split('.').collect();
        if parts.len() == 3 {
            let payload =
                URL_SAFE_NO_PAD.encode(json!({"uid": uid, "exp": now + 86_400 * 365}).to_string());
            out.push((
                "edited payload",
                format!("token={}.{}.{}", parts[0], payload, parts[2]),
            ));
            let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
            out.push(("alg none", format!("token={none}.{payload}.")));
        }
    }
    let claims = json!({"uid": uid, "exp": now + 3600});
    let hs_key = EncodingKey::from_secret(tokens.keys().public_pem().as_bytes());
    if let Ok(t) = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &hs_key) {
        out.push(("HS256 with the public key", format!("token={t}")));
    }
    out
}

/// A valid `Authorization` header value for `uid` (which must exist to be accepted).
pub fn valid_authorization(auth: &AuthState, uid: &str) -> Option<String> {
    auth.tokens().issue(uid).ok().map(|t| format!("token={t}"))
}
