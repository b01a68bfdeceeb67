//! `/v2/groups`: read, create, update (replace, `scaleBy`), delete group trees. Changes go
//! through the same planning and deployment path as apps.

use super::api::{deploy, deployment_reply, msg, parse_body, reply, Live, Snap, Stamp};
use super::Scheduler;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use dcos_marathon::group::{apply_group_update, Group, GroupUpdate};
use dcos_marathon::path::PathId;
use dcos_marathon::query::Embed;
use dcos_marathon::responses;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

type S = Arc<Scheduler>;
type Q = Query<Vec<(String, String)>>;

fn force(q: &[(String, String)]) -> bool {
    super::api::flag(q, "force").unwrap_or(false)
}

/// A group as the API shows it: apps with counts and deployments, subgroups recursively.
fn group_json(live: &Live, st: &Snap, g: &Group) -> Value {
    let embed = Embed::list_default();
    json!({
        "id": g.id,
        "apps": g.apps.values().map(|a| live.app_view(st, a, &embed)).collect::<Vec<_>>(),
        "groups": g.groups.values().map(|c| group_json(live, st, c)).collect::<Vec<_>>(),
        "pods": [],
        "dependencies": g.dependencies,
        "version": g.version,
    })
}

fn get(s: &Scheduler, id: &PathId) -> Response {
    let live = Live::load(s);
    let st = Snap::take(s);
    match st.root.find_group(id) {
        Some(g) => reply(StatusCode::OK, group_json(&live, &st, g)),
        None => reply(StatusCode::NOT_FOUND, responses::group_not_found(id)),
    }
}

fn create(s: &Scheduler, id: &PathId, q: &[(String, String)], body: &Bytes) -> Response {
    let value = match parse_body(body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let g = match Group::from_json(value, id) {
        Ok(g) => g,
        Err(e) => {
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                responses::not_valid(&[e.to_violation()]),
            )
        }
    };
    let mut st = s.state();
    if g.id.is_root() {
        if !st.root.apps.is_empty() || !st.root.groups.is_empty() {
            return reply(StatusCode::CONFLICT, responses::group_exists(&g.id));
        }
    } else if st.root.find_group(&g.id).is_some() {
        return reply(StatusCode::CONFLICT, responses::group_exists(&g.id));
    } else if st.root.find_app(&g.id).is_some() {
        return reply(StatusCode::CONFLICT, responses::app_exists(&g.id));
    }
    let mut target = (*st.root).clone();
    if let Err(e) = target.put_group(g) {
        return msg(StatusCode::CONFLICT, e.to_string());
    }
    match deploy(
        s,
        &mut st,
        target,
        Stamp::Versions,
        force(q),
        BTreeMap::new(),
    ) {
        Ok((d, v)) => deployment_reply(StatusCode::CREATED, &d, &v),
        Err(r) => r,
    }
}

fn update(s: &Scheduler, id: &PathId, q: &[(String, String)], body: &Bytes) -> Response {
    let value = match parse_body(body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut st = s.state();
    let current = st.root.find_group(id).cloned();
    let upd = match apply_group_update(current.as_ref(), id, value) {
        Ok(u) => u,
        Err(e) => {
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                responses::not_valid(&[e.to_violation()]),
            )
        }
    };
    let mut target = (*st.root).clone();
    match upd {
        GroupUpdate::ScaleBy(f) => {
            let Some(mut g) = current else {
                return reply(StatusCode::NOT_FOUND, responses::group_not_found(id));
            };
            g.scale_by(f);
            if let Err(e) = target.put_group(g) {
                return msg(StatusCode::CONFLICT, e.to_string());
            }
        }
        GroupUpdate::Rollback(v) => {
            return reply(StatusCode::NOT_FOUND, responses::version_not_found(id, &v));
        }
        GroupUpdate::Replace(g) => {
            if let Err(e) = target.put_group(g) {
                return msg(StatusCode::CONFLICT, e.to_string());
            }
        }
    }
    match deploy(
        s,
        &mut st,
        target,
        Stamp::Versions,
        force(q),
        BTreeMap::new(),
    ) {
        Ok((d, v)) => deployment_reply(StatusCode::OK, &d, &v),
        Err(r) => r,
    }
}

fn delete(s: &Scheduler, id: &PathId, q: &[(String, String)]) -> Response {
    let mut st = s.state();
    if st.root.find_group(id).is_none() {
        return reply(StatusCode::NOT_FOUND, responses::group_not_found(id));
    }
    let target = if id.is_root() {
        Group::empty_root()
    } else {
        let mut t = (*st.root).clone();
        if let Err(e) = t.remove_group(id) {
            return msg(StatusCode::NOT_FOUND, e.to_string());
        }
        t
    };
    match deploy(
        s,
        &mut st,
        target,
        Stamp::Versions,
        force(q),
        BTreeMap::new(),
    ) {
        Ok((d, v)) => deployment_reply(StatusCode::OK, &d, &v),
        Err(r) => r,
    }
}

pub(super) async fn get_root(AxState(s): AxState<S>) -> Response {
    get(&s, &PathId::root())
}
pub(super) async fn create_root(AxState(s): AxState<S>, Query(q): Q, body: Bytes) -> Response {
    create(&s, &PathId::root(), &q, &body)
}
pub(super) async fn update_root(AxState(s): AxState<S>, Query(q): Q, body: Bytes) -> Response {
    update(&s, &PathId::root(), &q, &body)
}
pub(super) async fn delete_root(AxState(s): AxState<S>, Query(q): Q) -> Response {
    delete(&s, &PathId::root(), &q)
}

/// `/v2/groups/{id}[/versions]`.
pub(super) async fn group_route(
    AxState(s): AxState<S>,
    method: Method,
    Path(rest): Path<String>,
    Query(q): Q,
    body: Bytes,
) -> Response {
    let segs: Vec<&str> = rest.split('/').filter(|x| !x.is_empty()).collect();
    if segs.last() == Some(&"versions") && method == Method::GET {
        let id = PathId::from_segments(segs[..segs.len() - 1].iter().copied());
        let st = s.state();
        return match st.root.find_group(&id) {
            Some(g) => reply(StatusCode::OK, json!(g.version.iter().collect::<Vec<_>>())),
            None => reply(StatusCode::NOT_FOUND, responses::group_not_found(&id)),
        };
    }
    let id = PathId::from_segments(segs.iter().copied());
    match method {
        Method::GET => get(&s, &id),
        Method::POST => create(&s, &id, &q, &body),
        Method::PUT | Method::PATCH => update(&s, &id, &q, &body),
        Method::DELETE => delete(&s, &id, &q),
        _ => msg(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not supported on /v2/groups/{rest}"),
        ),
    }
}
