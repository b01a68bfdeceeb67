//! Logging in the DC/OS way: read the cluster's login providers
//! (`GET /acs/api/v1/auth/providers`), choose a `dcos-uid-password` one, get the username and
//! password (flags, `--password-env`, `--password-file`, or a prompt on a terminal that never
//! echoes the password), and `POST /acs/api/v1/auth/login {uid, password}` for `{token}`.
//! Service accounts (`--private-key`) use a `dcos-uid-servicekey` provider instead and send
//! `{uid, token}` with a short-lived login JWT (RS256, `uid` and `exp`) signed by their key.
//! The password and the key are never printed, logged or stored.

use std::io::IsTerminal;
use std::path::PathBuf;

use serde_json::{json, Map, Value};

use crate::http::{Client, HttpError};

pub const PROVIDERS_PATH: &str = "/acs/api/v1/auth/providers";
pub const LOGIN_PATH: &str = "/acs/api/v1/auth/login";
/// The provider type users log in with.
pub const UID_PASSWORD: &str = "dcos-uid-password";
/// The provider type service accounts log in with.
pub const UID_SERVICEKEY: &str = "dcos-uid-servicekey";
/// How long a service account's login JWT is valid.
const LOGIN_JWT_SECS: u64 = 300;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the cluster has no login provider `{0}`; `dcos auth list-providers` shows them")]
    UnknownProvider(String),
    #[error("login provider `{id}` is of type `{kind}`, but this login needs a `{want}` provider; choose one with --provider (`dcos auth list-providers` shows them)")]
    Unsupported {
        id: String,
        kind: String,
        want: &'static str,
    },
    #[error("the cluster offers no `{0}` login provider; `dcos auth list-providers` shows what it offers")]
    NoProvider(&'static str),
    #[error("--private-key {path}: {reason}")]
    PrivateKey { path: String, reason: String },
    #[error("no username given and stdin is not a terminal to ask on: pass --username USER")]
    NoUsername,
    #[error("no password given and stdin is not a terminal to ask on: pass --password-env VAR or --password-file FILE")]
    NoPassword,
    #[error("--password-env {0}: that environment variable is not set or empty")]
    PasswordEnv(String),
    #[error("--password-file {path}: {reason}")]
    PasswordFile { path: String, reason: String },
    #[error("the prompt failed: {0}")]
    Prompt(String),
    #[error("login refused: {0}; check the username and password")]
    Refused(String),
    #[error("the cluster answered the login without a token; is it a dcos-rs or DC/OS cluster?")]
    NoToken,
}

/// Where the credentials come from. Holds no password itself.
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    /// A service account's RSA private key (PEM).
    pub private_key: Option<PathBuf>,
    pub provider: Option<String>,
}

/// The cluster's login providers, or `None` when it has no authentication (the providers
/// route does not exist).
pub fn providers(client: &Client) -> Result<Option<Map<String, Value>>, LoginError> {
    match client.get_json(PROVIDERS_PATH, &[]) {
        Ok(Value::Object(m)) => Ok(Some(m)),
        Ok(_) => Ok(Some(Map::new())),
        Err(e) if e.status() == Some(404) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The provider type (`authentication-type`) of one provider entry.
pub fn provider_type(p: &Value) -> String {
    p.get("authentication-type")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string()
}

/// Picks a provider of type `want`: the one named, else DC/OS's default (`dcos-users` or
/// `dcos-services`), else the first of that type.
fn choose(
    providers: &Map<String, Value>,
    wanted: Option<&str>,
    want: &'static str,
) -> Result<String, LoginError> {
    if let Some(id) = wanted {
        let p = providers
            .get(id)
            .ok_or_else(|| LoginError::UnknownProvider(id.to_string()))?;
        let kind = provider_type(p);
        if kind != want {
            return Err(LoginError::Unsupported {
                id: id.to_string(),
                kind,
                want,
            });
        }
        return Ok(id.to_string());
    }
    let default = if want == UID_PASSWORD {
        "dcos-users"
    } else {
        "dcos-services"
    };
    if providers
        .get(default)
        .is_some_and(|p| provider_type(p) == want)
    {
        return Ok(default.into());
    }
    providers
        .iter()
        .find(|(_, p)| provider_type(p) == want)
        .map(|(id, _)| id.clone())
        .ok_or(LoginError::NoProvider(want))
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

fn username(opts: &LoginOptions) -> Result<String, LoginError> {
    if let Some(u) = opts
        .username
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    {
        return Ok(u.to_string());
    }
    if !interactive() {
        return Err(LoginError::NoUsername);
    }
    dialoguer::Input::<String>::new()
        .with_prompt("Username")
        .interact_text()
        .map(|u| u.trim().to_string())
        .map_err(|e| LoginError::Prompt(e.to_string()))
}

/// The password from `--password-env`, `--password-file` (its first line), or a prompt.
fn password(opts: &LoginOptions, uid: &str) -> Result<String, LoginError> {
    if let Some(var) = &opts.password_env {
        return std::env::var(var)
            .ok()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| LoginError::PasswordEnv(var.clone()));
    }
    if let Some(path) = &opts.password_file {
        let err = |reason: String| LoginError::PasswordFile {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let pw = text.lines().next().unwrap_or("").to_string();
        if pw.is_empty() {
            return Err(err("the file's first line is empty".into()));
        }
        return Ok(pw);
    }
    if !interactive() {
        return Err(LoginError::NoPassword);
    }
    dialoguer::Password::new()
        .with_prompt(format!("{uid}'s password"))
        .interact()
        .map_err(|e| LoginError::Prompt(e.to_string()))
}

/// Logs in with `client` (which must carry no token). `Ok(None)`: the cluster has no
/// authentication, nothing to do.
pub fn login(client: &Client, opts: &LoginOptions) -> Result<Option<String>, LoginError> {
    let Some(providers) = providers(client)? else {
        return Ok(None);
    };
    let want = if opts.private_key.is_some() {
        UID_SERVICEKEY
    } else {
        UID_PASSWORD
    };
    choose(&providers, opts.provider.as_deref(), want)?;
    let uid = username(opts)?;
    let body = match &opts.private_key {
        Some(key) => json!({ "uid": uid, "token": login_jwt(key, &uid)? }),
        None => {
            let pw = password(opts, &uid)?;
            json!({ "uid": uid, "password": pw })
        }
    };
    let answer = match client.post_json(LOGIN_PATH, &body) {
        Ok(v) => v,
        Err(HttpError::Unauthorized { message, .. }) => return Err(LoginError::Refused(message)),
        Err(e) => return Err(e.into()),
    };
    answer
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(|t| Some(t.to_string()))
        .ok_or(LoginError::NoToken)
}

/// A service account's login JWT: RS256 over `{uid, exp}`, signed with its private key.
fn login_jwt(key: &std::path::Path, uid: &str) -> Result<String, LoginError> {
    let err = |reason: String| LoginError::PrivateKey {
        path: key.display().to_string(),
        reason,
    };
    let pem = std::fs::read(key).map_err(|e| err(e.to_string()))?;
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem)
        .map_err(|_| err("not an RSA private key in PEM form".into()))?;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + LOGIN_JWT_SECS;
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &json!({ "uid": uid, "exp": exp }),
        &key,
    )
    .map_err(|e| err(e.to_string()))
}

#[cfg(test)]
mod tests;
