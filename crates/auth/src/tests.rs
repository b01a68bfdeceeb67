//! Unit tests of the pure parts and the SQLite store.

use crate::accounts::*;
use crate::clock::{Clock, ManualClock};
use crate::middleware::*;
use crate::password::*;
use crate::throttle::*;
use crate::tokens::*;
use axum::http::{HeaderMap, HeaderValue};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn keys() -> &'static (TokenKeys, String) {
    static K: OnceLock<(TokenKeys, String)> = OnceLock::new();
    K.get_or_init(|| TokenKeys::generate().expect("keygen"))
}

fn other_keys() -> &'static TokenKeys {
    static K: OnceLock<TokenKeys> = OnceLock::new();
    K.get_or_init(|| TokenKeys::generate().expect("keygen").0)
}

fn issuer(clock: Arc<ManualClock>, lifetime: Duration) -> TokenIssuer {
    TokenIssuer::new(keys().0.clone(), lifetime, clock)
}

#[test]
fn throttle_blocks_after_free_failures_and_doubles() {
    let p = ThrottlePolicy {
        free_failures: 3,
        base_delay: Duration::from_secs(2),
        ..Default::default()
    };
    let mut t = LoginThrottle::new(p);
    let t0 = Duration::from_secs(1_000_000);
    for _ in 0..3 {
        assert_eq!(t.check("uid:a", t0), Ok(()));
        assert_eq!(t.record_failure("uid:a", t0), Duration::ZERO);
    }
    assert_eq!(t.record_failure("uid:a", t0), Duration::from_secs(2));
    assert_eq!(t.check("uid:a", t0), Err(Duration::from_secs(2)));
    assert_eq!(t.check("uid:b", t0), Ok(()), "other keys are not affected");
    let t1 = t0 + Duration::from_secs(2);
    assert_eq!(t.check("uid:a", t1), Ok(()));
    assert_eq!(t.record_failure("uid:a", t1), Duration::from_secs(4));
    assert_eq!(t.record_failure("uid:a", t1), Duration::from_secs(8));
    t.record_success("uid:a");
    assert_eq!(t.check("uid:a", t1), Ok(()));
    assert_eq!(
        t.record_failure("uid:a", t1),
        Duration::ZERO,
        "success resets the count"
    );
}

#[test]
fn throttle_forgets_after_window_and_caps_delay() {
    let p = ThrottlePolicy {
        free_failures: 1,
        window: Duration::from_secs(60),
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
        max_keys: 4,
    };
    let mut t = LoginThrottle::new(p);
    let t0 = Duration::from_secs(5_000);
    for _ in 0..40 {
        t.record_failure("k", t0);
    }
    assert_eq!(
        t.check("k", t0),
        Err(Duration::from_secs(10)),
        "capped at max_delay"
    );
    let later = t0 + Duration::from_secs(61);
    assert_eq!(
        t.record_failure("k", later),
        Duration::ZERO,
        "old failures forgotten"
    );
    for i in 0..50 {
        t.record_failure(&format!("ip:{i}"), later + Duration::from_secs(i));
    }
    assert!(t.len() <= 5, "bounded: {} keys", t.len());
}

#[test]
fn path_rules() {
    assert!(PathRule::any_matches(PUBLIC_PATHS, "/ping"));
    assert!(PathRule::any_matches(
        PUBLIC_PATHS,
        "/dcos-metadata/dcos-version.json"
    ));
    assert!(PathRule::any_matches(
        PUBLIC_PATHS,
        "/acs/api/v1/auth/login"
    ));
    assert!(!PathRule::any_matches(PUBLIC_PATHS, "/ping/x"));
    assert!(!PathRule::any_matches(PUBLIC_PATHS, "/pingx"));
    assert!(!PathRule::any_matches(
        PUBLIC_PATHS,
        "/dcos-metadata/../mesos/master/state"
    ));
    assert!(!PathRule::any_matches(PUBLIC_PATHS, "/acs/api/v1/users"));
    assert!(PathRule::any_matches(
        AGENT_PATHS,
        "/internal/v1/agents/register"
    ));
    assert!(!PathRule::any_matches(AGENT_PATHS, "/internal/v1/tasks"));
}

