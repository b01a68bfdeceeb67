//! The Marathon v2 API of the attached cluster (`/service/marathon`): every verb the commands
//! need, with Marathon's error bodies (a `message`, and for 422 the `details` of each invalid
//! path) turned into one line.

use reqwest::blocking::{Client as Inner, RequestBuilder};
use reqwest::Method;
use serde_json::Value;

use crate::config::{DcosDir, SslVerify, Target};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot read the CA bundle {0}; fix core.ssl_verify")]
    CaBundle(String),
    #[error("cannot set up the HTTP client: {0}")]
    Build(String),
    #[error("cannot reach Marathon at {url}: {reason}; is the cluster running? `dcos cluster up` starts a local one")]
    Unreachable { url: String, reason: String },
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
    #[error("{method} {path} answered with invalid JSON ({message}); is this a dcos-rs cluster?")]
    BadJson {
        method: String,
        path: String,
        message: String,
    },
}

pub struct Api {
    base: String,
    token: Option<String>,
    inner: Inner,
}

impl Api {
    pub fn from_config() -> Result<Self, ApiError> {
        let dir = DcosDir::from_env()?;
        let target = Target::resolve(&dir)?;
        let mut b = Inner::builder()
            .timeout(target.timeout)
            .user_agent(concat!("dcos-rs-cli/", env!("CARGO_PKG_VERSION")));
        let pem = match &target.ssl_verify {
            SslVerify::Yes => None,
            SslVerify::No => {
                b = b.danger_accept_invalid_certs(true);
                None
            }
            SslVerify::CaBundle(p) => Some(
                std::fs::read(p)
                    .map_err(|e| ApiError::CaBundle(format!("{}: {e}", p.display())))?,
            ),
            SslVerify::Pem(s) => Some(s.as_bytes().to_vec()),
        };
        if let Some(pem) = pem {
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|e| ApiError::CaBundle(e.to_string()))?;
            b = b.tls_built_in_root_certs(false);
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        Ok(Self {
            base: format!("{}/service/marathon", target.url.trim_end_matches('/')),
            token: target.token.clone(),
            inner: b.build().map_err(|e| ApiError::Build(e.to_string()))?,
        })
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<String, ApiError> {
        let mut rb: RequestBuilder = self
            .inner
            .request(method.clone(), format!("{}{path}", self.base))
            .query(query);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        if let Some(t) = &self.token {
            rb = rb.header("Authorization", format!("token={t}"));
        }
        let resp = rb.send().map_err(|e| ApiError::Unreachable {
            url: self.base.clone(),
            reason: root_cause(&e),
        })?;
        let status = resp.status();
        let text = resp.text().unwrap_or_default();
        if status.is_success() {
            return Ok(text);
        }
        let message = error_message(&text)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string());
        let (method, path) = (method.to_string(), path.to_string());
        if status.as_u16() == 401 {
            return Err(ApiError::Unauthorized {
                method,
                path,
                message,
            });
        }
        Err(ApiError::Status {
            method,
            path,
            status: status.as_u16(),
            message,
        })
    }

    fn json(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let text = self.request(method.clone(), path, query, body)?;
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| ApiError::BadJson {
            method: method.to_string(),
            path: path.into(),
            message: e.to_string(),
        })
    }

    pub fn get(&self, path: &str, q: &[(&str, String)]) -> Result<Value, ApiError> {
        self.json(Method::GET, path, q, None)
    }

    pub fn get_text(&self, path: &str) -> Result<String, ApiError> {
        self.request(Method::GET, path, &[], None)
    }

    pub fn post(&self, path: &str, q: &[(&str, String)], body: &Value) -> Result<Value, ApiError> {
        self.json(Method::POST, path, q, Some(body))
    }

    pub fn put(&self, path: &str, q: &[(&str, String)], body: &Value) -> Result<Value, ApiError> {
        self.json(Method::PUT, path, q, Some(body))
    }

    pub fn delete(&self, path: &str, q: &[(&str, String)]) -> Result<Value, ApiError> {
        self.json(Method::DELETE, path, q, None)
    }
}

/// Marathon's error body in one line: `message`, then each `details` entry as
/// `path: error` (joined with "; ").
pub fn error_message(body: &str) -> Option<String> {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        let t = body.trim();
        return (!t.is_empty() && t.len() <= 300 && !t.contains('\n')).then(|| t.to_string());
    };
    let mut msg = v["message"].as_str().map(str::to_string)?;
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

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let s = cur.to_string();
    s.split(" (os error").next().unwrap_or(&s).to_string()
}
