//! Figures for the app scheduler (docs/bench-marathon-api.md), as an ignored test because it
//! starts 1,000+ real processes:
//! `cargo test -p dcos-e2e --test marathon_bench -- --ignored --nocapture`
//! 1. one app scaled from nothing to 1,000 instances on 3 agents;
//! 2. a rolling restart of 100 instances;
//! 3. 1,000 one-instance apps (POST rate, time until all run);
//! 4. p50/p99 of `GET /v2/apps` with 1,000 apps under 32 concurrent clients.

use dcos_e2e::{wait_until, Cluster};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const M: &str = "/marathon/v2";

fn agent(i: usize) -> Vec<String> {
    let base = 20000 + i as u32 * 2000;
    vec![
        "--resources".into(),
        format!(
            "cpus:64;mem:65536;disk:65536;ports:[{base}-{}]",
            base + 1999
        ),
        "--attributes".into(),
        format!("rack:r{i}"),
    ]
}

fn running(c: &Cluster) -> (u64, usize) {
    let (_, v) = c.get(&format!("{M}/apps"));
    let apps = v["apps"].as_array().cloned().unwrap_or_default();
    let n = apps
        .iter()
        .map(|a| a["tasksRunning"].as_u64().unwrap_or(0))
        .sum();
    let (_, d) = c.get(&format!("{M}/deployments"));
    (n, d.as_array().map(Vec::len).unwrap_or(0))
}

fn wait_running(c: &Cluster, n: u64, what: &str) -> Duration {
    let t0 = Instant::now();
    wait_until(Duration::from_secs(900), what, || {
        let (r, d) = running(c);
        (r == n && d == 0).then_some(())
    });
    t0.elapsed()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[test]
#[ignore]
fn marathon_api_figures() {
    let mut c = Cluster::start(0, &[]);
    for i in 0..3 {
        c.add_agent(&agent(i));
    }
    c.wait_agents(3);
    let small = json!({"cmd": "sleep 100000", "cpus": 0.01, "mem": 1});

    // 1. one app to 1,000 instances
    let mut app = small.clone();
    app["id"] = json!("/big");
    app["instances"] = json!(1000);
    let t0 = Instant::now();
    let (s, v) = c.post_json(&format!("{M}/apps"), &app);
    assert_eq!(s, 201, "{v}");
    wait_running(&c, 1000, "1,000 instances");
    let scale_up = t0.elapsed();
    println!(
        "one app to 1000 instances on 3 agents: {:.1} s",
        scale_up.as_secs_f64()
    );

    // 2. scale down to 100, then a rolling restart of 100
    let t0 = Instant::now();
    let (s, v) = c.send(
        "PUT",
        &format!("{M}/apps/big"),
        &json!({"instances": 100}).to_string(),
    );
    assert_eq!(s, 200, "{v}");
    wait_running(&c, 100, "scale down to 100");
    println!(
        "scale down 1000 -> 100: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let t0 = Instant::now();
    let (s, v) = c.send("POST", &format!("{M}/apps/big/restart"), "");
    assert_eq!(s, 200, "{v}");
    wait_until(Duration::from_secs(600), "the restart", || {
        let (_, d) = c.get(&format!("{M}/deployments"));
        (d == json!([])).then_some(())
    });
    println!(
        "rolling restart of 100 instances: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let (s, _) = c.send("DELETE", &format!("{M}/apps/big"), "");
    assert_eq!(s, 200);
    wait_running(&c, 0, "the big app gone");
    wait_until(Duration::from_secs(300), "no tasks left", || {
        let (_, v) = c.get(&format!("{M}/tasks"));
        (v["tasks"] == json!([])).then_some(())
    });

    // 3. 1,000 one-instance apps
    let t0 = Instant::now();
    let mut posts = Vec::with_capacity(1000);
    for i in 0..1000 {
        let mut a = small.clone();
        a["id"] = json!(format!("/many/app-{i:04}"));
        let p0 = Instant::now();
        let (s, v) = c.post_json(&format!("{M}/apps"), &a);
        assert_eq!(s, 201, "{v}");
        posts.push(p0.elapsed());
    }
    let posted = t0.elapsed();
    wait_running(&c, 1000, "1,000 apps running");
    let all = t0.elapsed();
    posts.sort();
    println!(
        "1000 one-instance apps: all POSTed in {:.1} s (POST p50 {:.1} ms, p99 {:.1} ms), all running after {:.1} s",
        posted.as_secs_f64(),
        pct(&posts, 0.5).as_secs_f64() * 1e3,
        pct(&posts, 0.99).as_secs_f64() * 1e3,
        all.as_secs_f64()
    );

    // 4. GET /v2/apps with 1,000 apps, 32 concurrent clients
    let url = c.url(&format!("{M}/apps"));
    let t0 = Instant::now();
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let http = c.http.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                let mut lat = Vec::new();
                for _ in 0..20 {
                    let r0 = Instant::now();
                    let r = http.get(&url).send().expect("GET /v2/apps");
                    assert_eq!(r.status().as_u16(), 200);
                    let v: Value = r.json().expect("json");
                    assert_eq!(v["apps"].as_array().map(Vec::len), Some(1000));
                    lat.push(r0.elapsed());
                }
                lat
            })
        })
        .collect();
    let mut lat: Vec<Duration> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("client thread"))
        .collect();
    let wall = t0.elapsed();
    lat.sort();
    println!(
        "GET /v2/apps, 1000 apps, 32 clients, {} requests: p50 {:.1} ms, p99 {:.1} ms, {:.0} req/s",
        lat.len(),
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat.len() as f64 / wall.as_secs_f64()
    );
    let (s, _) = c.send("DELETE", &format!("{M}/groups/many"), "");
    assert_eq!(s, 200);
    wait_until(Duration::from_secs(300), "all tasks gone", || {
        let (_, v) = c.get(&format!("{M}/tasks"));
        (v["tasks"] == json!([])).then_some(())
    });
}
