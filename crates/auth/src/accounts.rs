//! Accounts: users (uid + argon2id password hash) and service accounts (uid + RSA public key),
//! behind the [`AccountStore`] trait, with a SQLite implementation whose tables all start with
//! `auth_` so it can live in the master's own database file.

use crate::password::{self, PasswordHashString};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;

/// The uid of the account created on first start.
pub const BOOTSTRAP_UID: &str = "admin";
/// Length of the generated bootstrap password.
pub const BOOTSTRAP_PASSWORD_LEN: usize = 24;
/// Longest accepted uid.
pub const MAX_UID_LEN: usize = 96;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("invalid uid {0:?}: use 1-{MAX_UID_LEN} letters, digits, '.', '_', '-' or '@', starting with a letter or digit")]
    InvalidUid(String),
    #[error("user {0:?} already exists: choose another uid or change the existing one with PATCH")]
    Exists(String),
    #[error("user {0:?} not found: list users with GET /acs/api/v1/users")]
    NotFound(String),
    #[error("user {0:?} is a service account: it has a public key, not a password")]
    IsService(String),
    #[error("invalid public key: {0}; give an RSA public key (at least 2048 bits) in PEM form")]
    InvalidPublicKey(String),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error("account database error: {0}")]
    Db(#[from] rusqlite::Error),
}

/// How an account proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A person with a password, stored hashed.
    Password(PasswordHashString),
    /// A service account with an RSA public key (PEM); it logs in with a JWT signed by the
    /// matching private key.
    PublicKey(String),
}

/// One account. The password hash stays inside: `Debug` redacts it, and nothing serializes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: String,
    pub description: String,
    pub credential: Credential,
}

impl Account {
    pub fn is_service(&self) -> bool {
        matches!(self.credential, Credential::PublicKey(_))
    }

    pub fn public_key(&self) -> Option<&str> {
        match &self.credential {
            Credential::PublicKey(pem) => Some(pem),
            Credential::Password(_) => None,
        }
    }
}

/// Checks a uid: 1-96 of `[A-Za-z0-9._@-]`, starting with a letter or digit.
pub fn validate_uid(uid: &str) -> Result<(), AccountError> {
    let ok = !uid.is_empty()
        && uid.len() <= MAX_UID_LEN
        && uid.as_bytes()[0].is_ascii_alphanumeric()
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(AccountError::InvalidUid(
            uid.chars().take(MAX_UID_LEN + 4).collect(),
        ))
    }
}

/// Checks that `pem` is an RSA public key of at least 2048 bits (SPKI `PUBLIC KEY` or PKCS#1
/// `RSA PUBLIC KEY`).
pub fn validate_public_key(pem: &str) -> Result<(), AccountError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem.trim()))
        .map_err(|e| AccountError::InvalidPublicKey(e.to_string()))?;
    if key.size() * 8 < 2048 {
        return Err(AccountError::InvalidPublicKey(format!(
            "key has only {} bits",
            key.size() * 8
        )));
    }
    Ok(())
}

/// Where accounts live. Implementations store what they are given: hashing happens before
/// (see [`crate::password`]), so a store never sees a plaintext password.
pub trait AccountStore: Send + 'static {
    /// Adds an account; `Exists` if the uid is taken.
    fn create(&mut self, account: &Account) -> Result<(), AccountError>;
    fn get(&self, uid: &str) -> Result<Option<Account>, AccountError>;
    /// All accounts, sorted by uid.
    fn list(&self) -> Result<Vec<Account>, AccountError>;
    /// Removes an account; `NotFound` if there is none.
    fn delete(&mut self, uid: &str) -> Result<(), AccountError>;
    /// Replaces a user's password hash; `NotFound` / `IsService` otherwise.
    fn set_password_hash(
        &mut self,
        uid: &str,
        hash: &PasswordHashString,
    ) -> Result<(), AccountError>;
    fn set_description(&mut self, uid: &str, description: &str) -> Result<(), AccountError>;
    /// Reads a small auth setting (e.g. the token signing key, the bootstrap marker).
    fn get_setting(&self, key: &str) -> Result<Option<String>, AccountError>;
    fn put_setting(&mut self, key: &str, value: &str) -> Result<(), AccountError>;
}

/// Settings key marking that the bootstrap account was created once.
const BOOTSTRAPPED: &str = "bootstrapped";

/// On the very first start, creates the admin account (uid [`BOOTSTRAP_UID`]) with a random
/// password and returns that password, for the master to print once. Every later call returns
/// `None`, also when the admin account has since been deleted or renamed.
pub fn bootstrap(store: &mut dyn AccountStore) -> Result<Option<String>, AccountError> {
    if store.get_setting(BOOTSTRAPPED)?.is_some() {
        return Ok(None);
    }
    if store.get(BOOTSTRAP_UID)?.is_some() {
        store.put_setting(BOOTSTRAPPED, "1")?;
        return Ok(None);
    }
    let pw = password::random_password(BOOTSTRAP_PASSWORD_LEN);
    let hash = password::hash_password(&pw)?;
    store.create(&Account {
        uid: BOOTSTRAP_UID.to_string(),
        description: "Bootstrap superuser".to_string(),
        credential: Credential::Password(hash),
    })?;
    store.put_setting(BOOTSTRAPPED, "1")?;
    Ok(Some(pw))
}

