//! The Marathon v2 routes under `/marathon` and `/service/marathon`.

// Handlers return a ready `Response` as their error (Marathon's error body); boxing it buys nothing.
#![allow(clippy::result_large_err)]

use super::reconcile::{started_at, task_app, task_healthy};
use super::store::Change;
use super::{now_ms, now_ts, Deployment, Scheduler, State, FRAMEWORK_ID, VERSION_LABEL};
use crate::master::Master;
use crate::model::TaskRecord;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use dcos_marathon::app::{apply_update, AppDefinition, AppUpdate};
use dcos_marathon::group::Group;
use dcos_marathon::path::PathId;
use dcos_marathon::plan::plan;
use dcos_marathon::query::{AppFilter, Embed};
use dcos_marathon::task::{timestamp, HealthCheckResult, TaskJson};
use dcos_marathon::validate::{validate_app, Violation};
use dcos_marathon::views::{app_json, info_json, AppCounts, AppLive, InfoInput};
use dcos_marathon::{backoff, responses};
use dcos_schemas::task::TaskState;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

type S = Arc<Scheduler>;
type Q = Query<Vec<(String, String)>>;

pub fn router(s: S) -> Router<Arc<Master>> {
    let mut r = Router::new();
    for p in ["/marathon", "/service/marathon"] {
        r = r
            .route(&format!("{p}/ping"), get(|| async { "pong" }))
            .route(&format!("{p}/v2/info"), get(info))
            .route(&format!("{p}/v2/leader"), get(leader))
            .route(
                &format!("{p}/v2/apps"),
                get(list_apps)
                    .post(create_app)
                    .put(update_apps)
                    .patch(update_apps),
            )
            .route(&format!("{p}/v2/apps/{{*rest}}"), any(app_route))
            .route(&format!("{p}/v2/tasks"), get(list_tasks))
            .route(&format!("{p}/v2/tasks/delete"), post(delete_tasks))
            .route(&format!("{p}/v2/deployments"), get(list_deployments))
            .route(
                &format!("{p}/v2/deployments/{{id}}"),
                axum::routing::delete(delete_deployment),
            )
            .route(
                &format!("{p}/v2/groups"),
                get(super::groups::get_root)
                    .post(super::groups::create_root)
                    .put(super::groups::update_root)
                    .delete(super::groups::delete_root),
            )
            .route(
                &format!("{p}/v2/groups/{{*rest}}"),
                any(super::groups::group_route),
            )
            .route(&format!("{p}/v2/events"), get(super::events::stream))
            .route(&format!("{p}/v2/queue"), get(queue))
            .route(
                &format!("{p}/v2/queue/{{*rest}}"),
                axum::routing::delete(reset_delay),
            );
    }
    r.with_state(s)
}

/// Every Marathon route answering 503 with `msg`.
pub fn unavailable(msg: String) -> Router<Arc<Master>> {
    let h = move || {
        let m = msg.clone();
        async move { reply(StatusCode::SERVICE_UNAVAILABLE, json!({ "message": m })) }
    };
    Router::new()
        .route("/marathon/{*rest}", any(h.clone()))
        .route("/service/marathon/{*rest}", any(h))
}

pub(super) fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

pub(super) fn msg(status: StatusCode, m: impl Into<String>) -> Response {
    reply(status, json!({ "message": m.into() }))
}

pub(super) fn flag(q: &[(String, String)], name: &str) -> Option<bool> {
    q.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| matches!(v.to_ascii_lowercase().as_str(), "" | "true" | "1" | "yes"))
}

pub(super) fn params<'a>(
    q: &'a [(String, String)],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    q.iter()
        .filter(move |(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(super) fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

pub(super) fn parse_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| {
        reply(
            StatusCode::BAD_REQUEST,
            responses::invalid_json(&[Violation::new("/", &format!("Invalid JSON: {e}"))]),
        )
    })
}

pub(super) fn store_err(e: impl std::fmt::Display) -> Response {
    msg(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("storing the change failed: {e}"),
    )
}

// ---- live task data ----