#[test]
fn authorization_header_forms() {
    let mut h = HeaderMap::new();
    assert_eq!(token_from_headers(&h), Err(AuthError::Missing));
    h.insert(
        "authorization",
        HeaderValue::from_static("token=abc.def.ghi"),
    );
    assert_eq!(token_from_headers(&h), Ok("abc.def.ghi"));
    h.insert(
        "authorization",
        HeaderValue::from_static("Bearer abc.def.ghi"),
    );
    assert_eq!(token_from_headers(&h), Ok("abc.def.ghi"));
    h.insert(
        "authorization",
        HeaderValue::from_static("bearer  abc.def.ghi "),
    );
    assert_eq!(token_from_headers(&h), Ok("abc.def.ghi"));
    h.insert(
        "authorization",
        HeaderValue::from_static("Basic YWRtaW46eA=="),
    );
    assert_eq!(token_from_headers(&h), Err(AuthError::BadHeader));
    h.insert("authorization", HeaderValue::from_static("token="));
    assert_eq!(token_from_headers(&h), Err(AuthError::Missing));
}

#[test]
fn join_token_compare() {
    let jt = JoinToken::new("s3cret-join-token");
    assert!(jt.matches(b"s3cret-join-token"));
    assert!(jt.matches(b"s3cret-join-token\n"));
    assert!(!jt.matches(b"s3cret-join-tokem"));
    assert!(!jt.matches(b""));
    let mut h = HeaderMap::new();
    assert_eq!(jt.check(&h), Err(JoinTokenError::Missing));
    h.insert("x-dcos-join-token", HeaderValue::from_static("nope"));
    assert_eq!(jt.check(&h), Err(JoinTokenError::Wrong));
    h.insert(
        "x-dcos-join-token",
        HeaderValue::from_static("s3cret-join-token"),
    );
    assert_eq!(jt.check(&h), Ok(()));
    assert!(!format!("{jt:?}").contains("s3cret"));
}

#[test]
fn password_hash_and_verify() {
    assert_eq!(check_policy("short"), Err(PasswordError::TooShort));
    assert_eq!(
        check_policy(&"x".repeat(MAX_PASSWORD_LEN + 1)),
        Err(PasswordError::TooLong)
    );
    let h = hash_password("correct horse").unwrap();
    assert!(h.as_str().starts_with("$argon2id$"), "argon2id PHC string");
    assert!(!h.as_str().contains("correct horse"));
    assert!(verify_password("correct horse", &h));
    assert!(!verify_password("correct horsf", &h));
    assert!(!verify_password(
        "correct horse",
        &PasswordHashString::from_stored("garbage".into())
    ));
    assert_eq!(format!("{h:?}"), "PasswordHashString(<redacted>)");
    let p = random_password(24);
    assert_eq!(p.len(), 24);
    assert_ne!(p, random_password(24));
}

#[test]
fn uid_validation() {
    for ok in ["admin", "alice.smith@example.com", "svc-1_a", "A"] {
        assert!(validate_uid(ok).is_ok(), "{ok}");
    }
    for bad in ["", "-x", ".x", "a b", "a/b", "é", &"a".repeat(97)] {
        assert!(validate_uid(bad).is_err(), "{bad}");
    }
}

