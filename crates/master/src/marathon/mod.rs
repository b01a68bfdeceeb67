//! The app scheduler: Marathon's v2 REST API inside the master, as an internal framework.
//!
//! The decisions come from the pure `dcos-marathon` crate (parsing, validation, deployment
//! plans, rolling/scale step functions, backoff, task env); this module is the shell around
//! them: [`store`] keeps apps, versions and deployment plans in `<data-dir>/marathon.sqlite`
//! (committed before a reply), [`reconcile`] launches and kills through the master to drive
//! deployments and keep `instances` tasks alive, and [`api`] serves `/marathon/v2/...` and
//! `/service/marathon/v2/...`.

mod api;
mod events;
mod groups;
mod reconcile;
pub mod store;

use crate::master::Master;
use crate::model::{wall_now, FrameworkRecord};
use dcos_marathon::backoff::LaunchDelay;
use dcos_marathon::group::Group;
use dcos_marathon::path::PathId;
use dcos_marathon::plan::DeploymentPlan;
use dcos_marathon::task::TaskFailure;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use store::{MarathonStore, MarathonStoreError};

/// The app scheduler's framework id.
pub const FRAMEWORK_ID: &str = "marathon";
/// Task label holding the app version a task was launched from.
pub const VERSION_LABEL: &str = "MARATHON_APP_VERSION";
/// Task label holding the app's `lastConfigChangeAt` at launch (tells new from outdated tasks).
pub const CONFIG_LABEL: &str = "MARATHON_APP_CONFIG_VERSION";

/// A running deployment: its plan and the index of the step being carried out.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Deployment {
    pub plan: DeploymentPlan,
    /// 0-based index of the current step.
    pub step: usize,
}

/// What the app scheduler keeps in memory.
#[derive(Default)]
pub struct State {
    /// Shared with readers (replaced, never changed in place).
    pub root: Arc<Group>,
    pub deployments: Vec<Deployment>,
    pub delays: HashMap<PathId, LaunchDelay>,
    /// Terminal tasks already accounted for (backoff counts each failure once).
    pub seen_terminal: HashSet<String>,
    /// Apps with launches wanted but not made: (count, since).
    pub queue: BTreeMap<PathId, (u32, String)>,
    pub last_failure: HashMap<PathId, TaskFailure>,
}

pub struct Scheduler {
    pub master: Arc<Master>,
    state: Mutex<State>,
    store: Mutex<MarathonStore>,
    wake: tokio::sync::Notify,
    /// `/v2/events` subscribers.
    events: tokio::sync::broadcast::Sender<serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Store(#[from] MarathonStoreError),
    #[error("registering the marathon framework: {0}")]
    Register(String),
}

type Registry = Mutex<Vec<(Weak<Master>, Arc<Scheduler>)>>;
static SCHEDULERS: Registry = Mutex::new(Vec::new());

impl Scheduler {
    /// The scheduler of `master`, opened (and its loop started) on first use.
    pub fn for_master(master: &Arc<Master>) -> Result<Arc<Scheduler>, SchedulerError> {
        let mut reg = SCHEDULERS.lock().unwrap_or_else(|p| p.into_inner());
        reg.retain(|(m, _)| m.strong_count() > 0);
        if let Some((_, s)) = reg
            .iter()
            .find(|(m, _)| std::ptr::eq(m.as_ptr(), Arc::as_ptr(master)))
        {
            return Ok(s.clone());
        }
        let s = Scheduler::open(master)?;
        reg.push((Arc::downgrade(master), s.clone()));
        if tokio::runtime::Handle::try_current().is_ok() {
            s.clone().spawn_loop();
        }
        Ok(s)
    }

