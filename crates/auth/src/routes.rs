//! The IAM routes: login, providers, user management, and the token probe the DC/OS CLI uses.

use crate::accounts::{validate_public_key, validate_uid, Account, AccountError, Credential};
use crate::error::ApiError;
use crate::middleware::{Authenticated, LOGIN_PATH, PROVIDERS_PATH, USERS_PATH};
use crate::password;
use crate::state::AuthState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::SocketAddr;

/// Largest accepted body on these routes.
const BODY_LIMIT: usize = 64 * 1024;

impl AuthState {
    /// The auth routes, state applied, ready to `merge` into the master's router.
    pub fn router(&self) -> Router {
        Router::new()
            .route(LOGIN_PATH, post(login))
            .route(PROVIDERS_PATH, get(providers))
            .route(USERS_PATH, get(list_users))
            .route(
                &format!("{USERS_PATH}/{{uid}}"),
                get(get_user)
                    .put(create_user)
                    .patch(update_user)
                    .delete(delete_user),
            )
            // The DC/OS CLI checks a token with HEAD on this path (200 = accepted).
            .route("/pkgpanda/active.buildinfo.full.json", get(token_probe))
            .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self.clone())
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> ApiError {
        let msg = e.to_string();
        match e {
            AccountError::InvalidUid(_)
            | AccountError::InvalidPublicKey(_)
            | AccountError::Password(_) => ApiError::bad_request("ERR_INVALID_DATA", msg),
            AccountError::IsService(_) => ApiError::bad_request("ERR_INVALID_DATA", msg),
            AccountError::Exists(_) => ApiError::new(StatusCode::CONFLICT, "ERR_USER_EXISTS", msg),
            AccountError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "ERR_UNKNOWN_USER_ID", msg)
            }
            AccountError::Db(e) => {
                tracing::error!("account store: {e}");
                ApiError::internal("the account database failed; see the master's log")
            }
        }
    }
}

/// The login body. Deliberately not `Debug`: it holds a password.
#[derive(Deserialize)]
struct LoginBody {
    uid: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

const BAD_CREDENTIALS: &str = "the uid/password combination is invalid";

async fn login(State(auth): State<AuthState>, req: Request) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let body = match axum::body::to_bytes(req.into_body(), BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "ERR_INVALID_DATA",
                "request body too large or unreadable",
            )
            .into_response()
        }
    };
    match login_inner(&auth, peer, &body).await {
        Ok(token) => Json(json!({ "token": token })).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn login_inner(
    auth: &AuthState,
    peer: Option<SocketAddr>,
    body: &[u8],
) -> Result<String, ApiError> {
    // The parser's own message could quote the body (a password), so it is not passed on.
    let req: LoginBody = serde_json::from_slice(body).map_err(|_| {
        ApiError::bad_request(
            "ERR_INVALID_DATA",
            "request body must be JSON {\"uid\": ..., \"password\": ...} or {\"uid\": ..., \"token\": ...}",
        )
    })?;
    let uid = req.uid.trim().to_string();
    let client = peer
        .map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into());
    if validate_uid(&uid).is_err() {
        // Not a possible uid (maybe a password typed into the wrong field): never logged, but
        // it counts against the client's address.
        let key = format!("ip:{client}");
        let now = auth.now();
        let mut t = auth.throttle();
        if let Err(wait) = t.check(&key, now) {
            return Err(ApiError::too_many(wait));
        }
        t.record_failure(&key, now);
        tracing::warn!(client = %client, "login failed: not a valid uid");
        return Err(ApiError::unauthorized(
            "ERR_INVALID_CREDENTIALS",
            BAD_CREDENTIALS,
        ));
    }
    let keys = [format!("uid:{uid}"), format!("ip:{client}")];
    let now = auth.now();
    {
        let t = auth.throttle();
        for k in &keys {
            if let Err(wait) = t.check(k, now) {
                tracing::warn!(uid = %uid, client = %client, "login refused: too many failed attempts");
                return Err(ApiError::too_many(wait));
            }
        }
    }
    let account = auth.with_store(|s| s.get(&uid)).map_err(ApiError::from)?;
    let known = account.is_some();
    let ok = match (req.password, req.token, account) {
        (
            Some(pw),
            None,
            Some(Account {
                credential: Credential::Password(hash),
                ..
            }),
        ) => tokio::task::spawn_blocking(move || password::verify_password(&pw, &hash))
            .await
            .unwrap_or(false),
        (Some(pw), None, _) => {
            // Unknown uid or a service account: spend the same time, then fail.
            let _ = tokio::task::spawn_blocking(move || password::verify_dummy(&pw)).await;
            false
        }
        (
            None,
            Some(tok),
            Some(Account {
                credential: Credential::PublicKey(pem),
                uid: u,
                ..
            }),
        ) => match auth.tokens().verify_login_token(&tok, &pem, &u) {
            Ok(()) => true,
            Err(e) => {
                tracing::info!(uid = %uid, "service login token rejected: {e}");
                false
            }
        },
        (None, Some(_), _) => false,
        _ => return Err(ApiError::bad_request(
            "ERR_INVALID_DATA",
            "give exactly one of \"password\" (users) or \"token\" (service accounts' login JWT)",
        )),
    };
    if !ok {
        let delay = {
            let mut t = auth.throttle();
            keys.iter()
                .map(|k| t.record_failure(k, now))
                .max()
                .unwrap_or_default()
        };
        if known {
            tracing::warn!(uid = %uid, client = %client, next_delay_s = delay.as_secs(), "login failed");
        } else {
            // An unknown uid may be a password typed into the wrong field: never logged.
            tracing::warn!(client = %client, next_delay_s = delay.as_secs(), "login failed: unknown uid");
        }
        return Err(ApiError::unauthorized(
            "ERR_INVALID_CREDENTIALS",
            BAD_CREDENTIALS,
        ));
    }
    {
        let mut t = auth.throttle();
        for k in &keys {
            t.record_success(k);
        }
    }
    let token = auth
        .tokens()
        .issue(&uid)
        .map_err(|e| ApiError::internal(format!("could not sign a token: {e}")))?;
    tracing::info!(uid = %uid, client = %client, "login");
    Ok(token)
}