#[test]
fn sqlite_store_crud_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("master.sqlite");
    {
        let mut s = SqliteAccountStore::open(&db).unwrap();
        let h = hash_password("password-1").unwrap();
        s.create(&Account {
            uid: "alice".into(),
            description: "A".into(),
            credential: Credential::Password(h.clone()),
        })
        .unwrap();
        let e = s.create(&Account {
            uid: "alice".into(),
            description: "".into(),
            credential: Credential::Password(h),
        });
        assert!(matches!(e, Err(AccountError::Exists(_))));
        let pem = generate_rsa_pem(2048).unwrap().1;
        s.create(&Account {
            uid: "svc".into(),
            description: "".into(),
            credential: Credential::PublicKey(pem),
        })
        .unwrap();
        let h2 = hash_password("password-2").unwrap();
        assert!(matches!(
            s.set_password_hash("svc", &h2),
            Err(AccountError::IsService(_))
        ));
        assert!(matches!(
            s.set_password_hash("bob", &h2),
            Err(AccountError::NotFound(_))
        ));
        s.set_password_hash("alice", &h2).unwrap();
        s.set_description("alice", "Alice").unwrap();
    }
    // Another connection to the same file (as when sharing the master's database) sees it all.
    let mut s = SqliteAccountStore::open(&db).unwrap();
    let all = s.list().unwrap();
    assert_eq!(
        all.iter().map(|a| a.uid.as_str()).collect::<Vec<_>>(),
        ["alice", "svc"]
    );
    let alice = s.get("alice").unwrap().unwrap();
    assert_eq!(alice.description, "Alice");
    match &alice.credential {
        Credential::Password(h) => {
            assert!(verify_password("password-2", h) && !verify_password("password-1", h))
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !format!("{alice:?}").contains("argon2"),
        "Debug hides the hash"
    );
    assert!(s.get("svc").unwrap().unwrap().is_service());
    s.delete("svc").unwrap();
    assert!(matches!(s.delete("svc"), Err(AccountError::NotFound(_))));
    // The tables are namespaced.
    let c = rusqlite::Connection::open(&db).unwrap();
    let names: Vec<String> = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(names.iter().all(|n| n.starts_with("auth_")), "{names:?}");
}

#[test]
fn bootstrap_returns_the_password_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.sqlite");
    let pw = {
        let mut s = SqliteAccountStore::open(&db).unwrap();
        let pw = bootstrap(&mut s)
            .unwrap()
            .expect("first start creates admin");
        assert_eq!(pw.len(), BOOTSTRAP_PASSWORD_LEN);
        assert_eq!(bootstrap(&mut s).unwrap(), None);
        pw
    };
    let mut s = SqliteAccountStore::open(&db).unwrap();
    assert_eq!(bootstrap(&mut s).unwrap(), None, "a restart prints nothing");
    let admin = s.get(BOOTSTRAP_UID).unwrap().unwrap();
    match &admin.credential {
        Credential::Password(h) => assert!(verify_password(&pw, h)),
        other => panic!("{other:?}"),
    }
    s.delete(BOOTSTRAP_UID).unwrap();
    assert_eq!(
        bootstrap(&mut s).unwrap(),
        None,
        "deleting admin does not re-create it"
    );
    assert!(s.get(BOOTSTRAP_UID).unwrap().is_none());
}

#[test]
fn tokens_issue_verify_and_expire() {
    let clock = Arc::new(ManualClock::starting_now());
    let iss = issuer(clock.clone(), Duration::from_secs(60));
    let t = iss.issue("alice").unwrap();
    let c = iss.verify(&t).unwrap();
    assert_eq!(c.uid, "alice");
    assert_eq!(c.exp, c.iat + 60);
    assert_eq!(c.iat, clock.now().as_secs());
    // The header says RS256.
    let header = jsonwebtoken::decode_header(&t).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    clock.advance(Duration::from_secs(61));
    assert_eq!(iss.verify(&t), Err(TokenError::Expired));
}

#[test]
fn tokens_default_lifetime_is_five_days() {
    let clock = Arc::new(ManualClock::starting_now());
    let iss = issuer(clock, DEFAULT_TOKEN_LIFETIME);
    let c = iss.verify(&iss.issue("a").unwrap()).unwrap();
    assert_eq!(c.exp - c.iat, 5 * 24 * 3600);
}

