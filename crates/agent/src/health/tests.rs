use super::*;
use serde_json::json;

#[test]
fn parses_marathon_health_checks_with_defaults() {
    let (hc, p) =
        HealthCheck::parse(0, &json!({"protocol": "HTTP", "path": "/ping"}), &[31000]).unwrap();
    assert_eq!(
        p,
        Probe::Http {
            url: "http://127.0.0.1:31000/ping".into()
        }
    );
    assert_eq!(hc.grace_period_seconds, 300.0);
    assert_eq!(hc.interval_seconds, 60.0);
    assert_eq!(hc.max_consecutive_failures, 3);
    let (_, p) = HealthCheck::parse(
        0,
        &json!({"protocol": "MESOS_TCP", "portIndex": 1}),
        &[1, 2],
    )
    .unwrap();
    assert_eq!(p, Probe::Tcp { port: 2 });
    let (_, p) = HealthCheck::parse(
        0,
        &json!({"protocol": "HTTPS", "port": 8443, "path": "x"}),
        &[],
    )
    .unwrap();
    assert_eq!(
        p,
        Probe::Http {
            url: "https://127.0.0.1:8443/x".into()
        }
    );
    let (_, p) = HealthCheck::parse(
        0,
        &json!({"protocol": "COMMAND", "command": {"value": "true"}}),
        &[],
    )
    .unwrap();
    assert_eq!(
        p,
        Probe::Command {
            value: "true".into()
        }
    );
}

#[test]
fn refuses_checks_that_cannot_run() {
    let e = |v: serde_json::Value| HealthCheck::parse(2, &v, &[31000]).unwrap_err().to_string();
    assert!(e(json!({"protocol": "HTTP", "portIndex": 3})).contains("portIndex 3"));
    assert!(e(json!({"protocol": "UDP"})).contains("UDP"));
    assert!(e(json!({"protocol": "COMMAND"})).contains("command.value"));
    assert!(e(json!({"protocol": "TCP", "intervalSeconds": -1})).contains("intervalSeconds"));
    assert!(e(json!({"protocol": 5})).starts_with("health check 2"));
}

#[test]
fn verdicts_follow_grace_period_and_consecutive_failures() {
    let (hc, _) = HealthCheck::parse(
        0,
        &json!({"protocol": "TCP", "gracePeriodSeconds": 10, "maxConsecutiveFailures": 2}),
        &[1],
    )
    .unwrap();
    let s = Duration::from_secs;
    let mut st = CheckState::default();
    // Failures inside the grace period before any success do not count.
    assert_eq!(st.record(false, &hc, s(1)), None);
    assert_eq!(st.consecutive_failures, 0);
    assert_eq!(st.record(true, &hc, s(2)), Some(true));
    assert_eq!(st.record(true, &hc, s(3)), None, "no repeated verdicts");
    // After a success the grace period no longer protects; 2 failures in a row are needed.
    assert_eq!(st.record(false, &hc, s(4)), None);
    assert_eq!(st.record(false, &hc, s(5)), Some(false));
    assert_eq!(st.record(false, &hc, s(6)), None);
    assert_eq!(st.record(true, &hc, s(7)), Some(true));
    // Past the grace period failures count even without a success.
    let mut late = CheckState::default();
    assert_eq!(late.record(false, &hc, s(11)), None);
    assert_eq!(late.record(false, &hc, s(12)), Some(false));
}

#[tokio::test]
async fn probes_report_success_and_failure() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            if let Ok((mut s, _)) = l.accept().await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 1024];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let status = if req.starts_with("GET /ok") {
                    "200 OK"
                } else {
                    "500 Oops"
                };
                let _ = s
                    .write_all(
                        format!(
                            "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        )
                        .as_bytes(),
                    )
                    .await;
            }
        }
    });
    let t = Duration::from_secs(5);
    let ok = Probe::Http {
        url: format!("http://127.0.0.1:{port}/ok"),
    };
    assert_eq!(probe(&ok, t, None).await, Ok(()));
    let bad = Probe::Http {
        url: format!("http://127.0.0.1:{port}/bad"),
    };
    assert!(probe(&bad, t, None).await.unwrap_err().contains("HTTP 500"));
    assert_eq!(probe(&Probe::Tcp { port }, t, None).await, Ok(()));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    assert!(probe(&Probe::Tcp { port: closed }, t, None).await.is_err());
    assert_eq!(
        probe(
            &Probe::Command {
                value: "exit 0".into()
            },
            t,
            None
        )
        .await,
        Ok(())
    );
    assert!(probe(
        &Probe::Command {
            value: "exit 4".into()
        },
        t,
        None
    )
    .await
    .is_err());
    let slow = Probe::Command {
        value: "sleep 5".into(),
    };
    assert!(probe(&slow, Duration::from_millis(200), None)
        .await
        .unwrap_err()
        .contains("timed out"));
}