/// What reads need of the scheduler's state, taken in one short lock: the root group (shared,
/// not copied), deployment ids per app and the last failures.
pub(super) struct Snap {
    pub(super) root: Arc<Group>,
    deployments: BTreeMap<PathId, Vec<String>>,
    last_failure: HashMap<PathId, dcos_marathon::task::TaskFailure>,
}

impl Snap {
    pub(super) fn take(s: &Scheduler) -> Snap {
        let st = s.state();
        let mut deployments: BTreeMap<PathId, Vec<String>> = BTreeMap::new();
        for d in &st.deployments {
            for id in d.plan.affected_app_ids() {
                deployments.entry(id).or_default().push(d.plan.id.clone());
            }
        }
        Snap {
            root: st.root.clone(),
            deployments,
            last_failure: st.last_failure.clone(),
        }
    }
}

pub(super) struct Live {
    by_app: BTreeMap<PathId, Vec<LiveTask>>,
    hosts: HashMap<String, String>,
}

/// What the API shows of a live task (taken under the master's lock without copying the
/// task's launch spec and history).
#[derive(Clone)]
pub(super) struct LiveTask {
    id: String,
    app: PathId,
    agent_id: String,
    state: TaskState,
    healthy: Option<bool>,
    /// When the latest health report arrived (seconds).
    health_at: Option<f64>,
    ports: Vec<u32>,
    created: f64,
    started: Option<f64>,
    version: String,
}

impl LiveTask {
    fn of(t: &TaskRecord) -> LiveTask {
        LiveTask {
            id: t.id.clone(),
            app: task_app(t),
            agent_id: t.agent_id.clone(),
            state: t.state,
            healthy: task_healthy(t),
            health_at: t
                .statuses
                .iter()
                .rev()
                .find(|s| s.healthy.is_some())
                .map(|s| s.timestamp),
            ports: t.resources.ports.iter().map(|p| u32::from(*p)).collect(),
            created: t.created,
            started: started_at(t),
            version: t
                .launch
                .labels
                .get(VERSION_LABEL)
                .cloned()
                .unwrap_or_default(),
        }
    }
}

impl Live {
    pub(super) fn load(s: &Scheduler) -> Live {
        let core = s.master.core();
        let hosts = core
            .agents()
            .map(|a| (a.rec.id.clone(), a.rec.hostname.clone()))
            .collect();
        let mut by_app: BTreeMap<PathId, Vec<LiveTask>> = BTreeMap::new();
        for t in core
            .tasks()
            .filter(|t| t.framework_id == FRAMEWORK_ID && !t.state.is_terminal())
        {
            let lt = LiveTask::of(t);
            by_app.entry(lt.app.clone()).or_default().push(lt);
        }
        drop(core);
        for v in by_app.values_mut() {
            v.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id)));
        }
        Live { by_app, hosts }
    }

    fn task_json(&self, t: &LiveTask, app: Option<&AppDefinition>) -> TaskJson {
        let host = self.hosts.get(&t.agent_id).cloned().unwrap_or_default();
        let has_hc = app.is_some_and(|a| !a.health_checks.is_empty());
        let health_check_results = match (has_hc, t.healthy) {
            (true, Some(alive)) => {
                let ts = t.health_at.and_then(|a| timestamp((a * 1000.0) as i64));
                vec![HealthCheckResult {
                    alive,
                    consecutive_failures: u32::from(!alive),
                    first_success: if alive { ts.clone() } else { None },
                    last_failure: if alive { None } else { ts.clone() },
                    last_success: if alive { ts } else { None },
                    last_failure_cause: None,
                    task_id: t.id.clone(),
                    instance_id: None,
                }]
            }
            _ => vec![],
        };
        TaskJson {
            app_id: t.app.to_string(),
            health_check_results,
            host,
            id: t.id.clone(),
            ip_addresses: vec![],
            ports: t.ports.clone(),
            service_ports: vec![],
            slave_id: t.agent_id.clone(),
            staged_at: timestamp((t.created * 1000.0) as i64).unwrap_or_default(),
            started_at: t.started.and_then(|s| timestamp((s * 1000.0) as i64)),
            state: t.state.as_str().into(),
            version: t.version.clone(),
        }
    }

    pub(super) fn app_view(&self, st: &Snap, app: &AppDefinition, embed: &Embed) -> Value {
        let tasks = self.by_app.get(&app.id).map(Vec::as_slice).unwrap_or(&[]);
        let mut counts = AppCounts::default();
        for t in tasks {
            match t.state {
                TaskState::Staging | TaskState::Starting => counts.staged += 1,
                TaskState::Running => counts.running += 1,
                _ => {}
            }
            match t.healthy {
                Some(true) if !app.health_checks.is_empty() => counts.healthy += 1,
                Some(false) if !app.health_checks.is_empty() => counts.unhealthy += 1,
                _ => {}
            }
        }
        let tj: Vec<TaskJson> = if embed.tasks {
            tasks.iter().map(|t| self.task_json(t, Some(app))).collect()
        } else {
            vec![]
        };
        let deployment_ids: &[String] = st
            .deployments
            .get(&app.id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        app_json(
            app,
            embed,
            &AppLive {
                counts,
                tasks: &tj,
                deployment_ids,
                last_task_failure: st.last_failure.get(&app.id),
                readiness_check_results: &[],
            },
        )
    }
}

