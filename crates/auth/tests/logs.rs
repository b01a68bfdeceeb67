//! Passwords never reach the logs or any response.

mod common;

use common::*;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// One thread: the server's tasks run where the thread-local subscriber is set.
#[tokio::test(flavor = "current_thread")]
async fn passwords_never_appear_in_logs_or_responses() {
    let logs = Captured::default();
    let w = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let f = fixture().await;
    let secrets = [
        "alice-secret-pw-1",
        "alice-secret-pw-2",
        "wrong-secret-pw-3",
        f.admin_password.as_str(),
    ];
    let mut seen = String::new();
    let admin = format!("token={}", f.admin_token().await);
    let users = f.url("/acs/api/v1/users");
    let calls = vec![
        f.http
            .put(format!("{users}/alice"))
            .header("Authorization", &admin)
            .json(&json!({"password": secrets[0]})),
        f.http
            .post(f.url("/acs/api/v1/auth/login"))
            .json(&json!({"uid": "alice", "password": secrets[0]})),
        f.http
            .post(f.url("/acs/api/v1/auth/login"))
            .json(&json!({"uid": "alice", "password": secrets[2]})),
        f.http
            .post(f.url("/acs/api/v1/auth/login"))
            .json(&json!({"uid": "nobody", "password": secrets[2]})),
        // A password typed into the uid field (it looks like a uid): not logged either.
        f.http
            .post(f.url("/acs/api/v1/auth/login"))
            .json(&json!({"uid": secrets[1], "password": "x"})),
        f.http
            .post(f.url("/acs/api/v1/auth/login"))
            .json(&json!({"uid": "alice", "password": 12345678})),
        f.http.post(f.url("/acs/api/v1/auth/login")).body(format!(
            "{{\"uid\":\"alice\",\"password\":\"{}\"",
            secrets[2]
        )),
        f.http
            .patch(format!("{users}/alice"))
            .header("Authorization", &admin)
            .json(&json!({"password": secrets[1]})),
        f.http
            .patch(format!("{users}/alice"))
            .header("Authorization", &admin)
            .json(&json!({"password": "short"})),
        f.http
            .patch(format!("{users}/alice"))
            .header("Authorization", &admin)
            .json(&json!({"passwd": secrets[1]})),
        f.http.get(&users).header("Authorization", &admin),
        f.http
            .get(format!("{users}/alice"))
            .header("Authorization", &admin),
        f.http
            .get(format!("{users}/admin"))
            .header("Authorization", &admin),
    ];
    for c in calls {
        let r = c.send().await.unwrap();
        seen.push_str(&format!("{:?}\n", r.headers()));
        seen.push_str(&r.text().await.unwrap());
    }
    assert_eq!(
        f.login("alice", secrets[1]).await.status(),
        200,
        "the calls really happened"
    );

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("login failed"),
        "logs were captured: {logged}"
    );
    assert!(logged.contains("account created"), "{logged}");
    for s in secrets {
        assert!(!logged.contains(s), "a password was logged");
        assert!(!seen.contains(s), "a password was returned");
    }
    assert!(!seen.contains("argon2"), "no hash is returned");
    assert!(!logged.contains("argon2"), "no hash is logged");
}