    fn open(master: &Arc<Master>) -> Result<Arc<Scheduler>, SchedulerError> {
        let store = MarathonStore::open(&master.data_dir)?;
        let (_, rx) = master
            .register_framework(FrameworkRecord {
                id: FRAMEWORK_ID.into(),
                name: "marathon".into(),
                role: "*".into(),
                user: "root".into(),
                registered_time: wall_now(),
                webui_url: None,
                active: true,
            })
            .map_err(|e| SchedulerError::Register(e.to_string()))?;
        let mut root = match store.load_groups()? {
            Some(v) => Group::from_json(v, &PathId::root()).unwrap_or_else(|e| {
                tracing::error!("marathon: cannot restore the group tree: {e:?}");
                Group::empty_root()
            }),
            None => Group::empty_root(),
        };
        for app in store.load_apps()? {
            if let Err(e) = root.put_app(app) {
                tracing::error!("marathon: cannot restore an app: {e}");
            }
        }
        let deployments = store.load_deployments()?;
        let seen_terminal = master
            .tasks_of(FRAMEWORK_ID)
            .into_iter()
            .filter(|t| t.state.is_terminal())
            .map(|t| t.id)
            .collect();
        tracing::info!(
            apps = root.transitive_apps().len(),
            deployments = deployments.len(),
            "marathon state recovered"
        );
        let s = Arc::new(Scheduler {
            master: master.clone(),
            state: Mutex::new(State {
                root: Arc::new(root),
                deployments,
                seen_terminal,
                ..State::default()
            }),
            store: Mutex::new(store),
            wake: tokio::sync::Notify::new(),
            events: tokio::sync::broadcast::channel(4096).0,
        });
        // Task events wake the loop.
        let weak = Arc::downgrade(&s);
        if tokio::runtime::Handle::try_current().is_ok() {
            let mut rx = rx;
            tokio::spawn(async move {
                while let Some(ev) = rx.recv().await {
                    match weak.upgrade() {
                        Some(s) => {
                            s.publish_task_event(&ev);
                            s.wake.notify_one()
                        }
                        None => return,
                    }
                }
            });
        }
        Ok(s)
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, MarathonStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends an event to the `/v2/events` subscribers.
    pub fn emit(&self, event: serde_json::Value) {
        if self.events.receiver_count() > 0 {
            let _ = self.events.send(event);
        }
    }

    /// True when someone listens on `/v2/events` (events are only built then).
    pub fn has_listeners(&self) -> bool {
        self.events.receiver_count() > 0
    }

    pub(crate) fn subscribe_events(&self) -> tokio::sync::broadcast::Receiver<serde_json::Value> {
        self.events.subscribe()
    }

    /// `status_update_event` (and `health_status_changed_event`) for a task change.
    fn publish_task_event(&self, ev: &crate::frameworks::FrameworkEvent) {
        use dcos_marathon::events;
        let crate::frameworks::FrameworkEvent::Update {
            task_id,
            agent_id,
            state,
            message,
            healthy,
            ..
        } = ev
        else {
            return;
        };
        if self.events.receiver_count() == 0 {
            return;
        }
        let (ports, host, version, app_id) = {
            let core = self.master.core();
            let t = core.task(task_id);
            let ports: Vec<u32> = t
                .map(|t| t.resources.ports.iter().map(|p| u32::from(*p)).collect())
                .unwrap_or_default();
            let version = t
                .and_then(|t| t.launch.labels.get(VERSION_LABEL).cloned())
                .unwrap_or_default();
            let app_id = t.map(|t| t.group.clone()).unwrap_or_default();
            let host = core
                .agent(agent_id)
                .map(|a| a.rec.hostname.clone())
                .unwrap_or_default();
            (ports, host, version, app_id)
        };
        let ts = now_ts();
        self.emit(events::status_update_event(
            &ts,
            &events::StatusUpdate {
                slave_id: agent_id,
                task_id,
                task_status: state.as_str(),
                message: message.as_deref().unwrap_or(""),
                app_id: &app_id,
                host: &host,
                ip_addresses: &[],
                ports: &ports,
                version: &version,
            },
        ));
        if let Some(alive) = healthy {
            self.emit(events::health_status_changed(
                &ts, &app_id, task_id, &version, *alive,
            ));
        }
    }

    /// Asks the loop to run now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn spawn_loop(self: Arc<Self>) {
        tokio::spawn(async move {
            loop {
                let s = self.clone();
                let _ = tokio::task::spawn_blocking(move || s.reconcile()).await;
                let _ = tokio::time::timeout(
                    std::time::Duration::from_millis(500),
                    self.wake.notified(),
                )
                .await;
            }
        });
    }
}

/// The group tree without its apps (apps are stored one by one).
pub(crate) fn skeleton(g: &Group) -> String {
    fn tree(g: &Group) -> serde_json::Value {
        serde_json::json!({
            "id": g.id,
            "apps": [],
            "groups": g.groups.values().map(tree).collect::<Vec<_>>(),
            "pods": [],
            "dependencies": g.dependencies,
            "version": g.version,
        })
    }
    tree(g).to_string()
}

/// Marathon's timestamp for now.
pub(crate) fn now_ms() -> i64 {
    (wall_now() * 1000.0) as i64
}

pub(crate) fn now_ts() -> String {
    dcos_marathon::task::timestamp(now_ms()).unwrap_or_default()
}

/// The Marathon routes of `master` (a 503 for every Marathon route when the scheduler's store
/// cannot be opened).
pub fn routes(master: &Arc<Master>) -> axum::Router<Arc<Master>> {
    match Scheduler::for_master(master) {
        Ok(s) => api::router(s),
        Err(e) => {
            let msg = format!("the app scheduler is unavailable: {e}");
            tracing::error!("{msg}");
            api::unavailable(msg)
        }
    }
}

#[cfg(test)]
mod tests;
