//! The Marathon v2 API of the attached cluster (`/service/marathon`): every verb the commands
//! need, through the CLI's one HTTP client (`crate::http`), whose errors already carry
//! Marathon's `message` and the 422 `details` of each invalid path in one line.

use reqwest::Method;
use serde_json::Value;

use crate::http::Client;

pub use crate::http::HttpError as ApiError;

const PREFIX: &str = "/service/marathon";

pub struct Api {
    http: Client,
}

impl Api {
    pub fn from_config() -> Result<Self, ApiError> {
        Ok(Self {
            http: Client::from_config()?,
        })
    }

    fn json(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        self.http
            .request_json(method, &format!("{PREFIX}{path}"), query, body)
    }

    pub fn get(&self, path: &str, q: &[(&str, String)]) -> Result<Value, ApiError> {
        self.json(Method::GET, path, q, None)
    }

    pub fn get_text(&self, path: &str) -> Result<String, ApiError> {
        self.http.get_text(&format!("{PREFIX}{path}"))
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