#[test]
fn tokens_rejected_with_distinct_errors() {
    let clock = Arc::new(ManualClock::starting_now());
    let iss = issuer(clock.clone(), Duration::from_secs(600));
    let foreign = TokenIssuer::new(
        other_keys().clone(),
        Duration::from_secs(600),
        clock.clone(),
    );
    let t = foreign.issue("alice").unwrap();
    assert_eq!(iss.verify(&t), Err(TokenError::BadSignature));
    assert!(matches!(
        iss.verify("not-a-token"),
        Err(TokenError::Malformed(_))
    ));
    assert!(matches!(iss.verify("a.b.c"), Err(TokenError::Malformed(_))));
    // A token whose payload was edited keeps its old signature: rejected.
    let good = iss.issue("alice").unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    use base64::Engine;
    let forged_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        r#"{{"uid":"admin","exp":{}}}"#,
        clock.now().as_secs() + 999
    ));
    let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
    assert_eq!(iss.verify(&forged), Err(TokenError::BadSignature));
    // HS256 signed with the public key as secret (algorithm confusion) and alg=none.
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::json!({"uid": "admin", "exp": clock.now().as_secs() + 999}),
        &jsonwebtoken::EncodingKey::from_secret(keys().0.public_pem().as_bytes()),
    )
    .unwrap();
    assert_eq!(iss.verify(&hs), Err(TokenError::WrongAlgorithm));
    let none_header =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    assert!(iss
        .verify(&format!("{none_header}.{forged_payload}."))
        .is_err());
    // Missing claims.
    let no_exp = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &serde_json::json!({"uid": "admin"}),
        &jsonwebtoken::EncodingKey::from_rsa_pem(keys().1.as_bytes()).unwrap(),
    )
    .unwrap();
    assert_eq!(iss.verify(&no_exp), Err(TokenError::MissingClaim("exp")));
}

#[test]
fn signing_key_persists_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.sqlite");
    let clock = Arc::new(ManualClock::starting_now());
    let token = {
        let mut s = SqliteAccountStore::open(&db).unwrap();
        let k = TokenKeys::load_or_generate(&mut s).unwrap();
        TokenIssuer::new(k, Duration::from_secs(60), clock.clone())
            .issue("alice")
            .unwrap()
    };
    let mut s = SqliteAccountStore::open(&db).unwrap();
    let k = TokenKeys::load_or_generate(&mut s).unwrap();
    let iss = TokenIssuer::new(k, Duration::from_secs(60), clock);
    assert_eq!(
        iss.verify(&token).unwrap().uid,
        "alice",
        "a restart keeps the key"
    );
}

#[test]
fn service_login_tokens() {
    let clock = Arc::new(ManualClock::starting_now());
    let iss = issuer(clock.clone(), Duration::from_secs(600));
    let (svc_private, svc_public) = (&keys().1, keys().0.public_pem().to_string());
    let exp = clock.now().as_secs() + 30;
    let t = sign_login_token(svc_private, "svc", exp).unwrap();
    assert_eq!(iss.verify_login_token(&t, &svc_public, "svc"), Ok(()));
    assert!(matches!(
        iss.verify_login_token(&t, &svc_public, "other"),
        Err(TokenError::UidMismatch { .. })
    ));
    assert_eq!(
        iss.verify_login_token(&t, other_keys().public_pem(), "svc"),
        Err(TokenError::BadSignature)
    );
    clock.advance(Duration::from_secs(30) + LOGIN_TOKEN_LEEWAY + Duration::from_secs(1));
    assert_eq!(
        iss.verify_login_token(&t, &svc_public, "svc"),
        Err(TokenError::Expired)
    );
}

#[test]
fn public_key_validation() {
    assert!(validate_public_key(keys().0.public_pem()).is_ok());
    assert!(matches!(
        validate_public_key("hello"),
        Err(AccountError::InvalidPublicKey(_))
    ));
    let small = generate_rsa_pem(1024).unwrap().1;
    assert!(
        matches!(validate_public_key(&small), Err(AccountError::InvalidPublicKey(m)) if m.contains("1024"))
    );
}