async fn providers() -> Json<Value> {
    Json(json!({
        "dcos-users": {
            "authentication-type": "dcos-uid-password",
            "client-method": "dcos-usercredential-post-receive-authtoken",
            "config": { "start_flow_url": LOGIN_PATH },
            "description": "Default DC/OS login provider"
        },
        "dcos-services": {
            "authentication-type": "dcos-uid-servicekey",
            "client-method": "dcos-servicecredential-post-receive-authtoken",
            "config": { "start_flow_url": LOGIN_PATH },
            "description": "Default DC/OS login provider"
        }
    }))
}

async fn token_probe(_who: Authenticated) -> Json<Value> {
    Json(json!({}))
}

fn user_json(a: &Account) -> Value {
    let mut v = json!({
        "uid": a.uid,
        "url": format!("{USERS_PATH}/{}", a.uid),
        "description": a.description,
        "is_remote": false,
        "is_service": a.is_service(),
        "provider_type": "internal",
        "provider_id": "",
    });
    if let (Some(pem), Some(obj)) = (a.public_key(), v.as_object_mut()) {
        obj.insert("public_key".into(), Value::String(pem.to_string()));
    }
    v
}

async fn list_users(
    State(auth): State<AuthState>,
    _who: Authenticated,
) -> Result<Json<Value>, ApiError> {
    let all = auth.with_store(|s| s.list())?;
    Ok(Json(
        json!({ "array": all.iter().map(user_json).collect::<Vec<_>>() }),
    ))
}

async fn get_user(
    State(auth): State<AuthState>,
    _who: Authenticated,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match auth.with_store(|s| s.get(&uid))? {
        Some(a) => Ok(Json(user_json(&a))),
        None => Err(AccountError::NotFound(uid).into()),
    }
}

/// PUT/PATCH body. Not `Debug`: it may hold a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    public_key: Option<String>,
    /// Accepted and ignored (DC/OS's CLI may send it).
    #[serde(default)]
    #[allow(dead_code)]
    provider_type: Option<String>,
}

fn parse_user_body(body: &[u8]) -> Result<UserBody, ApiError> {
    serde_json::from_slice(body).map_err(|_| {
        ApiError::bad_request(
            "ERR_INVALID_DATA",
            "request body must be JSON with \"description\" and one of \"password\" or \"public_key\"",
        )
    })
}

async fn hash_off_thread(pw: String) -> Result<crate::password::PasswordHashString, ApiError> {
    tokio::task::spawn_blocking(move || password::hash_password(&pw))
        .await
        .map_err(|_| ApiError::internal("password hashing task failed"))?
        .map_err(|e| AccountError::from(e).into())
}

async fn create_user(
    State(auth): State<AuthState>,
    who: Authenticated,
    Path(uid): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    validate_uid(&uid)?;
    let b = parse_user_body(&body)?;
    let credential =
        match (b.password, b.public_key) {
            (Some(pw), None) => Credential::Password(hash_off_thread(pw).await?),
            (None, Some(pem)) => {
                validate_public_key(&pem)?;
                Credential::PublicKey(pem.trim().to_string() + "\n")
            }
            _ => return Err(ApiError::bad_request(
                "ERR_INVALID_DATA",
                "give exactly one of \"password\" (a user) or \"public_key\" (a service account)",
            )),
        };
    let account = Account {
        uid: uid.clone(),
        description: b.description.unwrap_or_default(),
        credential,
    };
    auth.with_store(|s| s.create(&account))?;
    tracing::info!(uid = %uid, by = %who.uid, service = account.is_service(), "account created");
    Ok((StatusCode::CREATED, Json(user_json(&account))).into_response())
}

async fn update_user(
    State(auth): State<AuthState>,
    who: Authenticated,
    Path(uid): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let b = parse_user_body(&body)?;
    if b.public_key.is_some() {
        return Err(ApiError::bad_request(
            "ERR_INVALID_DATA",
            "a public key cannot be changed: delete and re-create the service account",
        ));
    }
    let Some(existing) = auth.with_store(|s| s.get(&uid))? else {
        return Err(AccountError::NotFound(uid).into());
    };
    // Validate everything before changing anything.
    let hash = match b.password {
        Some(_) if existing.is_service() => return Err(AccountError::IsService(uid).into()),
        Some(pw) => Some(hash_off_thread(pw).await?),
        None => None,
    };
    auth.with_store(|s| -> Result<(), AccountError> {
        if let Some(h) = &hash {
            s.set_password_hash(&uid, h)?;
        }
        if let Some(d) = &b.description {
            s.set_description(&uid, d)?;
        }
        Ok(())
    })?;
    tracing::info!(uid = %uid, by = %who.uid, password_changed = hash.is_some(), "account updated");
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_user(
    State(auth): State<AuthState>,
    who: Authenticated,
    Path(uid): Path<String>,
) -> Result<StatusCode, ApiError> {
    if who.uid == uid {
        return Err(ApiError::bad_request(
            "ERR_INVALID_DATA",
            "you cannot delete the account you are logged in as: log in as another user first",
        ));
    }
    auth.with_store(|s| s.delete(&uid))?;
    tracing::info!(uid = %uid, by = %who.uid, "account deleted");
    Ok(StatusCode::NO_CONTENT)
}
