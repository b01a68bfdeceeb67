//! [`AuthState`]: everything the auth routes and the middleware share (account store, token
//! issuer, login throttle, path rules, join token), and its configuration.

use crate::accounts::{self, AccountError, AccountStore};
use crate::clock::{Clock, SystemClock};
use crate::middleware::{JoinToken, PathRule, AGENT_PATHS, PUBLIC_PATHS};
use crate::throttle::{LoginThrottle, ThrottlePolicy};
use crate::tokens::{KeyLoadError, TokenIssuer, TokenKeys, DEFAULT_TOKEN_LIFETIME};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How the auth layer behaves. `AuthConfig::new(join_token)` gives DC/OS's defaults.
#[derive(Clone)]
pub struct AuthConfig {
    /// Lifetime of issued tokens (default 5 days).
    pub token_lifetime: Duration,
    pub throttle: ThrottlePolicy,
    /// Paths open without any token (default [`PUBLIC_PATHS`]).
    pub public_paths: Vec<PathRule>,
    /// Paths authenticated by the cluster join token instead of a user token
    /// (default [`AGENT_PATHS`]).
    pub agent_paths: Vec<PathRule>,
    /// The cluster join token agents present in `X-Dcos-Join-Token`.
    pub join_token: JoinToken,
    pub clock: Arc<dyn Clock>,
}

impl AuthConfig {
    pub fn new(join_token: impl Into<String>) -> Self {
        AuthConfig {
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            throttle: ThrottlePolicy::default(),
            public_paths: PUBLIC_PATHS.to_vec(),
            agent_paths: AGENT_PATHS.to_vec(),
            join_token: JoinToken::new(join_token),
            clock: Arc::new(SystemClock),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthInitError {
    #[error("auth store: {0}")]
    Store(#[from] AccountError),
    #[error("token signing key: {0}")]
    Keys(#[from] KeyLoadError),
}

pub(crate) struct Inner {
    pub(crate) store: Mutex<Box<dyn AccountStore>>,
    pub(crate) tokens: TokenIssuer,
    pub(crate) throttle: Mutex<LoginThrottle>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) public_paths: Vec<PathRule>,
    pub(crate) agent_paths: Vec<PathRule>,
    pub(crate) join_token: JoinToken,
}

/// The shared auth state; cheap to clone.
#[derive(Clone)]
pub struct AuthState {
    pub(crate) inner: Arc<Inner>,
}

/// What [`AuthState::open`] returns.
pub struct Opened {
    pub state: AuthState,
    /// The bootstrap admin's password, only on the very first start: print it once.
    pub bootstrap_password: Option<String>,
}

impl AuthState {
    /// Loads (or on first start generates) the signing key from `store`, creates the bootstrap
    /// admin on first start, and builds the state.
    pub fn open(mut store: impl AccountStore, config: AuthConfig) -> Result<Opened, AuthInitError> {
        let keys = TokenKeys::load_or_generate(&mut store)?;
        let bootstrap_password = accounts::bootstrap(&mut store)?;
        Ok(Opened {
            state: Self::with_keys(store, keys, config),
            bootstrap_password,
        })
    }

    /// Builds the state with a given key pair (no bootstrap).
    pub fn with_keys(store: impl AccountStore, keys: TokenKeys, config: AuthConfig) -> AuthState {
        let tokens = TokenIssuer::new(keys, config.token_lifetime, config.clock.clone());
        AuthState {
            inner: Arc::new(Inner {
                store: Mutex::new(Box::new(store)),
                tokens,
                throttle: Mutex::new(LoginThrottle::new(config.throttle)),
                clock: config.clock,
                public_paths: config.public_paths,
                agent_paths: config.agent_paths,
                join_token: config.join_token,
            }),
        }
    }

    pub fn tokens(&self) -> &TokenIssuer {
        &self.inner.tokens
    }

    pub fn join_token(&self) -> &JoinToken {
        &self.inner.join_token
    }

    /// Runs `f` with the account store locked (keep it short: no hashing inside).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut dyn AccountStore) -> T) -> T {
        let mut g = lock(&self.inner.store);
        f(g.as_mut())
    }

    pub(crate) fn throttle(&self) -> MutexGuard<'_, LoginThrottle> {
        lock(&self.inner.throttle)
    }

    /// The current time of the configured clock.
    pub fn now(&self) -> Duration {
        self.inner.clock.now()
    }

    /// Whether `path` is open without a token.
    pub fn is_public(&self, path: &str) -> bool {
        PathRule::any_matches(&self.inner.public_paths, path)
    }

    /// Whether `path` is authenticated by the cluster join token.
    pub fn is_agent_path(&self, path: &str) -> bool {
        PathRule::any_matches(&self.inner.agent_paths, path)
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
