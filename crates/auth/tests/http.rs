//! The login routes and the middleware over real HTTP.

mod common;

use common::*;
use dcos_auth::{sign_login_token, Clock, TokenIssuer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn body(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

fn assert_challenge(r: &reqwest::Response) {
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap()),
        Some("acsjwt")
    );
}

#[tokio::test]
async fn login_ok_wrong_password_unknown_user() {
    let f = fixture().await;
    let r = f.login("admin", &f.admin_password).await;
    assert_eq!(r.status(), 200);
    let token = body(r).await["token"].as_str().unwrap().to_string();
    assert_eq!(token.split('.').count(), 3);

    let wrong = f.login("admin", "not-the-password").await;
    assert_challenge(&wrong);
    let wrong = body(wrong).await;
    assert_eq!(wrong["code"], "ERR_INVALID_CREDENTIALS");
    assert_eq!(wrong["title"], "Unauthorized");
    assert!(wrong["description"].as_str().unwrap().contains("invalid"));

    let unknown = f.login("nobody", "whatever-password").await;
    assert_challenge(&unknown);
    assert_eq!(
        body(unknown).await,
        wrong,
        "an unknown uid answers exactly like a wrong password"
    );

    let bad = f
        .http
        .post(f.url("/acs/api/v1/auth/login"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(body(bad).await["code"], "ERR_INVALID_DATA");
}

#[tokio::test]
async fn token_accepted_in_both_header_forms() {
    let f = fixture().await;
    let token = f.admin_token().await;
    for h in [format!("token={token}"), format!("Bearer {token}")] {
        let r = f
            .http
            .get(f.url("/mesos/master/state.json"))
            .header("Authorization", h)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.text().await.unwrap(),
            "admin",
            "the verified uid reaches the handler"
        );
    }
    // The DC/OS CLI's token probe.
    let r = f
        .http
        .head(f.url("/pkgpanda/active.buildinfo.full.json"))
        .header("Authorization", format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn missing_malformed_expired_and_wrongly_signed_tokens_get_401() {
    let f = fixture().await;
    let get = |auth: Option<String>| {
        let mut rb = f.http.get(f.url("/mesos/master/state.json"));
        if let Some(a) = auth {
            rb = rb.header("Authorization", a);
        }
        rb.send()
    };
    let r = get(None).await.unwrap();
    assert_challenge(&r);
    let b = body(r).await;
    assert_eq!(b["code"], "ERR_MISSING_AUTH_TOKEN");
    assert!(b["message"].as_str().unwrap().contains("token="));

    for bad in [
        "token=garbage",
        "token=a.b.c",
        "Bearer ",
        "Basic YWRtaW46eA==",
    ] {
        let r = get(Some(bad.to_string())).await.unwrap();
        assert_challenge(&r);
    }

    let foreign = TokenIssuer::new(other_keys().0.clone(), TOKEN_LIFETIME, f.clock.clone())
        .issue("admin")
        .unwrap();
    let r = get(Some(format!("token={foreign}"))).await.unwrap();
    assert_challenge(&r);
    assert_eq!(body(r).await["code"], "ERR_INVALID_AUTH_TOKEN");

    let token = f.admin_token().await;
    f.clock.advance(TOKEN_LIFETIME + Duration::from_secs(1));
    let r = get(Some(format!("token={token}"))).await.unwrap();
    assert_challenge(&r);
    assert_eq!(body(r).await["code"], "ERR_EXPIRED_AUTH_TOKEN");

    // Unknown paths are protected too (the fallback is inside the middleware).
    let r = f.http.get(f.url("/no/such/route")).send().await.unwrap();
    assert_challenge(&r);
}

#[tokio::test]
async fn public_routes_are_open() {
    let f = fixture().await;
    for p in [
        "/ping",
        "/metadata",
        "/dcos-metadata/dcos-version.json",
        "/acs/api/v1/auth/providers",
    ] {
        let r = f.http.get(f.url(p)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{p}");
    }
    let p = body(
        f.http
            .get(f.url("/acs/api/v1/auth/providers"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let types: Vec<&str> = p
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["authentication-type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"dcos-uid-password") && types.contains(&"dcos-uid-servicekey"),
        "{p}"
    );
    for v in p.as_object().unwrap().values() {
        assert!(v["client-method"].is_string() && v["description"].is_string());
        assert_eq!(v["config"]["start_flow_url"], "/acs/api/v1/auth/login");
    }
}

#[tokio::test]
async fn agent_routes_need_the_join_token() {
    let f = fixture().await;
    let url = f.url("/internal/v1/agents/register");
    let r = f.http.post(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(body(r).await["code"], "ERR_MISSING_JOIN_TOKEN");
    let r = f
        .http
        .post(&url)
        .header("X-Dcos-Join-Token", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(body(r).await["code"], "ERR_INVALID_JOIN_TOKEN");
    // A user token is not a join token.
    let token = f.admin_token().await;
    let r = f
        .http
        .post(&url)
        .header("Authorization", format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = f
        .http
        .post(&url)
        .header("X-Dcos-Join-Token", JOIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "registered");
}

#[tokio::test]
async fn user_management() {
    let f = fixture().await;
    let admin = format!("token={}", f.admin_token().await);
    let users = f.url("/acs/api/v1/users");
    assert_challenge(&f.http.get(&users).send().await.unwrap());

    let put = |uid: &str, b: Value| {
        f.http
            .put(format!("{users}/{uid}"))
            .header("Authorization", &admin)
            .json(&b)
            .send()
    };
    let r = put(
        "alice",
        json!({"description": "Alice", "password": "alice-pass-1"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let created = body(r).await;
    assert_eq!(created["uid"], "alice");
    assert_eq!(created["is_service"], false);
    assert!(created.get("password").is_none());
    assert_eq!(
        put("alice", json!({"password": "alice-pass-1"}))
            .await
            .unwrap()
            .status(),
        409
    );
    let r = put("bad uid", json!({"password": "alice-pass-1"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = put("bob", json!({"password": "short"})).await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(body(r).await["message"]
        .as_str()
        .unwrap()
        .contains("at least 8"));
    let r = put(
        "bob",
        json!({"password": "bob-pass-123", "public_key": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);

    let list = body(
        f.http
            .get(&users)
            .header("Authorization", &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let uids: Vec<&str> = list["array"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids, ["admin", "alice"], "failed creations changed nothing");

    let r = f.login("alice", "alice-pass-1").await;
    assert_eq!(r.status(), 200);
    let alice_token = format!("token={}", body(r).await["token"].as_str().unwrap());

    let r = f
        .http
        .patch(format!("{users}/alice"))
        .header("Authorization", &alice_token)
        .json(&json!({"password": "alice-pass-2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(f.login("alice", "alice-pass-1").await.status(), 401);
    assert_eq!(f.login("alice", "alice-pass-2").await.status(), 200);

    let one = body(
        f.http
            .get(format!("{users}/alice"))
            .header("Authorization", &admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(one["description"], "Alice");
    assert_eq!(
        f.http
            .get(format!("{users}/zed"))
            .header("Authorization", &admin)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let r = f
        .http
        .delete(format!("{users}/alice"))
        .header("Authorization", &alice_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        400,
        "nobody deletes the account they are logged in as"
    );
    let r = f
        .http
        .delete(format!("{users}/alice"))
        .header("Authorization", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(f.login("alice", "alice-pass-2").await.status(), 401);
    let r = f
        .http
        .get(f.url("/mesos/master/state.json"))
        .header("Authorization", &alice_token)
        .send()
        .await
        .unwrap();
    assert_challenge(&r);
}

#[tokio::test]
async fn repeated_failed_logins_are_slowed_down() {
    let f = fixture().await;
    for _ in 0..3 {
        assert_eq!(f.login("admin", "wrong-password").await.status(), 401);
    }
    let r = f.login("admin", "wrong-password").await;
    assert_eq!(
        r.status(),
        401,
        "the 4th failure is still checked, then blocks"
    );
    let r = f.login("admin", &f.admin_password).await;
    assert_eq!(r.status(), 429, "blocked even with the right password");
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(wait, 2);
    assert_eq!(body(r).await["code"], "ERR_TOO_MANY_LOGIN_ATTEMPTS");
    f.clock.advance(Duration::from_secs(2));
    assert_eq!(f.login("admin", &f.admin_password).await.status(), 200);
    // After a success the uid and the address start afresh.
    assert_eq!(f.login("admin", "wrong-password").await.status(), 401);
    assert_eq!(f.login("admin", &f.admin_password).await.status(), 200);

    // Guessing across many uids from one address is slowed down too.
    for i in 0..4 {
        assert_eq!(
            f.login(&format!("user{i}"), "wrong-password")
                .await
                .status(),
            401
        );
    }
    assert_eq!(f.login("admin", &f.admin_password).await.status(), 429);
}

#[tokio::test]
async fn service_account_logs_in_with_a_key_pair() {
    let f = fixture().await;
    let admin = format!("token={}", f.admin_token().await);
    let (svc_private, svc_public) = (&other_keys().1, other_keys().0.public_pem().to_string());
    let r = f
        .http
        .put(f.url("/acs/api/v1/users/svc-1"))
        .header("Authorization", &admin)
        .json(&json!({"description": "a service", "public_key": svc_public}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let created = body(r).await;
    assert_eq!(created["is_service"], true);
    assert!(created["public_key"]
        .as_str()
        .unwrap()
        .contains("PUBLIC KEY"));

    let exp = f.clock.now().as_secs() + 60;
    let login_token = sign_login_token(svc_private, "svc-1", exp).unwrap();
    let login = |b: Value| f.http.post(f.url("/acs/api/v1/auth/login")).json(&b).send();
    let r = login(json!({"uid": "svc-1", "token": login_token}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = body(r).await["token"].as_str().unwrap().to_string();
    let r = f
        .http
        .get(f.url("/mesos/master/state.json"))
        .header("Authorization", format!("token={token}"))
        .send();
    assert_eq!(r.await.unwrap().text().await.unwrap(), "svc-1");

    // Signed by another key (the cluster's), for another uid, or a password: refused.
    let forged = sign_login_token(&cluster_keys().1, "svc-1", exp).unwrap();
    assert_eq!(
        login(json!({"uid": "svc-1", "token": forged}))
            .await
            .unwrap()
            .status(),
        401
    );
    let other_uid = sign_login_token(svc_private, "admin", exp).unwrap();
    assert_eq!(
        login(json!({"uid": "admin", "token": other_uid}))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        login(json!({"uid": "svc-1", "password": "anything-1"}))
            .await
            .unwrap()
            .status(),
        401
    );
    let r = f
        .http
        .patch(f.url("/acs/api/v1/users/svc-1"))
        .header("Authorization", &admin)
        .json(&json!({"password": "new-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "a service account has no password");
}

#[tokio::test]
async fn open_persists_the_key_and_bootstraps_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("master.sqlite");
    let first = dcos_auth::AuthState::open(
        dcos_auth::SqliteAccountStore::open(&db).unwrap(),
        dcos_auth::AuthConfig::new(JOIN_TOKEN),
    )
    .unwrap();
    let pw = first
        .bootstrap_password
        .clone()
        .expect("first start prints a password");
    let server = serve(app(&first.state)).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/acs/api/v1/auth/login", server.base))
        .json(&json!({"uid": "admin", "password": pw}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let token = body(r).await["token"].as_str().unwrap().to_string();
    drop(server);

    let second = dcos_auth::AuthState::open(
        dcos_auth::SqliteAccountStore::open(&db).unwrap(),
        dcos_auth::AuthConfig::new(JOIN_TOKEN),
    )
    .unwrap();
    assert!(
        second.bootstrap_password.is_none(),
        "a restart prints no password"
    );
    let server = serve(app(&second.state)).await;
    let r = http
        .get(format!("{}/mesos/master/state.json", server.base))
        .header("Authorization", format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "tokens survive a restart");
}

#[tokio::test]
async fn every_refused_authorization_from_the_testing_helper_gets_401() {
    let f = fixture().await;
    let bad = dcos_auth::testing::refused_authorizations(&f.auth, "admin");
    assert!(bad.len() >= 9, "{}", bad.len());
    for (what, h) in bad {
        for path in [
            "/mesos/master/state.json",
            "/acs/api/v1/users",
            "/no/such/route",
        ] {
            let r = f
                .http
                .get(f.url(path))
                .header("Authorization", &h)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 401, "{what} on {path}");
            assert_eq!(r.headers()["www-authenticate"], "acsjwt");
        }
    }
    let good = dcos_auth::testing::valid_authorization(&f.auth, "admin").unwrap();
    let r = f
        .http
        .get(f.url("/mesos/master/state.json"))
        .header("Authorization", good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