// ---- deploying ----

pub(super) enum Stamp {
    /// New or changed definitions get a new version.
    Versions,
    /// The target carries its versions already (restart).
    AsIs,
}

/// Plans and commits the change of the root group to `target`; returns (deployment id,
/// version).
pub(super) fn deploy(
    s: &Scheduler,
    st: &mut State,
    mut target: Group,
    stamp: Stamp,
    force: bool,
    to_kill: BTreeMap<PathId, Vec<String>>,
) -> Result<(String, String), Response> {
    let version = now_ts();
    let v = target.validate();
    if !v.is_empty() {
        return Err(reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            responses::not_valid(&v),
        ));
    }
    if let Stamp::Versions = stamp {
        target.stamp_versions(&st.root, &version);
    }
    let id = uuid::Uuid::new_v4().to_string();
    let p = plan(&st.root, &target, &id, &version, &to_kill)
        .map_err(|e| msg(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()))?;
    let conflicts: Vec<String> = st
        .deployments
        .iter()
        .filter(|d| d.plan.id != p.id && p.conflicts_with(&d.plan))
        .map(|d| d.plan.id.clone())
        .collect();
    if !conflicts.is_empty() && !force {
        return Err(reply(
            StatusCode::CONFLICT,
            responses::locked(conflicts.iter().map(String::as_str)),
        ));
    }
    let old = st.root.transitive_apps();
    let new = target.transitive_apps();
    let put_apps: Vec<&AppDefinition> = new
        .iter()
        .filter(|(id, a)| old.get(*id).is_none_or(|o| o != *a))
        .map(|(_, a)| *a)
        .collect();
    let delete_apps: Vec<String> = old
        .keys()
        .filter(|id| !new.contains_key(*id))
        .map(|id| id.to_string())
        .collect();
    let dep = Deployment { plan: p, step: 0 };
    let change = Change {
        put_apps,
        delete_apps,
        put_deployments: if dep.plan.is_empty() {
            vec![]
        } else {
            vec![&dep]
        },
        delete_deployments: conflicts.clone(),
        groups: Some(super::skeleton(&target)),
    };
    s.store().commit(&change).map_err(store_err)?;
    drop(change);
    drop(old);
    drop(new);
    for id in delete_apps_of(&st.root, &target) {
        st.delays.remove(&id);
        st.last_failure.remove(&id);
    }
    st.deployments.retain(|d| !conflicts.contains(&d.plan.id));
    // a new configuration starts without launch delay
    for id in dep.plan.target_apps.keys() {
        st.delays.remove(id);
    }
    if s.has_listeners() {
        emit_deploy_events(s, &st.root, &target, &dep, &conflicts, &version);
    }
    st.root = Arc::new(target);
    if !dep.plan.is_empty() {
        st.deployments.push(dep);
    }
    s.wake();
    Ok((id, version))
}

