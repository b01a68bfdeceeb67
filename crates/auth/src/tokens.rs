//! Authentication tokens: RS256 JWTs with the claims `uid`, `iat` and `exp`, signed by the
//! cluster's key pair (generated on first start and kept in the account store's settings), and
//! verification of service accounts' login JWTs against their registered public keys.

use crate::accounts::{AccountError, AccountStore};
use crate::clock::Clock;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// DC/OS's token lifetime: 5 days.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 24 * 3600);
/// Clock skew tolerated on the expiry of service accounts' login JWTs (signed on other hosts).
pub const LOGIN_TOKEN_LEEWAY: Duration = Duration::from_secs(60);
/// Size of the generated signing key.
pub const SIGNING_KEY_BITS: usize = 2048;
/// Settings key under which the signing key (PKCS#8 PEM) is kept.
const SIGNING_KEY_SETTING: &str = "jwt_signing_key_pkcs8_pem";

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token ({0}): log in again with POST /acs/api/v1/auth/login")]
    Malformed(String),
    #[error("token expired: log in again with POST /acs/api/v1/auth/login")]
    Expired,
    #[error("token signature is invalid (signed by another key): log in again")]
    BadSignature,
    #[error("token algorithm not accepted: only RS256 tokens are")]
    WrongAlgorithm,
    #[error("token lacks the claim {0:?}")]
    MissingClaim(&'static str),
    #[error("login token is for uid {found:?}, not {expected:?}")]
    UidMismatch { expected: String, found: String },
    #[error("key error: {0}")]
    Key(String),
}

/// What an authentication token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub uid: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issue time, seconds since the Unix epoch.
    #[serde(default)]
    pub iat: u64,
}

#[derive(Debug, Deserialize)]
struct LooseClaims {
    uid: Option<String>,
    exp: Option<u64>,
    #[serde(default)]
    iat: Option<u64>,
}

/// The cluster's token signing key pair.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    public_pem: String,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys")
            .field("public_pem", &self.public_pem)
            .finish_non_exhaustive()
    }
}

/// Generates an RSA key pair and returns (private PKCS#8 PEM, public SPKI PEM).
pub fn generate_rsa_pem(bits: usize) -> Result<(String, String), TokenError> {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, bits)
        .map_err(|e| TokenError::Key(e.to_string()))?;
    let private = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| TokenError::Key(e.to_string()))?;
    let public = rsa::RsaPublicKey::from(&key)
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| TokenError::Key(e.to_string()))?;
    Ok((private.to_string(), public))
}

impl TokenKeys {
    /// A fresh key pair; also returns its private PEM for persisting.
    pub fn generate() -> Result<(TokenKeys, String), TokenError> {
        let (private, _) = generate_rsa_pem(SIGNING_KEY_BITS)?;
        Ok((Self::from_private_pem(&private)?, private))
    }

