//! `dcos marathon app|deployment|task|about|ping`: the cluster's Marathon app scheduler through
//! its v2 API at `/service/marathon/v2/...`, in the DC/OS CLI's grammar.

mod api;
mod render;

use std::io::Read;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use serde_json::{json, Map, Value};

use crate::output::{print, print_json};
use crate::progress::Progress;
use api::Api;

#[cfg(test)]
mod tests;

#[derive(Subcommand)]
pub enum Args {
    /// Deploy and manage apps.
    #[command(subcommand)]
    App(AppArgs),
    /// List, watch, roll back and stop deployments.
    #[command(subcommand)]
    Deployment(DeploymentArgs),
    /// List, show, stop and kill the tasks of apps.
    #[command(subcommand)]
    Task(TaskArgs),
    /// Print Marathon's information about itself (GET /v2/info).
    About,
    /// Check that Marathon answers.
    Ping,
}

#[derive(Subcommand)]
pub enum AppArgs {
    /// Add an app from a JSON file, or from stdin when no file is given.
    Add {
        /// The app definition (JSON).
        file: Option<String>,
        /// Wait until the deployment has finished, showing its progress.
        #[arg(long)]
        wait: bool,
    },
    /// List apps: ID MEM CPUS TASKS HEALTH DEPLOYMENT WAITING CONTAINER CMD.
    List {
        /// Print the apps' JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print an app's definition (the current one, or the version given).
    Show {
        app_id: String,
        /// A version of the app (see `dcos marathon app version list`).
        #[arg(long = "app-version")]
        app_version: Option<String>,
    },
    /// Remove an app and kill its tasks.
    Remove {
        app_id: String,
        /// Cancel a deployment that holds the app.
        #[arg(long)]
        force: bool,
    },
    /// Restart all tasks of an app (a rolling restart).
    Restart {
        app_id: String,
        #[arg(long)]
        force: bool,
    },
    /// Update an app from a JSON file, from key=value pairs, or from stdin.
    Update {
        app_id: String,
        /// A JSON file, or key=value pairs (values are parsed as JSON when they can be).
        properties: Vec<String>,
        #[arg(long)]
        force: bool,
        /// Wait until the deployment has finished, showing its progress.
        #[arg(long)]
        wait: bool,
    },
    /// Kill an app's tasks (all, or those on one host); with --scale lower instances too.
    Kill {
        app_id: String,
        #[arg(long)]
        scale: bool,
        #[arg(long)]
        host: Option<String>,
    },
    /// Stop an app: scale it to 0 instances.
    Stop {
        app_id: String,
        #[arg(long)]
        force: bool,
    },
    /// Start a stopped app with INSTANCES instances (1 by default).
    Start {
        app_id: String,
        instances: Option<u32>,
        #[arg(long)]
        force: bool,
    },
    /// The versions of an app.
    #[command(subcommand)]
    Version(VersionArgs),
}

#[derive(Subcommand)]
pub enum VersionArgs {
    /// List the versions of an app, newest first.
    List {
        app_id: String,
        /// Show at most this many.
        #[arg(long = "max-count")]
        max_count: Option<usize>,
    },
}

#[derive(Subcommand)]
pub enum DeploymentArgs {
    /// List deployments (of one app): APP ACTION PROGRESS ID.
    List {
        app_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Roll a deployment back (a new deployment undoes it).
    Rollback { deployment_id: String },
    /// Stop a deployment where it is, without rolling back.
    Stop { deployment_id: String },
    /// Print a deployment's progress until it has finished.
    Watch {
        deployment_id: String,
        /// Seconds between checks.
        #[arg(long, default_value_t = 1)]
        interval: u64,
    },
}

#[derive(Subcommand)]
pub enum TaskArgs {
    /// List tasks (of one app): APP HEALTHY STARTED HOST STATE ID.
    List {
        app_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print a task's JSON.
    Show { task_id: String },
    /// Stop a task (its app starts a replacement).
    Stop {
        task_id: String,
        /// Also drop the task's persistent volumes and reservations.
        #[arg(long)]
        wipe: bool,
    },
    /// Kill tasks (their apps start replacements unless --scale).
    Kill {
        #[arg(required = true)]
        task_ids: Vec<String>,
        #[arg(long)]
        scale: bool,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let api = Api::from_config()?;
    match args {
        Args::App(a) => app(&api, a),
        Args::Deployment(d) => deployment(&api, d),
        Args::Task(t) => task(&api, t),
        Args::About => {
            print_json(&api.get("/v2/info", &[])?);
            Ok(())
        }
        Args::Ping => {
            let pong = api.get_text("/ping")?;
            print(&format!("Marathon ping response: {}\n", pong.trim()));
            Ok(())
        }
    }
}

/// `/v2/apps/<id>` for an app id given with or without its leading slash.
fn app_path(id: &str) -> anyhow::Result<String> {
    let id = id.trim().trim_matches('/');
    anyhow::ensure!(
        !id.is_empty(),
        "an app id is required, e.g. /sleep; `dcos marathon app list` shows the apps"
    );
    Ok(format!("/v2/apps/{id}"))
}

fn force_q(force: bool) -> Vec<(&'static str, String)> {
    if force {
        vec![("force", "true".into())]
    } else {
        Vec::new()
    }
}

/// Reads JSON from FILE, or from stdin when none is given.
fn read_json(file: Option<&str>) -> anyhow::Result<Value> {
    let (text, what) = match file {
        Some(f) => (
            std::fs::read_to_string(f).with_context(|| format!("cannot read {f}"))?,
            f.to_string(),
        ),
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the app definition from stdin")?;
            (s, "stdin".to_string())
        }
    };
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{what} is not valid JSON ({e}); fix the app definition"))?;
    anyhow::ensure!(
        v.is_object(),
        "{what} must hold a JSON object (an app definition such as {{\"id\": \"/sleep\", \"cmd\": \"sleep 100\"}})"
    );
    Ok(v)
}

/// `key=value` pairs as a JSON object; values are JSON when they parse, else strings.
pub fn parse_properties(pairs: &[String]) -> anyhow::Result<Value> {
    let mut m = Map::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            anyhow::bail!("`{p}` is not key=value; give a JSON file or pairs such as instances=2");
        };
        let k = k.trim();
        anyhow::ensure!(
            !k.is_empty(),
            "`{p}` has an empty key; write it as key=value"
        );
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        m.insert(k.to_string(), value);
    }
    Ok(Value::Object(m))
}

fn deployment_id(v: &Value) -> String {
    v["deploymentId"].as_str().unwrap_or("").to_string()
}

/// What a kill did: the deployment it started (with --scale), else the tasks killed.
fn kill_report(r: &Value, asked: &str) -> String {
    let dep = deployment_id(r);
    if !dep.is_empty() {
        return format!("Created deployment {dep}\n");
    }
    match r["tasks"].as_array() {
        Some(t) => {
            let ids: Vec<&str> = t.iter().filter_map(|x| x["id"].as_str()).collect();
            format!("Killed tasks: {}\n", ids.join(", "))
        }
        None => format!("Killed {asked}\n"),
    }
}

fn app(api: &Api, args: AppArgs) -> anyhow::Result<()> {
    match args {
        AppArgs::Add { file, wait } => {
            let def = read_json(file.as_deref())?;
            let r = api.post("/v2/apps", &[], &def)?;
            let id = r["id"].as_str().unwrap_or("");
            let dep = r["deployments"][0]["id"].as_str().unwrap_or("");
            print(&format!("Created deployment {dep}\nCreated app {id}\n"));
            if wait && !dep.is_empty() {
                wait_deployment(api, dep)?;
            }
            Ok(())
        }
        AppArgs::List { json } => {
            let apps = api.get(
                "/v2/apps",
                &[
                    ("embed", "apps.counts".into()),
                    ("embed", "apps.deployments".into()),
                ],
            )?;
            let apps = apps["apps"].as_array().cloned().unwrap_or_default();
            if json {
                print_json(&Value::Array(apps));
                return Ok(());
            }
            let deps = api.get("/v2/deployments", &[])?;
            let queue = api.get("/v2/queue", &[]).unwrap_or(Value::Null);
            print(&render::app_table(&apps, &deps, &queue));
            Ok(())
        }
        AppArgs::Show {
            app_id,
            app_version,
        } => {
            let path = app_path(&app_id)?;
            let v = match app_version {
                Some(ver) => api.get(&format!("{path}/versions/{ver}"), &[])?,
                None => api.get(&path, &[])?["app"].clone(),
            };
            print_json(&v);
            Ok(())
        }
        AppArgs::Remove { app_id, force } => {
            api.delete(&app_path(&app_id)?, &force_q(force))?;
            Ok(())
        }
        AppArgs::Restart { app_id, force } => {
            let r = api.post(
                &format!("{}/restart", app_path(&app_id)?),
                &force_q(force),
                &json!({}),
            )?;
            print(&format!("Created deployment {}\n", deployment_id(&r)));
            Ok(())
        }
        AppArgs::Update {
            app_id,
            properties,
            force,
            wait,
        } => {
            let path = app_path(&app_id)?;
            let body = match properties.as_slice() {
                [] => read_json(None)?,
                [one] if !one.contains('=') => read_json(Some(one))?,
                pairs => parse_properties(pairs)?,
            };
            let r = api.put(&path, &force_q(force), &body)?;
            let dep = deployment_id(&r);
            print(&format!("Created deployment {dep}\n"));
            if wait && !dep.is_empty() {
                wait_deployment(api, &dep)?;
            }
            Ok(())
        }
        AppArgs::Kill {
            app_id,
            scale,
            host,
        } => {
            let mut q = Vec::new();
            if scale {
                q.push(("scale", "true".to_string()));
            }
            if let Some(h) = host {
                q.push(("host", h));
            }
            let r = api.delete(&format!("{}/tasks", app_path(&app_id)?), &q)?;
            print(&kill_report(&r, &format!("the tasks of {app_id}")));
            Ok(())
        }
        AppArgs::Stop { app_id, force } => {
            let r = api.put(
                &app_path(&app_id)?,
                &force_q(force),
                &json!({"instances": 0}),
            )?;
            print(&format!("Created deployment {}\n", deployment_id(&r)));
            Ok(())
        }
        AppArgs::Start {
            app_id,
            instances,
            force,
        } => {
            let path = app_path(&app_id)?;
            let current = api.get(&path, &[])?;
            if current["app"]["instances"].as_u64().unwrap_or(0) > 0 {
                anyhow::bail!(
                    "app {app_id} is already started; `dcos marathon app update {app_id} instances=N` scales it"
                );
            }
            let n = instances.unwrap_or(1);
            let r = api.put(&path, &force_q(force), &json!({ "instances": n }))?;
            print(&format!("Created deployment {}\n", deployment_id(&r)));
            Ok(())
        }
        AppArgs::Version(VersionArgs::List { app_id, max_count }) => {
            let v = api.get(&format!("{}/versions", app_path(&app_id)?), &[])?;
            let mut list = v["versions"].as_array().cloned().unwrap_or_default();
            if let Some(n) = max_count {
                list.truncate(n);
            }
            print_json(&Value::Array(list));
            Ok(())
        }
    }
}

fn deployment(api: &Api, args: DeploymentArgs) -> anyhow::Result<()> {
    match args {
        DeploymentArgs::List { app_id, json } => {
            let deps = api.get("/v2/deployments", &[])?;
            let want = app_id.map(|a| format!("/{}", a.trim_matches('/')));
            let deps: Vec<Value> = deps
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .filter(|d| {
                    want.as_ref().is_none_or(|w| {
                        d["affectedApps"]
                            .as_array()
                            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(w)))
                    })
                })
                .collect();
            if json {
                print_json(&Value::Array(deps));
            } else if deps.is_empty() {
                print("There are no deployments\n");
            } else {
                print(&render::deployment_table(&deps));
            }
            Ok(())
        }
        DeploymentArgs::Rollback { deployment_id } => {
            let r = api.delete(&format!("/v2/deployments/{deployment_id}"), &[])?;
            print(&format!("Created deployment {}\n", self::deployment_id(&r)));
            Ok(())
        }
        DeploymentArgs::Stop { deployment_id } => {
            api.delete(
                &format!("/v2/deployments/{deployment_id}"),
                &[("force", "true".into())],
            )?;
            Ok(())
        }
        DeploymentArgs::Watch {
            deployment_id,
            interval,
        } => {
            let interval = Duration::from_secs(interval.max(1));
            let mut last = String::new();
            loop {
                let deps = api.get("/v2/deployments", &[])?;
                let Some(d) = find_deployment(&deps, &deployment_id) else {
                    print(&format!("Deployment {deployment_id} has finished\n"));
                    return Ok(());
                };
                let line = render::deployment_line(&d);
                if line != last {
                    print(&format!("{line}\n"));
                    last = line;
                }
                std::thread::sleep(interval);
            }
        }
    }
}

