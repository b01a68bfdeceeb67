//! The HTTP client every cluster command uses: base URL and token from the configuration,
//! timeouts, and failures turned into one clear line (unreachable cluster, HTTP status with
//! the server's JSON `message`, invalid JSON).

use std::time::Duration;

use reqwest::blocking::{Client as Inner, RequestBuilder, Response};
use serde_json::Value;

use crate::config::{ConfigError, DcosDir, SslVerify, Target};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot reach the cluster at {url}: {reason}; is it running? `dcos cluster up` starts a local one")]
    Unreachable { url: String, reason: String },
    #[error("the cluster at {url} did not answer within {secs} s; check that it is running, or raise `dcos config set core.timeout SECONDS`")]
    Timeout { url: String, secs: u64 },
    #[error(
        "authentication failed or expired: run `dcos auth login` ({method} {path}: 401 {message})"
    )]
    Unauthorized {
        method: String,
        path: String,
        message: String,
    },
    #[error("{method} {path} failed: {status}: {message}")]
    Status {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    #[error("{method} {path} answered with invalid JSON ({message}); is {url} a dcos-rs cluster?")]
    BadJson {
        method: String,
        path: String,
        url: String,
        message: String,
    },
    #[error("cannot read the CA bundle {path}: {message}; fix core.ssl_verify")]
    CaBundle { path: String, message: String },
    #[error("the TLS connection to {url} failed: {reason}; if the cluster uses its own CA, run `dcos cluster setup {url}` to pin it (or --ca-certs FILE)")]
    Tls { url: String, reason: String },
    #[error("cannot set up the HTTP client: {0}")]
    Build(String),
    #[error("request to {url} failed: {reason}")]
    Other { url: String, reason: String },
}

impl HttpError {
    /// The HTTP status when the server answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            HttpError::Unauthorized { .. } => Some(401),
            _ => None,
        }
    }
}

/// A client bound to one cluster entry point.
pub struct Client {
    base: String,
    token: Option<String>,
    timeout: Duration,
    inner: Inner,
}

impl Client {
    /// The client for the attached cluster (or `DCOS_URL`).
    pub fn from_config() -> Result<Self, HttpError> {
        let dir = DcosDir::from_env()?;
        let target = Target::resolve(&dir)?;
        Self::new(&target)
    }