fn emit_deploy_events(
    s: &Scheduler,
    root: &Group,
    target: &Group,
    dep: &Deployment,
    conflicts: &[String],
    version: &str,
) {
    if !dep.plan.is_empty() {
        let pj = dep.plan.to_event_json(root, target);
        s.emit(dcos_marathon::events::deployment_info(
            version, &pj, &dep.plan, 1,
        ));
    }
    for d in conflicts {
        let pj = json!({ "id": d });
        s.emit(dcos_marathon::events::deployment_failed(
            version,
            &pj,
            d,
            "cancelled by a forced deployment",
        ));
    }
    for (id, a) in target.transitive_apps() {
        if dep.plan.target_apps.contains_key(&id) {
            s.emit(dcos_marathon::events::api_post_event(
                version,
                "",
                &format!("/v2/apps{id}"),
                a,
            ));
        }
    }
    s.emit(dcos_marathon::events::group_change_success(
        version, "/", version,
    ));
}

fn delete_apps_of(old: &Group, new: &Group) -> Vec<PathId> {
    let n = new.transitive_apps();
    old.transitive_apps()
        .into_keys()
        .filter(|id| !n.contains_key(id))
        .collect()
}

pub(super) fn deployment_reply(status: StatusCode, id: &str, version: &str) -> Response {
    let mut r = reply(status, responses::deployment_result(id, version));
    if let Ok(v) = HeaderValue::from_str(id) {
        r.headers_mut().insert("Marathon-Deployment-Id", v);
    }
    r
}

// ---- handlers ----

async fn info(AxState(s): AxState<S>) -> Response {
    let url = s.master.url();
    let hostport = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .to_string();
    let (host, port) = hostport.rsplit_once(':').unwrap_or((&hostport, "0"));
    reply(
        StatusCode::OK,
        info_json(&InfoInput {
            version: "1.10.0",
            leader: &hostport,
            framework_id: Some(FRAMEWORK_ID),
            mesos_master: &url,
            hostname: host,
            http_port: port.parse().unwrap_or(0),
            mesos_role: "*",
            mesos_user: "root",
            local_port_min: 10000,
            local_port_max: 20000,
        }),
    )
}

async fn leader(AxState(s): AxState<S>) -> Response {
    let url = s.master.url();
    let hp = url
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    reply(StatusCode::OK, json!({ "leader": hp }))
}