    /// Loads a key pair from its private key (PKCS#8 or PKCS#1 PEM).
    pub fn from_private_pem(pem: &str) -> Result<TokenKeys, TokenError> {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
            .map_err(|e| {
                TokenError::Key(format!("signing key is not an RSA private key PEM: {e}"))
            })?;
        let public_pem = rsa::RsaPublicKey::from(&key)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| TokenError::Key(e.to_string()))?;
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| TokenError::Key(e.to_string()))?;
        let decoding = DecodingKey::from_rsa_pem(public_pem.as_bytes())
            .map_err(|e| TokenError::Key(e.to_string()))?;
        Ok(TokenKeys {
            encoding,
            decoding,
            public_pem,
        })
    }

    /// The key pair kept in `store`, generated and saved there on first use.
    pub fn load_or_generate(store: &mut dyn AccountStore) -> Result<TokenKeys, KeyLoadError> {
        if let Some(pem) = store.get_setting(SIGNING_KEY_SETTING)? {
            return Ok(Self::from_private_pem(&pem)?);
        }
        let (keys, pem) = Self::generate()?;
        store.put_setting(SIGNING_KEY_SETTING, &pem)?;
        Ok(keys)
    }

    /// The public key (SPKI PEM), e.g. for other services that verify tokens.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyLoadError {
    #[error(transparent)]
    Store(#[from] AccountError),
    #[error(transparent)]
    Key(#[from] TokenError),
}

fn validation() -> Validation {
    let mut v = Validation::new(Algorithm::RS256);
    // Expiry is checked against the injected clock below, not the system clock.
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    v
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> TokenError {
    match e.kind() {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm => TokenError::WrongAlgorithm,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::InvalidToken => TokenError::Malformed("not three dot-separated parts".into()),
        ErrorKind::Base64(_) => TokenError::Malformed("bad base64".into()),
        ErrorKind::Json(_) => TokenError::Malformed("bad JSON".into()),
        ErrorKind::Utf8(_) => TokenError::Malformed("bad UTF-8".into()),
        ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat | ErrorKind::Crypto(_) => {
            TokenError::Key("the verification key is unusable".into())
        }
        other => TokenError::Malformed(format!("{other:?}")),
    }
}

/// Issues and verifies the cluster's authentication tokens.
#[derive(Clone)]
pub struct TokenIssuer {
    keys: Arc<TokenKeys>,
    lifetime: Duration,
    clock: Arc<dyn Clock>,
}

impl TokenIssuer {
    pub fn new(keys: TokenKeys, lifetime: Duration, clock: Arc<dyn Clock>) -> Self {
        TokenIssuer {
            keys: Arc::new(keys),
            lifetime,
            clock,
        }
    }

    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    /// A signed token for `uid`, valid for the configured lifetime from now.
    pub fn issue(&self, uid: &str) -> Result<String, TokenError> {
        let now = self.clock.now().as_secs();
        let claims = Claims {
            uid: uid.to_string(),
            iat: now,
            exp: now.saturating_add(self.lifetime.as_secs()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.keys.encoding)
            .map_err(|e| TokenError::Key(e.to_string()))
    }

    /// Checks signature, algorithm and expiry; returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let data =
            jsonwebtoken::decode::<LooseClaims>(token.trim(), &self.keys.decoding, &validation())
                .map_err(map_jwt_error)?;
        let c = data.claims;
        let uid = c
            .uid
            .filter(|u| !u.is_empty())
            .ok_or(TokenError::MissingClaim("uid"))?;
        let exp = c.exp.ok_or(TokenError::MissingClaim("exp"))?;
        if exp <= self.clock.now().as_secs() {
            return Err(TokenError::Expired);
        }
        Ok(Claims {
            uid,
            exp,
            iat: c.iat.unwrap_or(0),
        })
    }

    /// Verifies a service account's login JWT (`{"uid", "exp"}` signed RS256 by the account's
    /// private key) against its registered public key.
    pub fn verify_login_token(
        &self,
        token: &str,
        public_pem: &str,
        expected_uid: &str,
    ) -> Result<(), TokenError> {
        let key = DecodingKey::from_rsa_pem(public_pem.trim().as_bytes())
            .map_err(|e| TokenError::Key(format!("stored public key unusable: {e}")))?;
        let data = jsonwebtoken::decode::<LooseClaims>(token.trim(), &key, &validation())
            .map_err(map_jwt_error)?;
        let uid = data.claims.uid.ok_or(TokenError::MissingClaim("uid"))?;
        let exp = data.claims.exp.ok_or(TokenError::MissingClaim("exp"))?;
        if uid != expected_uid {
            return Err(TokenError::UidMismatch {
                expected: expected_uid.to_string(),
                found: uid,
            });
        }
        if exp.saturating_add(LOGIN_TOKEN_LEEWAY.as_secs()) <= self.clock.now().as_secs() {
            return Err(TokenError::Expired);
        }
        Ok(())
    }
}

/// Signs a service account's login JWT (what `dcos auth login --private-key` sends as `token`).
pub fn sign_login_token(private_pem: &str, uid: &str, exp_unix: u64) -> Result<String, TokenError> {
    let key = EncodingKey::from_rsa_pem(private_pem.as_bytes())
        .map_err(|e| TokenError::Key(e.to_string()))?;
    let claims = serde_json::json!({ "uid": uid, "exp": exp_unix });
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key)
        .map_err(|e| TokenError::Key(e.to_string()))
}
