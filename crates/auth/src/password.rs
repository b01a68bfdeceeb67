//! Password hashing with argon2id (the crate's default parameters: 19 MiB, 2 passes).
//! Hashes are PHC strings (`$argon2id$v=19$...`); plaintext passwords are never stored or logged.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use rand::distributions::Alphanumeric;
use rand::Rng;
use std::fmt;

/// Shortest accepted password.
pub const MIN_PASSWORD_LEN: usize = 8;
/// Longest accepted password (bounds the hashing work one request can cause).
pub const MAX_PASSWORD_LEN: usize = 1024;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("password too short: use at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("password too long: use at most {MAX_PASSWORD_LEN} bytes")]
    TooLong,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// A stored argon2id hash in PHC string form. Its `Debug` never shows the hash.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashString(String);

impl PasswordHashString {
    /// Wraps a PHC string read back from storage.
    pub fn from_stored(phc: String) -> Self {
        PasswordHashString(phc)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHashString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHashString(<redacted>)")
    }
}

/// Checks the password policy.
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Hashes a password (after checking the policy) with argon2id and a random salt.
/// CPU-heavy (tens of milliseconds): call it from a blocking thread in async code.
pub fn hash_password(password: &str) -> Result<PasswordHashString, PasswordError> {
    check_policy(password)?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| PasswordHashString(h.to_string()))
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches `hash`. A hash that cannot be parsed never matches.
pub fn verify_password(password: &str, hash: &PasswordHashString) -> bool {
    if password.len() > MAX_PASSWORD_LEN {
        return false;
    }
    match PasswordHash::new(&hash.0) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends about as long as a real verification, so an unknown uid answers as slowly as a
/// wrong password (no user enumeration by timing).
pub fn verify_dummy(password: &str) {
    use std::sync::OnceLock;
    static DUMMY: OnceLock<Option<PasswordHashString>> = OnceLock::new();
    if let Some(h) = DUMMY.get_or_init(|| hash_password("dummy-password-for-timing").ok()) {
        let _ = verify_password(password, h);
    }
}

/// A random password of `len` letters and digits (about 5.95 bits each).
pub fn random_password(len: usize) -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