async fn list_apps(AxState(s): AxState<S>, Query(q): Q) -> Response {
    let filter = match AppFilter::new(param(&q, "cmd"), param(&q, "id"), param(&q, "label")) {
        Ok(f) => f,
        Err(e) => return msg(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let embed = if params(&q, "embed").next().is_some() {
        match Embed::parse(params(&q, "embed")) {
            Ok(e) => e,
            Err(e) => return msg(StatusCode::BAD_REQUEST, e.to_string()),
        }
    } else {
        Embed::list_default()
    };
    let live = Live::load(&s);
    let st = Snap::take(&s);
    let apps: Vec<Value> = st
        .root
        .transitive_apps()
        .values()
        .filter(|a| filter.matches(a))
        .map(|a| live.app_view(&st, a, &embed))
        .collect();
    reply(StatusCode::OK, json!({ "apps": apps }))
}

async fn create_app(AxState(s): AxState<S>, Query(q): Q, body: Bytes) -> Response {
    let value = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let app = match AppDefinition::from_json(value, &PathId::root()) {
        Ok(a) => a,
        Err(e) => {
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                responses::not_valid(&[e.to_violation()]),
            )
        }
    };
    let v = validate_app(&app);
    if !v.is_empty() {
        return reply(StatusCode::UNPROCESSABLE_ENTITY, responses::not_valid(&v));
    }
    let force = flag(&q, "force").unwrap_or(false);
    let mut st = s.state();
    if st.root.find_app(&app.id).is_some() {
        return reply(StatusCode::CONFLICT, responses::app_exists(&app.id));
    }
    let mut target = (*st.root).clone();
    let id = app.id.clone();
    if let Err(e) = target.put_app(app) {
        return msg(StatusCode::CONFLICT, e.to_string());
    }
    let (dep, _) = match deploy(&s, &mut st, target, Stamp::Versions, force, BTreeMap::new()) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(app) = st.root.find_app(&id).cloned() else {
        return msg(StatusCode::INTERNAL_SERVER_ERROR, "the app vanished");
    };
    drop(st);
    let mut body = app_json(&app, &Embed::default(), &AppLive::default());
    if let Value::Object(m) = &mut body {
        m.insert("deployments".into(), json!([{ "id": dep }]));
        m.insert("tasksStaged".into(), 0.into());
        m.insert("tasksRunning".into(), 0.into());
        m.insert("tasksHealthy".into(), 0.into());
        m.insert("tasksUnhealthy".into(), 0.into());
        m.insert("tasks".into(), json!([]));
    }
    let mut r = reply(StatusCode::CREATED, body);
    let loc = format!("/v2/apps{id}");
    for (k, v) in [
        ("Location", loc.as_str()),
        ("Marathon-Deployment-Id", dep.as_str()),
    ] {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

/// `PUT|PATCH /v2/apps`: several app updates (each with its `id`) in one deployment.
async fn update_apps(AxState(s): AxState<S>, method: Method, Query(q): Q, body: Bytes) -> Response {
    let value = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Value::Array(items) = value else {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            responses::not_valid(&[Violation::new("/", "expected an array of app updates")]),
        );
    };
    let partial = method == Method::PATCH || flag(&q, "partialUpdate").unwrap_or(true);
    let force = flag(&q, "force").unwrap_or(false);
    let mut st = s.state();
    let mut target = (*st.root).clone();
    for (i, item) in items.into_iter().enumerate() {
        let Some(raw) = item.get("id").and_then(Value::as_str) else {
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                responses::not_valid(&[Violation::new(
                    &format!("/({i})/id"),
                    "an app update needs its id",
                )]),
            );
        };
        let id = PathId::parse(raw).canonical(&PathId::root());
        let current = target.find_app(&id).cloned();
        let new = match apply_update(current.as_ref(), &id, item, partial) {
            Ok(AppUpdate::Change(a)) => *a,
            Ok(AppUpdate::Rollback { version }) => {
                match s.store().version(&id.to_string(), &version) {
                    Ok(Some(a)) => a,
                    Ok(None) => {
                        return reply(
                            StatusCode::NOT_FOUND,
                            responses::version_not_found(&id, &version),
                        )
                    }
                    Err(e) => return store_err(e),
                }
            }
            Err(e) => {
                let mut v = e.to_violation();
                v.path = format!("/({i}){}", v.path);
                return reply(StatusCode::UNPROCESSABLE_ENTITY, responses::not_valid(&[v]));
            }
        };
        let v = validate_app(&new);
        if !v.is_empty() {
            return reply(StatusCode::UNPROCESSABLE_ENTITY, responses::not_valid(&v));
        }
        if let Err(e) = target.put_app(new) {
            return msg(StatusCode::CONFLICT, e.to_string());
        }
    }
    match deploy(&s, &mut st, target, Stamp::Versions, force, BTreeMap::new()) {
        Ok((d, v)) => deployment_reply(StatusCode::OK, &d, &v),
        Err(r) => r,
    }
}

/// `/v2/apps/{id}[/restart|/tasks[/{taskId}]|/versions[/{v}]]`.
async fn app_route(
    AxState(s): AxState<S>,
    method: Method,
    Path(rest): Path<String>,
    Query(q): Q,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let segs: Vec<&str> = rest.split('/').filter(|x| !x.is_empty()).collect();
    // find the suffix keyword
    let kw = segs
        .iter()
        .rposition(|x| matches!(*x, "restart" | "tasks" | "versions"));
    let (id_segs, tail) = match kw {
        Some(i) if i > 0 => (&segs[..i], &segs[i..]),
        _ => (&segs[..], &segs[..0]),
    };
    let id = PathId::from_segments(id_segs.iter().copied());
    match (method.clone(), tail) {
        (Method::GET, []) => get_app(&s, &id, &q),
        (Method::PUT, []) | (Method::PATCH, []) => {
            let partial = method == Method::PATCH || flag(&q, "partialUpdate").unwrap_or(true);
            update_app(&s, &id, &q, &body, partial)
        }
        (Method::DELETE, []) => delete_app(&s, &id, &q),
        (Method::POST, ["restart"]) => restart_app(&s, &id, &q),
        (Method::GET, ["tasks"]) => app_tasks(&s, &id),
        (Method::DELETE, ["tasks"]) => kill_app_tasks(&s, &id, &q, None),
        (Method::DELETE, ["tasks", task]) => kill_app_tasks(&s, &id, &q, Some(task)),
        (Method::GET, ["versions"]) => match s.store().versions(&id.to_string()) {
            Ok(v) if !v.is_empty() => reply(StatusCode::OK, json!({ "versions": v })),
            Ok(_) => reply(StatusCode::NOT_FOUND, responses::app_not_found(&id)),
            Err(e) => store_err(e),
        },
        (Method::GET, ["versions", v]) => match s.store().version(&id.to_string(), v) {
            Ok(Some(a)) => reply(StatusCode::OK, a.to_json()),
            Ok(None) => reply(StatusCode::NOT_FOUND, responses::version_not_found(&id, v)),
            Err(e) => store_err(e),
        },
        _ => msg(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not supported on /v2/apps/{rest}"),
        ),
    }
}

fn get_app(s: &Scheduler, id: &PathId, q: &[(String, String)]) -> Response {
    let embed = if params(q, "embed").next().is_some() {
        match Embed::parse(params(q, "embed")) {
            Ok(mut e) => {
                e.counts = true;
                e.deployments = true;
                e
            }
            Err(e) => return msg(StatusCode::BAD_REQUEST, e.to_string()),
        }
    } else {
        Embed::single_app()
    };
    let live = Live::load(s);
    let st = Snap::take(s);
    match st.root.find_app(id) {
        Some(app) => reply(
            StatusCode::OK,
            json!({ "app": live.app_view(&st, app, &embed) }),
        ),
        None => reply(StatusCode::NOT_FOUND, responses::app_not_found(id)),
    }
}

fn update_app(
    s: &Scheduler,
    id: &PathId,
    q: &[(String, String)],
    body: &Bytes,
    partial: bool,
) -> Response {
    let value = match parse_body(body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let force = flag(q, "force").unwrap_or(false);
    let mut st = s.state();
    let current = st.root.find_app(id).cloned();
    let upd = match apply_update(current.as_ref(), id, value, partial) {
        Ok(u) => u,
        Err(e) => {
            return reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                responses::not_valid(&[e.to_violation()]),
            )
        }
    };
    let new = match upd {
        AppUpdate::Change(a) => *a,
        AppUpdate::Rollback { version } => match s.store().version(&id.to_string(), &version) {
            Ok(Some(a)) => a,
            Ok(None) => {
                return reply(
                    StatusCode::NOT_FOUND,
                    responses::version_not_found(id, &version),
                )
            }
            Err(e) => return store_err(e),
        },
    };
    let v = validate_app(&new);
    if !v.is_empty() {
        return reply(StatusCode::UNPROCESSABLE_ENTITY, responses::not_valid(&v));
    }
    let created = current.is_none();
    let mut target = (*st.root).clone();
    if let Err(e) = target.put_app(new) {
        return msg(StatusCode::CONFLICT, e.to_string());
    }
    match deploy(s, &mut st, target, Stamp::Versions, force, BTreeMap::new()) {
        Ok((d, v)) => deployment_reply(
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            &d,
            &v,
        ),
        Err(r) => r,
    }
}

fn delete_app(s: &Scheduler, id: &PathId, q: &[(String, String)]) -> Response {
    let force = flag(q, "force").unwrap_or(true);
    let mut st = s.state();
    if st.root.find_app(id).is_none() {
        return reply(StatusCode::NOT_FOUND, responses::app_not_found(id));
    }
    let mut target = (*st.root).clone();
    if let Err(e) = target.remove_app(id) {
        return msg(StatusCode::NOT_FOUND, e.to_string());
    }
    match deploy(s, &mut st, target, Stamp::AsIs, force, BTreeMap::new()) {
        Ok((d, v)) => deployment_reply(StatusCode::OK, &d, &v),
        Err(r) => r,
    }
}

fn restart_app(s: &Scheduler, id: &PathId, q: &[(String, String)]) -> Response {
    let force = flag(q, "force").unwrap_or(false);
    let mut st = s.state();
    let Some(app) = st.root.find_app(id).cloned() else {
        return reply(StatusCode::NOT_FOUND, responses::app_not_found(id));
    };
    let mut target = (*st.root).clone();
    if let Err(e) = target.put_app(app.restarted(&now_ts())) {
        return msg(StatusCode::CONFLICT, e.to_string());
    }
    match deploy(s, &mut st, target, Stamp::AsIs, force, BTreeMap::new()) {
        Ok((d, v)) => deployment_reply(StatusCode::OK, &d, &v),
        Err(r) => r,
    }
}

fn app_tasks(s: &Scheduler, id: &PathId) -> Response {
    let live = Live::load(s);
    let st = s.state();
    let Some(app) = st.root.find_app(id) else {
        return reply(StatusCode::NOT_FOUND, responses::app_not_found(id));
    };
    let tasks: Vec<TaskJson> = live
        .by_app
        .get(id)
        .into_iter()
        .flatten()
        .map(|t| live.task_json(t, Some(app)))
        .collect();
    reply(StatusCode::OK, json!({ "tasks": tasks }))
}

/// Kills tasks (all of an app, the ones on `host`, or one), optionally scaling the app down
/// by their number (`scale=true`) or removing them for good (`wipe=true`).
fn kill_tasks(
    s: &Scheduler,
    st: &mut State,
    victims: Vec<LiveTask>,
    scale: bool,
    force: bool,
) -> Result<Option<(String, String)>, Response> {
    if scale {
        let mut per_app: BTreeMap<PathId, Vec<String>> = BTreeMap::new();
        for t in &victims {
            per_app.entry(t.app.clone()).or_default().push(t.id.clone());
        }
        let mut target = (*st.root).clone();
        for (id, ids) in &per_app {
            if let Some(app) = target.find_app(id).cloned() {
                let mut a = app;
                a.instances = (a.instances - ids.len() as i64).max(0);
                if let Err(e) = target.put_app(a) {
                    return Err(msg(StatusCode::CONFLICT, e.to_string()));
                }
            }
        }
        return deploy(s, st, target, Stamp::Versions, force, per_app).map(Some);
    }
    for t in &victims {
        let grace = st
            .root
            .find_app(&t.app)
            .and_then(|a| a.task_kill_grace_period_seconds)
            .map(|g| g as f64);
        if let Err(e) = s.master.kill(&t.id, grace) {
            tracing::warn!(task = %t.id, "marathon: kill: {e}");
        }
    }
    s.wake();
    Ok(None)
}

fn kill_app_tasks(
    s: &Scheduler,
    id: &PathId,
    q: &[(String, String)],
    task: Option<&str>,
) -> Response {
    let scale = flag(q, "scale").unwrap_or(false);
    let force = flag(q, "force").unwrap_or(false);
    let wipe = flag(q, "wipe").unwrap_or(false);
    let live = Live::load(s);
    let mut st = s.state();
    let Some(app) = st.root.find_app(id).cloned() else {
        return reply(StatusCode::NOT_FOUND, responses::app_not_found(id));
    };
    let host = param(q, "host");
    let all: Vec<LiveTask> = live.by_app.get(id).cloned().unwrap_or_default();
    let victims: Vec<LiveTask> = all
        .into_iter()
        .filter(|t| task.is_none_or(|x| t.id == x))
        .filter(|t| host.is_none_or(|h| live.hosts.get(&t.agent_id).map(String::as_str) == Some(h)))
        .collect();
    if let Some(tid) = task {
        if victims.is_empty() {
            return reply(StatusCode::NOT_FOUND, responses::task_not_found(tid));
        }
    }
    let shown: Vec<TaskJson> = victims
        .iter()
        .map(|t| live.task_json(t, Some(&app)))
        .collect();
    let _ = wipe; // tasks are not resident: a wipe is a kill
    match kill_tasks(s, &mut st, victims, scale, force) {
        Ok(Some((d, v))) => deployment_reply(StatusCode::OK, &d, &v),
        Ok(None) => match task {
            Some(_) => reply(StatusCode::OK, json!({ "task": shown.first() })),
            None => reply(StatusCode::OK, json!({ "tasks": shown })),
        },
        Err(r) => r,
    }
}

async fn list_tasks(AxState(s): AxState<S>, Query(q): Q) -> Response {
    let only: Vec<String> = params(&q, "status").map(str::to_ascii_lowercase).collect();
    let live = Live::load(&s);
    let st = s.state();
    let mut out = Vec::new();
    for (app_id, tasks) in &live.by_app {
        let app = st.root.find_app(app_id);
        for t in tasks {
            let name = match t.state {
                TaskState::Running => "running",
                TaskState::Staging | TaskState::Starting => "staging",
                _ => "other",
            };
            if only.is_empty() || only.iter().any(|o| o == name) {
                out.push(live.task_json(t, app));
            }
        }
    }
    reply(StatusCode::OK, json!({ "tasks": out }))
}

async fn delete_tasks(AxState(s): AxState<S>, Query(q): Q, body: Bytes) -> Response {
    let value = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let Some(ids) = value.get("ids").and_then(Value::as_array) else {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            responses::not_valid(&[Violation::new("/ids", "expected an array of task ids")]),
        );
    };
    let ids: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
    let scale = flag(&q, "scale").unwrap_or(false);
    let force = flag(&q, "force").unwrap_or(false);
    let live = Live::load(&s);
    let mut st = s.state();
    let victims: Vec<LiveTask> = live
        .by_app
        .values()
        .flatten()
        .filter(|t| ids.contains(&t.id.as_str()))
        .cloned()
        .collect();
    match kill_tasks(&s, &mut st, victims, scale, force) {
        Ok(Some((d, v))) => deployment_reply(StatusCode::OK, &d, &v),
        Ok(None) => reply(StatusCode::OK, json!({})),
        Err(r) => r,
    }
}

