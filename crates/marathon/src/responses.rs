//! JSON bodies of Marathon's error and deployment responses, worded as Marathon words them,
//! with the status code each goes with.

use serde_json::{json, Value};

use crate::path::PathId;
use crate::validate::Violation;

/// Marathon's literal text for a locked app (the placeholder is part of the message).
pub const LOCKED_MESSAGE: &str = "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.";

/// 404 `{"message": "App '/x' does not exist"}`.
pub fn app_not_found(id: &PathId) -> Value {
    json!({"message": format!("App '{id}' does not exist")})
}

/// 404 for a group.
pub fn group_not_found(id: &PathId) -> Value {
    json!({"message": format!("Group '{id}' does not exist")})
}

/// 404 for a task.
pub fn task_not_found(id: &str) -> Value {
    json!({"message": format!("Task '{id}' does not exist")})
}

/// 404 for a deployment.
pub fn deployment_not_found(id: &str) -> Value {
    json!({"message": format!("DeploymentPlan {id} does not exist")})
}

/// 404 for an app version.
pub fn version_not_found(id: &PathId, version: &str) -> Value {
    json!({"message": format!("App '{id}' does not exist in version {version}")})
}

/// 409 on creating an app that exists.
pub fn app_exists(id: &PathId) -> Value {
    json!({"message": format!("An app with id [{id}] already exists.")})
}

/// 409 on creating a group that exists.
pub fn group_exists(id: &PathId) -> Value {
    json!({"message": format!("A group with id [{id}] already exists.")})
}

/// 409 for an app locked by running deployments (without `force=true`).
pub fn locked<'a>(deployment_ids: impl IntoIterator<Item = &'a str>) -> Value {
    let deployments: Vec<Value> = deployment_ids
        .into_iter()
        .map(|id| json!({"id": id}))
        .collect();
    json!({"message": LOCKED_MESSAGE, "deployments": deployments})
}

/// 400 for a body that is not JSON or does not have the expected shape.
pub fn invalid_json(details: &[Violation]) -> Value {
    json!({"message": "Invalid JSON", "details": details})
}

/// 422 for a body that breaks the rules (same as [`crate::validate::error_body`]).
pub fn not_valid(details: &[Violation]) -> Value {
    crate::validate::error_body(details)
}

/// 200/201 body of a deploying call: `{"deploymentId", "version"}` (also sent as the
/// `Marathon-Deployment-Id` header).
pub fn deployment_result(deployment_id: &str, version: &str) -> Value {
    json!({"deploymentId": deployment_id, "version": version})
}

#[cfg(test)]
mod tests;