    pub fn new(target: &Target) -> Result<Self, HttpError> {
        let mut b = Inner::builder()
            .timeout(target.timeout)
            .connect_timeout(Duration::from_secs(10).min(target.timeout))
            .user_agent(concat!("dcos-rs-cli/", env!("CARGO_PKG_VERSION")));
        match &target.ssl_verify {
            SslVerify::Yes => {}
            SslVerify::No => b = b.danger_accept_invalid_certs(true),
            SslVerify::CaBundle(path) => {
                let err = |message: String| HttpError::CaBundle {
                    path: path.display().to_string(),
                    message,
                };
                let pem = std::fs::read(path).map_err(|e| err(e.to_string()))?;
                b = pin_roots(b, &pem).map_err(err)?;
            }
            SslVerify::Pem(pem) => {
                b = pin_roots(b, pem.as_bytes()).map_err(|message| HttpError::CaBundle {
                    path: "(the cluster's CA certificate)".into(),
                    message,
                })?;
            }
        }
        let inner = b.build().map_err(|e| HttpError::Build(e.to_string()))?;
        Ok(Self {
            base: target.url.trim_end_matches('/').to_string(),
            token: target.token.clone(),
            timeout: target.timeout,
            inner,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    fn with_auth(&self, rb: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(t) => rb.header("Authorization", format!("token={t}")),
            None => rb,
        }
    }

    fn send(&self, method: &str, path: &str, rb: RequestBuilder) -> Result<Response, HttpError> {
        let resp = self
            .with_auth(rb)
            .send()
            .map_err(|e| self.transport_error(e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let body = resp.text().unwrap_or_default();
        let message = server_message(&body)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        if status.as_u16() == 401 {
            return Err(HttpError::Unauthorized {
                method: method.into(),
                path: path.into(),
                message,
            });
        }
        Err(HttpError::Status {
            method: method.into(),
            path: path.into(),
            status: status.as_u16(),
            message,
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> HttpError {
        if e.is_timeout() {
            return HttpError::Timeout {
                url: self.base.clone(),
                secs: self.timeout.as_secs(),
            };
        }
        let reason = root_cause(&e);
        if self.base.starts_with("https:") && is_tls_failure(&e) {
            return HttpError::Tls {
                url: self.base.clone(),
                reason,
            };
        }
        if e.is_connect() {
            HttpError::Unreachable {
                url: self.base.clone(),
                reason,
            }
        } else {
            HttpError::Other {
                url: self.base.clone(),
                reason,
            }
        }
    }

    fn json(&self, method: &str, path: &str, resp: Response) -> Result<Value, HttpError> {
        let text = resp.text().map_err(|e| self.transport_error(e))?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| HttpError::BadJson {
            method: method.into(),
            path: path.into(),
            url: self.base.clone(),
            message: e.to_string(),
        })
    }

    /// Sends `method` to `path` with optional query pairs and JSON body; returns the raw answer.
    pub fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Response, HttpError> {
        let mut rb = self
            .inner
            .request(method.clone(), self.url(path))
            .query(query);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        self.send(method.as_str(), path, rb)
    }

    /// Like [`Client::request`], and parses the JSON answer (an empty body is `null`).
    pub fn request_json(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, HttpError> {
        let resp = self.request(method.clone(), path, query, body)?;
        self.json(method.as_str(), path, resp)
    }

    /// GET `path` (with optional query pairs) and parse the JSON answer.
    pub fn get_json(&self, path: &str, query: &[(&str, String)]) -> Result<Value, HttpError> {
        self.request_json(reqwest::Method::GET, path, query, None)
    }

    /// GET `path` and return the body as text (e.g. a PEM certificate).
    pub fn get_text(&self, path: &str) -> Result<String, HttpError> {
        let resp = self.request(reqwest::Method::GET, path, &[], None)?;
        resp.text().map_err(|e| self.transport_error(e))
    }

    /// POST a JSON body to `path` and parse the JSON answer.
    pub fn post_json(&self, path: &str, body: &Value) -> Result<Value, HttpError> {
        self.request_json(reqwest::Method::POST, path, &[], Some(body))
    }
}

/// Trusts exactly the certificates of `pem` (no system roots): the cluster's CA is pinned.
fn pin_roots(
    mut b: reqwest::blocking::ClientBuilder,
    pem: &[u8],
) -> Result<reqwest::blocking::ClientBuilder, String> {
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    b = b.tls_built_in_root_certs(false);
    for c in certs {
        b = b.add_root_certificate(c);
    }
    Ok(b)
}

/// The `message` (or `error`/`title`) of a JSON error body in one line, followed by each of
/// Marathon's 422 `details` as `path: error` (joined with "; "); else a short plain body.
pub fn server_message(body: &str) -> Option<String> {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        let t = body.trim();
        return (!t.is_empty() && t.len() <= 300 && !t.contains('\n')).then(|| t.to_string());
    };
    let mut msg = ["message", "error", "title"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))?
        .to_string();
    let mut parts = Vec::new();
    for d in v["details"].as_array().into_iter().flatten() {
        let path = d["path"].as_str().unwrap_or("/");
        let errors: Vec<&str> = d["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if errors.is_empty() {
            parts.push(path.to_string());
        } else {
            parts.push(format!("{path}: {}", errors.join(", ")));
        }
    }
    if !parts.is_empty() {
        msg = format!("{msg} ({})", parts.join("; "));
    }
    Some(msg.replace('\n', " "))
}

/// Whether a request failed in the TLS handshake (untrusted or invalid certificate).
fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        let s = c.to_string().to_ascii_lowercase();
        if s.contains("certificate") || s.contains("tls") || s.contains("handshake") {
            return true;
        }
        cur = c.source();
    }
    false
}

/// The innermost error message, e.g. "Connection refused (os error 111)" -> "connection refused".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &(dyn std::error::Error + 'static) = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    if let Some(io) = cur.downcast_ref::<std::io::Error>() {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
            std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
            _ => {}
        }
    }
    let s = cur.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().collect::<String>() + chars.as_str(),
        None => "unknown error".into(),
    }
}