async fn list_deployments(AxState(s): AxState<S>) -> Response {
    let st = s.state();
    let list: Vec<Value> = st
        .deployments
        .iter()
        .map(|d| d.plan.to_api_json(d.step + 1, &BTreeMap::new()))
        .collect();
    reply(StatusCode::OK, Value::Array(list))
}

async fn delete_deployment(
    AxState(s): AxState<S>,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let force = flag(&q, "force").unwrap_or(false);
    let mut st = s.state();
    let Some(d) = st.deployments.iter().find(|d| d.plan.id == id).cloned() else {
        return reply(StatusCode::NOT_FOUND, responses::deployment_not_found(&id));
    };
    if force {
        let change = Change {
            delete_deployments: vec![id.clone()],
            ..Change::default()
        };
        if let Err(e) = s.store().commit(&change) {
            return store_err(e);
        }
        st.deployments.retain(|x| x.plan.id != id);
        s.wake();
        return StatusCode::ACCEPTED.into_response();
    }
    let target = d.plan.revert(&st.root);
    match deploy(&s, &mut st, target, Stamp::Versions, true, BTreeMap::new()) {
        Ok((d, v)) => deployment_reply(StatusCode::OK, &d, &v),
        Err(r) => r,
    }
}

async fn queue(AxState(s): AxState<S>) -> Response {
    let now = now_ms();
    let st = s.state();
    let mut out = Vec::new();
    for (id, (count, since)) in &st.queue {
        let Some(app) = st.root.find_app(id) else {
            continue;
        };
        let delay = st.delays.get(id).cloned().unwrap_or_default();
        out.push(backoff::queue_entry_json(app, *count, &delay, since, now));
    }
    reply(StatusCode::OK, json!({ "queue": out }))
}

async fn reset_delay(AxState(s): AxState<S>, Path(rest): Path<String>) -> Response {
    let Some(app) = rest.strip_suffix("/delay") else {
        return msg(
            StatusCode::NOT_FOUND,
            format!("no route /v2/queue/{rest}; use /v2/queue/{{appId}}/delay"),
        );
    };
    let id = PathId::parse(&format!("/{}", app.trim_start_matches('/')));
    let mut st = s.state();
    if st.root.find_app(&id).is_none() {
        return reply(StatusCode::NOT_FOUND, responses::app_not_found(&id));
    }
    if let Some(d) = st.delays.get_mut(&id) {
        d.reset();
    }
    s.wake();
    StatusCode::NO_CONTENT.into_response()
}