fn find_deployment(deps: &Value, id: &str) -> Option<Value> {
    deps.as_array()?
        .iter()
        .find(|d| d["id"].as_str() == Some(id))
        .cloned()
}

/// Shows a deployment's progress until Marathon no longer lists it.
fn wait_deployment(api: &Api, id: &str) -> anyhow::Result<()> {
    let p = Progress::new();
    loop {
        let deps = api.get("/v2/deployments", &[])?;
        match find_deployment(&deps, id) {
            Some(d) => p.step(&render::deployment_line(&d)),
            None => {
                p.finish();
                print(&format!("Deployment {id} has finished\n"));
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn all_tasks(api: &Api) -> anyhow::Result<Vec<Value>> {
    Ok(api.get("/v2/tasks", &[])?["tasks"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn find_task(api: &Api, id: &str) -> anyhow::Result<Value> {
    all_tasks(api)?
        .into_iter()
        .find(|t| t["id"].as_str() == Some(id))
        .ok_or_else(|| {
            anyhow::anyhow!("no task with id {id}; `dcos marathon task list` shows the tasks")
        })
}

fn task(api: &Api, args: TaskArgs) -> anyhow::Result<()> {
    match args {
        TaskArgs::List { app_id, json } => {
            let tasks = match app_id {
                Some(a) => api.get(&format!("{}/tasks", app_path(&a)?), &[])?["tasks"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
                None => all_tasks(api)?,
            };
            if json {
                print_json(&Value::Array(tasks));
            } else {
                print(&render::task_table(&tasks));
            }
            Ok(())
        }
        TaskArgs::Show { task_id } => {
            print_json(&find_task(api, &task_id)?);
            Ok(())
        }
        TaskArgs::Stop { task_id, wipe } => {
            let t = find_task(api, &task_id)?;
            let app = t["appId"].as_str().unwrap_or("");
            let mut q = Vec::new();
            if wipe {
                q.push(("wipe", "true".to_string()));
            }
            let r = api.delete(&format!("{}/tasks/{task_id}", app_path(app)?), &q)?;
            print_json(&r["task"]);
            Ok(())
        }
        TaskArgs::Kill { task_ids, scale } => {
            let mut q = Vec::new();
            if scale {
                q.push(("scale", "true".to_string()));
            }
            let r = api.post("/v2/tasks/delete", &q, &json!({ "ids": task_ids }))?;
            print(&kill_report(&r, &task_ids.join(", ")));
            Ok(())
        }
    }
}
