//! `dcos universe serve`: the index over HTTP, negotiated as the public Universe server did.
//!
//! The public server (nginx) picked the index version from the Accept header
//! (`application/vnd.dcos.universe.repo+json;charset=utf-8;version=vN`, the highest of v3/v4/v5
//! present winning) and the DC/OS release from a `dcos/<release>` User-Agent, and answered
//! /repo with `repo-up-to-<release>.json` in that media type. Without a repo Accept header it
//! sent the legacy zip of DC/OS 1.6/1.7, a format dcos-rs does not produce: here a missing or
//! unknown Accept gets the v5 document instead. Without a `dcos/` User-Agent /repo holds every
//! package.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use universe::index::DCOS_RELEASES;
use universe::{IndexVersion, Repository};

pub fn run(repo_path: &Path, listen: &str) -> anyhow::Result<()> {
    let repo = super::load_any(repo_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}: give a free host:port with --listen (port 0 picks one)"))?;
        let addr = listener.local_addr()?;
        super::out(&format!(
            "serving {} packages ({} versions) from {} at http://{addr}/repo\n",
            repo.names().len(),
            repo.packages().len(),
            repo_path.display()
        ))?;
        let app = axum::Router::new().fallback(handle).with_state(Arc::new(repo));
        axum::serve(listener, app).await.context("HTTP server failed")
    })
}

/// The index version asked for in an Accept header; `None` when it names none.
pub fn accepted_version(accept: &str) -> Option<IndexVersion> {
    let accept = accept.to_ascii_lowercase().replace(' ', "");
    IndexVersion::ALL.into_iter().rev().find(|v| {
        accept.contains(&format!(
            "application/vnd.dcos.universe.repo+json;charset=utf-8;version={}",
            v.as_str()
        ))
    })
}

/// The DC/OS release of a `dcos/<release>` User-Agent.
fn user_agent_release(ua: &str) -> Option<String> {
    let rest = &ua[ua.find("dcos/")? + 5..];
    let release: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let release = release.trim_end_matches('.');
    // Keep major.minor, as the public server's rules did.
    let mut parts = release.split('.');
    match (parts.next(), parts.next()) {
        (Some(a), Some(b)) if !a.is_empty() && !b.is_empty() => Some(format!("{a}.{b}")),
        _ => None,
    }
}

fn json(status: StatusCode, content_type: String, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn error(status: StatusCode, message: String) -> Response {
    json(
        status,
        "application/json".into(),
        serde_json::json!({ "message": message }).to_string(),
    )
}

async fn handle(
    State(repo): State<Arc<Repository>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} not allowed: use GET"),
        );
    }
    let header_text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let path = uri.path();
    let (version, release) = match path {
        "/repo" | "/repo/" => {
            let version =
                accepted_version(&header_text(header::ACCEPT)).unwrap_or(IndexVersion::V5);
            (
                version,
                user_agent_release(&header_text(header::USER_AGENT)),
            )
        }
        "/universe.json" => (IndexVersion::V5, None),
        "/repo-empty-v3.json" => {
            return json(
                StatusCode::OK,
                IndexVersion::V3.content_type(),
                r#"{"packages":[]}"#.into(),
            );
        }
        other => {
            let found = other
                .strip_prefix("/repo-up-to-")
                .and_then(|r| r.strip_suffix(".json"))
                .and_then(|r| DCOS_RELEASES.iter().find(|(rel, _)| *rel == r));
            match found {
                Some((rel, v)) => (*v, Some(rel.to_string())),
                None => {
                    let files: Vec<String> = DCOS_RELEASES
                        .iter()
                        .map(|(r, _)| format!("/repo-up-to-{r}.json"))
                        .collect();
                    return error(
                        StatusCode::NOT_FOUND,
                        format!(
                            "{other} not found: try /repo, /universe.json or {}",
                            files.join(", ")
                        ),
                    );
                }
            }
        }
    };
    let doc = repo.to_index(version, release.as_deref());
    json(StatusCode::OK, version.content_type(), doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_picks_the_highest_repo_version() {
        let v = |s| accepted_version(s);
        assert_eq!(
            v("application/vnd.dcos.universe.repo+json;charset=utf-8;version=v3"),
            Some(IndexVersion::V3)
        );
        assert_eq!(
            v("application/vnd.dcos.universe.repo+json;charset=utf-8;version=v4,application/vnd.dcos.universe.repo+json;charset=utf-8;version=v3;q=0.9"),
            Some(IndexVersion::V4)
        );
        assert_eq!(v("application/json"), None);
        assert_eq!(v(""), None);
    }

    #[test]
    fn user_agent_release_is_major_minor() {
        assert_eq!(
            user_agent_release("dcos/1.10.2 cosmos/0.4"),
            Some("1.10".into())
        );
        assert_eq!(user_agent_release("curl/8"), None);
    }
}
