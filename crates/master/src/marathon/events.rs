//! `GET /v2/events`: Marathon's event bus as server-sent events (`event_type=` filters).

use super::{now_ts, Scheduler};
use axum::body::Body;
use axum::extract::{Query, State as AxState};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use dcos_marathon::events;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;

pub(super) async fn stream(
    AxState(s): AxState<Arc<Scheduler>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let wanted: Vec<String> = q
        .iter()
        .filter(|(k, _)| k == "event_type")
        .flat_map(|(_, v)| v.split(',').map(str::trim).map(str::to_string))
        .filter(|v| !v.is_empty())
        .collect();
    let remote = "";
    let rx = s.subscribe_events();
    let hello = events::event_stream(&now_ts(), remote, true);
    s.emit(hello.clone());
    let first = events::wanted(&hello, &wanted).then(|| events::sse_frame(&hello));
    // a comment frame first so clients see the stream is open
    // The stream ends when the master is asked to stop, so a graceful shutdown does not wait
    // for event subscribers.
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let state = (
        rx,
        wanted,
        Some(format!(":\n\n{}", first.unwrap_or_default())),
        term,
    );
    let body =
        futures_util::stream::unfold(state, |(mut rx, wanted, pending, mut term)| async move {
            if let Some(p) = pending {
                return Some((
                    Ok::<_, std::convert::Infallible>(p),
                    (rx, wanted, None, term),
                ));
            }
            loop {
                let next = match term.as_mut() {
                    Some(t) => tokio::select! {
                        ev = rx.recv() => ev,
                        _ = t.recv() => return None,
                    },
                    None => rx.recv().await,
                };
                match next {
                    Ok(ev) if events::wanted(&ev, &wanted) => {
                        return Some((Ok(events::sse_frame(&ev)), (rx, wanted, None, term)));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => return None,
                }
            }
        });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
