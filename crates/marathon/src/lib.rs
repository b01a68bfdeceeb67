//! Marathon's model and pure cores for the app scheduler: plain data in, decisions out. No I/O,
//! no clocks (times and uuids are arguments), no async. The HTTP shell in the master parses
//! request bodies with this crate, validates them, computes deployment plans and drives running
//! deployments with the step functions; it owns storage, offers, kills and health checking.
//!
//! Public API, by module (Marathon 1.5+ canonical JSON: `networks` + `container.portMappings`,
//! `maxLaunchDelaySeconds` 3600; deprecated `ports`, `uris`, `container.docker.network` and
//! `container.docker.portMappings` are migrated on input; unknown fields are rejected with
//! their path; read-only fields such as `tasks`/`tasksRunning`/`deployments` are dropped):
//!
//! - [`path`]: [`path::PathId`] — `parse`, `canonical(base)` (relative ids, `.`/`..`),
//!   `parent`, `safe_path`, `validate_app_id()` / `check_child_of()` with Marathon's messages.
//! - [`app`]: [`app::AppDefinition`] — `from_json(body, &group_id)` (→ [`app::ParseError`]
//!   `{path, message}`; `to_violation()` for a 422), `to_json()` (the field set marathon-python
//!   0.13.0 accepts), `normalize()`, `is_upgrade`/`is_only_scale_change`/`needs_restart`,
//!   `stamp_version(prev, now)`, `restarted(now)`, `port_names()`, `dependency_ids()`.
//!   [`app::apply_update`]`(current, id, body, partial)` handles PUT/PATCH (`partial` =
//!   PATCH or `partialUpdate=true`) and returns [`app::AppUpdate`]`::{Change, Rollback}`.
//! - [`validate`]: [`validate::validate_app`] → `Vec<`[`validate::Violation`]`>`;
//!   [`validate::error_body`] builds `{"message":"Object is not valid","details":[...]}`.
//! - [`group`]: [`group::Group`] — `from_json(body, &url_group_id)`, `validate()` (apps,
//!   child ids, cycles: "Dependency graph has cyclic dependencies."), `find_app`,
//!   `find_group`, `put_app`, `remove_app`, `put_group`, `remove_group`, `scale_by`,
//!   `transitive_apps`, `dependency_graph()` (→ `topological_order`, `longest_path_lengths`),
//!   `stamp_versions(previous_root, now)`, `to_json()`; [`group::apply_group_update`] for
//!   `PUT /v2/groups/{id}` (`scaleBy`, `version` rollback, replacement).
//! - [`plan`]: [`plan::plan`]`(original_root, target_root, id, version, to_kill)` →
//!   [`plan::DeploymentPlan`] (steps of [`plan::Action`]s: StartApplication,
//!   ScaleApplication, RestartApplication, StopApplication; serde for persistence);
//!   `conflicting(&running)` for 409/force, `revert(current_root)` for
//!   `DELETE /v2/deployments/{id}`, `to_api_json(current_step, readiness)` for
//!   `GET /v2/deployments`, `to_event_json(original, target)` for deployment events;
//!   [`plan::drive_action`] turns one action + the app's live tasks into kills, launches and
//!   done (call it on every task change; a step is done when all its actions are).
//! - [`rolling`]: [`rolling::restart_step`] (kill/launch decision of a RestartApplication from
//!   the live old/new [`rolling::TaskView`]s, honouring minimumHealthCapacity,
//!   maximumOverCapacity, health and readiness) and [`rolling::scale_step`] (launch count or
//!   tasks to kill by killSelection, unhealthy/staging first, named tasks first).
//! - [`backoff`]: [`backoff::BackoffPolicy`]`::from(&app)`, [`backoff::LaunchDelay`]
//!   (`on_failure(now)`, `reset()`, `on_task_uptime()`, `may_launch(now)`, `queue_json(now)`)
//!   and [`backoff::queue_entry_json`] for `/v2/queue`.
//! - [`taskenv`]: [`taskenv::task_id`]`(app, uuid)` (`/foo/bar` → `foo_bar.<uuid>`),
//!   [`taskenv::app_id_of_task`], [`taskenv::port_requests`] (what the port allocator must
//!   find) and [`taskenv::task_env`] (`PORT0`.., `PORT_<NAME>`, `PORTS`, HOST, MESOS_TASK_ID,
//!   MARATHON_APP_* and the app's env).
//! - [`events`]: `/v2/events` bodies (`status_update_event`, `deployment_info`,
//!   `deployment_success`, `health_status_changed_event`, `unhealthy_instance_kill_event`, ...)
//!   with Marathon's fields, `wanted(event, event_types)` and `sse_frame(event)`.
//! - [`health`]: [`health::CheckState`]`::record(check, started, now, result)` folds health
//!   results (grace period, `maxConsecutiveFailures` → kill), `to_result(task_id)` gives the
//!   `healthCheckResults` entry, [`health::task_health`] and [`health::next_check_due`].
//! - [`query`]: `GET /v2/apps` filters ([`query::AppFilter`]: `cmd`, `id`, `label` selectors
//!   `k`, `k==v`, `k!=v`, `k in (..)`, `k notin (..)`) and [`query::Embed`] parsing.
//! - [`responses`]: Marathon's error bodies (404 app/group/task/deployment, 409 exists and
//!   locked with `deployments`, 400 Invalid JSON, 422) and `{"deploymentId","version"}`.
//! - [`views`]: [`views::app_json`]`(app, embed, live)` (app + `tasksRunning`.., `tasks`,
//!   `deployments`, `lastTaskFailure`, `readinessCheckResults` as `embed` asks; defaults
//!   `Embed::list_default()` / `Embed::single_app()`) and [`views::info_json`] for `/v2/info`.
//! - [`task`]: task/health/failure JSON shapes for `/v2/tasks` with marathon-python's keys,
//!   [`task::timestamp`]`(ms)` / [`task::parse_timestamp`] in Marathon's format.
//!
//! Typical handler (`POST /v2/apps`): `AppDefinition::from_json(body, &PathId::root())`
//! (400/422 on `ParseError`) → `validate_app` (422) → 409 if `root.find_app(id)` exists →
//! `target = root.clone(); target.put_app(app)` → `target.validate()` (cycles) →
//! `target.stamp_versions(&root, now)` → `plan(&root, &target, uuid, now, &{})` →
//! `plan.conflicting(&running)` (409 `responses::locked` unless `force`) → store target and
//! plan, answer 201 with the app (`views::app_json`) and `Marathon-Deployment-Id`; then run
//! each step with `drive_action` as tasks change (`taskenv` for launches, `health` for check
//! results, `backoff` for relaunches), emitting `events`.

pub mod app;
pub mod backoff;
pub mod events;
pub mod group;
pub mod health;
mod num;
pub mod path;
pub mod plan;
pub mod query;
pub mod responses;
pub mod rolling;
pub mod task;
pub mod taskenv;
pub mod validate;
pub mod views;