/// The SQLite account store (tables `auth_meta`, `auth_users`).
pub struct SqliteAccountStore {
    conn: Connection,
}

const SCHEMA_VERSION: i64 = 1;

impl SqliteAccountStore {
    /// Opens (or creates) the database file at `path`, e.g. the master's own `master.sqlite`.
    pub fn open(path: &Path) -> Result<Self, AccountError> {
        Self::from_connection(Connection::open(path)?)
    }

    pub fn open_in_memory() -> Result<Self, AccountError> {
        Self::from_connection(Connection::open_in_memory()?)
    }

    /// Takes a connection (its own, not shared with other code) and migrates the auth tables.
    pub fn from_connection(conn: Connection) -> Result<Self, AccountError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let mut s = SqliteAccountStore { conn };
        s.migrate()?;
        Ok(s)
    }

    fn migrate(&mut self) -> Result<(), AccountError> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS auth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )?;
        let version: i64 = tx
            .query_row(
                "SELECT value FROM auth_meta WHERE key = 'schema_version'",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if version < 1 {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS auth_users (
                    uid TEXT PRIMARY KEY,
                    description TEXT NOT NULL DEFAULT '',
                    password_hash TEXT,
                    public_key TEXT,
                    created_at INTEGER NOT NULL DEFAULT (strftime('%s','now')),
                    CHECK ((password_hash IS NULL) <> (public_key IS NULL))
                );",
            )?;
        }
        tx.execute(
            "INSERT INTO auth_meta (key, value) VALUES ('schema_version', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![SCHEMA_VERSION.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn row_to_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
        let uid: String = r.get(0)?;
        let description: String = r.get(1)?;
        let hash: Option<String> = r.get(2)?;
        let key: Option<String> = r.get(3)?;
        let credential = match (hash, key) {
            (_, Some(k)) => Credential::PublicKey(k),
            (Some(h), None) => Credential::Password(PasswordHashString::from_stored(h)),
            // The CHECK constraint forbids this; an unusable hash never verifies.
            (None, None) => Credential::Password(PasswordHashString::from_stored(String::new())),
        };
        Ok(Account {
            uid,
            description,
            credential,
        })
    }
}

impl AccountStore for SqliteAccountStore {
    fn create(&mut self, a: &Account) -> Result<(), AccountError> {
        validate_uid(&a.uid)?;
        let (hash, key) = match &a.credential {
            Credential::Password(h) => (Some(h.as_str()), None),
            Credential::PublicKey(k) => (None, Some(k.as_str())),
        };
        let n = self.conn.execute(
            "INSERT INTO auth_users (uid, description, password_hash, public_key) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(uid) DO NOTHING",
            params![a.uid, a.description, hash, key],
        )?;
        if n == 0 {
            return Err(AccountError::Exists(a.uid.clone()));
        }
        Ok(())
    }

    fn get(&self, uid: &str) -> Result<Option<Account>, AccountError> {
        Ok(self
            .conn
            .query_row(
                "SELECT uid, description, password_hash, public_key FROM auth_users WHERE uid = ?1",
                params![uid],
                Self::row_to_account,
            )
            .optional()?)
    }

    fn list(&self) -> Result<Vec<Account>, AccountError> {
        let mut st = self.conn.prepare(
            "SELECT uid, description, password_hash, public_key FROM auth_users ORDER BY uid",
        )?;
        let rows = st.query_map([], Self::row_to_account)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn delete(&mut self, uid: &str) -> Result<(), AccountError> {
        let n = self
            .conn
            .execute("DELETE FROM auth_users WHERE uid = ?1", params![uid])?;
        if n == 0 {
            return Err(AccountError::NotFound(uid.to_string()));
        }
        Ok(())
    }

    fn set_password_hash(
        &mut self,
        uid: &str,
        hash: &PasswordHashString,
    ) -> Result<(), AccountError> {
        match self.get(uid)? {
            None => Err(AccountError::NotFound(uid.to_string())),
            Some(a) if a.is_service() => Err(AccountError::IsService(uid.to_string())),
            Some(_) => {
                self.conn.execute(
                    "UPDATE auth_users SET password_hash = ?2 WHERE uid = ?1",
                    params![uid, hash.as_str()],
                )?;
                Ok(())
            }
        }
    }

    fn set_description(&mut self, uid: &str, description: &str) -> Result<(), AccountError> {
        let n = self.conn.execute(
            "UPDATE auth_users SET description = ?2 WHERE uid = ?1",
            params![uid, description],
        )?;
        if n == 0 {
            return Err(AccountError::NotFound(uid.to_string()));
        }
        Ok(())
    }

    fn get_setting(&self, key: &str) -> Result<Option<String>, AccountError> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM auth_meta WHERE key = ?1",
                params![key],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn put_setting(&mut self, key: &str, value: &str) -> Result<(), AccountError> {
        self.conn.execute(
            "INSERT INTO auth_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}
