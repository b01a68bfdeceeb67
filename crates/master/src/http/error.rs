//! API errors as `{"message": ...}` JSON with the right status, and a JSON body extractor that
//! turns every malformed, oversized or mistyped body into such an error.

use crate::core::CoreError;
use crate::placement::PlacementError;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "message": self.message })),
        )
            .into_response()
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> ApiError {
        let status = match &e {
            CoreError::UnknownAgent(_)
            | CoreError::UnknownTask(_)
            | CoreError::UnknownFramework(_)
            | CoreError::NotRegistered(_) => StatusCode::NOT_FOUND,
            CoreError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            CoreError::Placement(
                PlacementError::BadConstraint(..) | PlacementError::Invalid(_),
            ) => StatusCode::UNPROCESSABLE_ENTITY,
            CoreError::Conflict(_) | CoreError::Placement(_) => StatusCode::CONFLICT,
            CoreError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!("{e}");
        }
        ApiError::new(status, e.to_string())
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s (400 malformed, 413 too large, 415 wrong
/// content type, 422 wrong fields).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rej) => {
                let status = rej.status();
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    format!(
                        "request body is larger than {} bytes; send less",
                        super::BODY_LIMIT
                    )
                } else if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    "request body must be JSON with header Content-Type: application/json".into()
                } else {
                    rej.body_text()
                };
                Err(ApiError::new(status, message))
            }
        }
    }
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route for {}", uri.path()),
    )
}

pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method {method} is not allowed on {}", uri.path()),
    )
}
