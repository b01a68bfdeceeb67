//! The async shell around [`Core`]: one lock over the state, the HTTP client that carries
//! launches and kills to agents, the event bus to internal frameworks, and the health clock.

use crate::core::{Core, CoreConfig, CoreError, Effect};
use crate::frameworks::{EventBus, FrameworkEvents, TaskRequest};
use crate::model::{FrameworkRecord, TaskRecord};
use crate::store::Store;
use dcos_schemas::agent::{KillTask, LaunchTask, JOIN_TOKEN_HEADER};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub struct Master {
    core: Mutex<Core>,
    bus: EventBus,
    pub(crate) http: reqwest::Client,
    pub data_dir: PathBuf,
    pub log_file: PathBuf,
    /// `http://IP:PORT` of this master once bound.
    pub url: Mutex<String>,
    /// A per-process id, Mesos's master `id`.
    pub master_id: String,
}

impl Master {
    /// Opens the store under `data_dir` and rebuilds the state from it.
    pub fn open(
        data_dir: PathBuf,
        log_file: PathBuf,
        cfg: CoreConfig,
    ) -> Result<Arc<Master>, CoreError> {
        let store = Store::open(&data_dir)?;
        let core = Core::open(store, cfg, Instant::now())?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| CoreError::Invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Arc::new(Master {
            core: Mutex::new(core),
            bus: EventBus::default(),
            http,
            data_dir,
            log_file,
            url: Mutex::new(String::new()),
            master_id: crate::core::new_uuid(),
        }))
    }

    /// The state lock (a poisoned lock is taken over: every change is committed atomically, so
    /// the state is consistent even if a holder panicked).
    pub fn core(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn url(&self) -> String {
        self.url.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// Registers an internal framework and subscribes to its events.
    pub fn register_framework(
        &self,
        rec: FrameworkRecord,
    ) -> Result<(FrameworkRecord, FrameworkEvents), CoreError> {
        let rx = self.bus.subscribe(&rec.id);
        let f = self.core().ensure_framework(rec)?;
        Ok((f, rx))
    }

    /// A framework's tasks as the master knows them (for a scheduler's reconciliation after a
    /// restart: every task, its state and status history).
    pub fn tasks_of(&self, framework_id: &str) -> Vec<TaskRecord> {
        let core = self.core();
        let mut v: Vec<TaskRecord> = core
            .tasks()
            .filter(|t| t.framework_id == framework_id)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.created.total_cmp(&b.created).then(a.id.cmp(&b.id)));
        v
    }

    /// Subscribes to the events of an already registered framework.
    pub fn subscribe(&self, framework_id: &str) -> FrameworkEvents {
        self.bus.subscribe(framework_id)
    }

    /// Places and launches a task for a framework; returns it in TASK_STAGING.
    pub fn launch(
        self: &Arc<Self>,
        framework_id: &str,
        req: TaskRequest,
    ) -> Result<TaskRecord, CoreError> {
        let (rec, effects) = self.core().launch(framework_id, req)?;
        self.run_effects(effects);
        Ok(rec)
    }

    /// Launches several tasks with one store commit; each request succeeds or fails on its own.
    pub fn launch_batch(
        self: &Arc<Self>,
        framework_id: &str,
        reqs: Vec<TaskRequest>,
    ) -> Result<Vec<Result<TaskRecord, CoreError>>, CoreError> {
        let results = self.core().launch_batch(framework_id, reqs)?;
        let mut out = Vec::with_capacity(results.len());
        for (r, effects) in results {
            self.run_effects(effects);
            out.push(r);
        }
        Ok(out)
    }

    /// Kills a task (SIGTERM, then SIGKILL after the grace period, on the agent).
    pub fn kill(
        self: &Arc<Self>,
        task_id: &str,
        grace: Option<f64>,
    ) -> Result<TaskRecord, CoreError> {
        let (rec, effects) = self.core().kill(task_id, grace)?;
        self.run_effects(effects);
        Ok(rec)
    }

    /// Carries out effects returned by the core: events now, agent calls in the background.
    pub fn run_effects(self: &Arc<Self>, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Event(ev) => self.bus.publish(ev),
                Effect::Launch {
                    agent_id,
                    endpoint,
                    spec,
                } => {
                    let m = self.clone();
                    tokio::spawn(async move { m.send_launch(agent_id, endpoint, *spec).await });
                }
                Effect::Kill {
                    agent_id,
                    endpoint,
                    task_id,
                    grace,
                } => {
                    let m = self.clone();
                    tokio::spawn(
                        async move { m.send_kill(agent_id, endpoint, task_id, grace).await },
                    );
                }
            }
        }
    }

    fn join_token(&self) -> String {
        self.core().join_token.clone()
    }

    async fn send_launch(self: Arc<Self>, agent_id: String, endpoint: String, spec: LaunchTask) {
        let token = self.join_token();
        let url = format!("{endpoint}/v1/launch");
        if self
            .core()
            .task(&spec.task_id)
            .is_some_and(|t| t.kill_requested)
        {
            match self.core().killed_before_launch(&spec.task_id) {
                Ok(effects) => self.run_effects(effects),
                Err(e) => tracing::error!("recording a kill before launch: {e}"),
            }
            return;
        }
        for attempt in 0..5u32 {
            let res = self
                .http
                .post(&url)
                .header(JOIN_TOKEN_HEADER, &token)
                .json(&spec)
                .send()
                .await;
            match res {
                Ok(r) if r.status().is_success() => return,
                Ok(r) if r.status().is_client_error() => {
                    let status = r.status();
                    let body = r.text().await.unwrap_or_default();
                    let msg = format!(
                        "agent {agent_id} refused the launch ({status}): {}",
                        body.trim()
                    );
                    tracing::warn!(task = %spec.task_id, "{msg}");
                    match self.core().launch_refused(&spec.task_id, msg) {
                        Ok(effects) => self.run_effects(effects),
                        Err(e) => tracing::error!("recording a refused launch: {e}"),
                    }
                    return;
                }
                Ok(r) => {
                    tracing::warn!(task = %spec.task_id, agent = %agent_id, status = %r.status(), "launch failed, retrying")
                }
                Err(e) => {
                    tracing::warn!(task = %spec.task_id, agent = %agent_id, "launch failed, retrying: {e}")
                }
            }
            tokio::time::sleep(Duration::from_millis(300 << attempt)).await;
        }
        tracing::warn!(task = %spec.task_id, agent = %agent_id, "launch not delivered; it is resent when the agent registers again");
    }

    async fn send_kill(
        self: Arc<Self>,
        agent_id: String,
        endpoint: String,
        task_id: String,
        grace: Option<f64>,
    ) {
        let token = self.join_token();
        let url = format!("{endpoint}/v1/kill");
        let body = KillTask {
            task_id: task_id.clone(),
            grace_period_secs: grace,
        };
        for attempt in 0..5u32 {
            match self
                .http
                .post(&url)
                .header(JOIN_TOKEN_HEADER, &token)
                .json(&body)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => return,
                Ok(r) if r.status().is_client_error() => {
                    tracing::warn!(task = %task_id, agent = %agent_id, status = %r.status(), "agent refused the kill");
                    if r.status() == reqwest::StatusCode::NOT_FOUND {
                        match self.core().killed_before_launch(&task_id) {
                            Ok(effects) => self.run_effects(effects),
                            Err(e) => tracing::error!("recording a kill before launch: {e}"),
                        }
                    }
                    return;
                }
                Ok(r) => {
                    tracing::warn!(task = %task_id, agent = %agent_id, status = %r.status(), "kill failed, retrying")
                }
                Err(e) => {
                    tracing::warn!(task = %task_id, agent = %agent_id, "kill failed, retrying: {e}")
                }
            }
            tokio::time::sleep(Duration::from_millis(300 << attempt)).await;
        }
    }

    /// Runs the health clock until the process ends.
    pub fn spawn_health_clock(self: &Arc<Self>) {
        let m = self.clone();
        let period = {
            let c = m.core();
            (c.config().agent_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(1))
        };
        tokio::spawn(async move {
            let mut iv = tokio::time::interval(period);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                iv.tick().await;
                let res = m.core().tick(Instant::now());
                match res {
                    Ok(effects) => m.run_effects(effects),
                    Err(e) => tracing::error!("health clock: {e}"),
                }
            }
        });
    }
}
