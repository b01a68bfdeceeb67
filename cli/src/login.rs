//! Logging in the DC/OS way: read the cluster's login providers
//! (`GET /acs/api/v1/auth/providers`), choose a `dcos-uid-password` one, get the username and
//! password (flags, `--password-env`, `--password-file`, or a prompt on a terminal that never
//! echoes the password), and `POST /acs/api/v1/auth/login {uid, password}` for `{token}`.
//! The password is never printed, logged or stored.

use std::io::IsTerminal;
use std::path::PathBuf;

use serde_json::{json, Map, Value};

use crate::http::{Client, HttpError};

pub const PROVIDERS_PATH: &str = "/acs/api/v1/auth/providers";
pub const LOGIN_PATH: &str = "/acs/api/v1/auth/login";
/// The provider type this CLI logs in with.
pub const UID_PASSWORD: &str = "dcos-uid-password";

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the cluster has no login provider `{0}`; `dcos auth list-providers` shows them")]
    UnknownProvider(String),
    #[error("login provider `{id}` is of type `{kind}`, which this CLI cannot use; choose a `dcos-uid-password` provider with --provider (`dcos auth list-providers` shows them)")]
    Unsupported { id: String, kind: String },
    #[error("the cluster offers no `dcos-uid-password` login provider; `dcos auth list-providers` shows what it offers")]
    NoPasswordProvider,
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

/// Picks the provider: the one named, else `dcos-users`, else the first `dcos-uid-password`.
fn choose(providers: &Map<String, Value>, wanted: Option<&str>) -> Result<String, LoginError> {
    if let Some(id) = wanted {
        let p = providers
            .get(id)
            .ok_or_else(|| LoginError::UnknownProvider(id.to_string()))?;
        let kind = provider_type(p);
        if kind != UID_PASSWORD {
            return Err(LoginError::Unsupported {
                id: id.to_string(),
                kind,
            });
        }
        return Ok(id.to_string());
    }
    if providers
        .get("dcos-users")
        .is_some_and(|p| provider_type(p) == UID_PASSWORD)
    {
        return Ok("dcos-users".into());
    }
    providers
        .iter()
        .find(|(_, p)| provider_type(p) == UID_PASSWORD)
        .map(|(id, _)| id.clone())
        .ok_or(LoginError::NoPasswordProvider)
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
    choose(&providers, opts.provider.as_deref())?;
    let uid = username(opts)?;
    let pw = password(opts, &uid)?;
    let body = json!({ "uid": uid, "password": pw });
    drop(pw);
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

#[cfg(test)]
mod tests;
