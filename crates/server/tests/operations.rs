//! What an operator sees of a running server: Prometheus metrics on their
//! own address that move with traffic, and JSON request logs that carry the
//! request id (the caller's, or one made up and echoed) and never a
//! password or a token.

mod common;

use common::process::{free_port, start_logged_sqlite_server, terminate};

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The value of the metric line that starts with `series ` (name and
/// labels exactly as the exporter writes them), if there is one.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().expect("a number"))
}

async fn scrape(http: &reqwest::Client, metrics_url: &str) -> String {
    http.get(metrics_url)
        .send()
        .await
        .expect("the metrics listener answers")
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn metrics_are_served_apart_and_move_with_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let bind = format!("127.0.0.1:{metrics_port}");
    let agents = dir.path().join("agents");
    let (mut server, port) = start_logged_sqlite_server(
        dir.path(),
        &[
            "--metrics-bind",
            &bind,
            "--demo",
            "--demo-agents-dir",
            agents.to_str().unwrap(),
        ],
        &dir.path().join("server.log"),
    );
    let api = format!("http://127.0.0.1:{port}/api/v1");
    let metrics_url = format!("http://{bind}/metrics");
    let http = reqwest::Client::new();

    // The marketplace's gauges come from the database within seconds; a
    // job pass has run and been timed.
    let deadline = Instant::now() + Duration::from_secs(15);
    let metrics = loop {
        let metrics = scrape(&http, &metrics_url).await;
        if sample(&metrics, "sparecloud_hosts{status=\"offline\"}").is_some()
            && metrics.contains("sparecloud_job_runs_total{job=\"billing\",outcome=\"ok\"}")
        {
            break metrics;
        }
        assert!(
            Instant::now() < deadline,
            "no marketplace gauges:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The demo's hosts, online or offline (no agents run them here).
    let hosts = sample(&metrics, "sparecloud_hosts{status=\"offline\"}").unwrap()
        + sample(&metrics, "sparecloud_hosts{status=\"online\"}").unwrap();
    assert!(hosts >= 3.0, "{metrics}");
    assert!(sample(&metrics, "sparecloud_instances{status=\"running\"}").is_some());
    assert!(sample(&metrics, "sparecloud_db_pool_connections{state=\"idle\"}").is_some());
    assert!(metrics.contains("sparecloud_job_duration_seconds_bucket{job=\"quote_release\""));
    assert!(metrics.contains("# TYPE sparecloud_http_request_duration_seconds histogram"));

    // Three searches, then two: the counter moves by exactly what was sent,
    // labelled by the route's template and status.
    let searches =
        "sparecloud_http_requests_total{method=\"GET\",route=\"/api/v1/offers\",status=\"200\"}";
    for _ in 0..3 {
        assert!(
            http.get(format!("{api}/offers"))
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }
    let before = sample(&scrape(&http, &metrics_url).await, searches).expect("searches counted");
    for _ in 0..2 {
        http.get(format!("{api}/offers")).send().await.unwrap();
    }
    let (status, _) = (
        http.get(format!("{api}/orders/ord_nope"))
            .send()
            .await
            .unwrap()
            .status(),
        (),
    );
    assert_eq!(status, 401);
    http.get(format!("{api}/no/such/thing/{}", "x".repeat(20)))
        .send()
        .await
        .unwrap();
    let after = scrape(&http, &metrics_url).await;
    assert_eq!(sample(&after, searches), Some(before + 2.0));
    // A path's ids are not labels: the template is.
    assert_eq!(
        sample(
            &after,
            "sparecloud_http_requests_total{method=\"GET\",route=\"/api/v1/orders/{id}\",status=\"401\"}"
        ),
        Some(1.0),
        "{after}"
    );
    assert!(after.contains("route=\"/api/unmatched\",status=\"404\"}"));
    assert!(
        after.contains("sparecloud_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/offers\"}"),
        "{after}"
    );

    // Not on the public address.
    let public = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert!(
        !public
            .text()
            .await
            .unwrap()
            .contains("sparecloud_http_requests_total")
    );
    assert!(terminate(&mut server).success(), "clean exit on SIGTERM");
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let (mut server, port) =
        start_logged_sqlite_server(dir.path(), &["--log-format", "json"], &log);
    let api = format!("http://127.0.0.1:{port}/api/v1");
    let http = reqwest::Client::new();
    let password = "a passphrase nobody logs";

    let session: Value = http
        .post(format!("{api}/accounts"))
        .json(&json!({"email": "ops@example.com", "password": password, "display_name": "Ops", "roles": ["buyer"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let signed_in = http
        .post(format!("{api}/sessions"))
        .json(&json!({"email": "ops@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 201);
    let second_token = signed_in_token(signed_in).await;
    let token = session["token"].as_str().unwrap();
    let account_id = session["account"]["id"].as_str().unwrap();

    // The caller's id is kept and echoed.
    let me = http
        .get(format!("{api}/me"))
        .bearer_auth(token)
        .header("X-Request-Id", "checkout-7f3a.2")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["x-request-id"], "checkout-7f3a.2");
    // One that could forge a log line or is too long is replaced.
    let odd = http
        .get(format!("{api}/health"))
        .header("X-Request-Id", format!("{}<script>", "a".repeat(70)))
        .send()
        .await
        .unwrap();
    let made_up = odd.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        !made_up.contains('<') && made_up.len() < 40 && made_up.contains('-'),
        "{made_up}"
    );
    // None sent: one is made up.
    let plain = http.get(format!("{api}/offers")).send().await.unwrap();
    assert!(plain.headers().contains_key("x-request-id"));

    assert!(terminate(&mut server).success(), "clean exit on SIGTERM");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let request = |id: &str| {
        lines
            .iter()
            .find(|line| line["message"] == "request" && line["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no request line for {id} in:\n{text}"))
    };
    let line = request("checkout-7f3a.2");
    assert_eq!(line["status"], 200);
    assert_eq!(line["span"]["route"], "/api/v1/me");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["user_id"], account_id);
    assert!(line["latency_ms"].as_f64().is_some());
    assert_eq!(request(&made_up)["span"]["route"], "/api/v1/health");
    // Every request got its one line.
    for route in [
        "/api/v1/accounts",
        "/api/v1/sessions",
        "/api/v1/me",
        "/api/v1/offers",
    ] {
        let count = lines
            .iter()
            .filter(|line| line["message"] == "request" && line["span"]["route"] == route)
            .count();
        assert_eq!(count, 1, "{route} in:\n{text}");
    }

    assert!(!text.contains(password), "the password is in the log");
    assert!(!text.contains(token), "a session token is in the log");
    assert!(
        !text.contains(second_token.as_str()),
        "a session token is in the log"
    );
}

async fn signed_in_token(response: reqwest::Response) -> String {
    let session: Value = response.json().await.unwrap();
    session["token"].as_str().unwrap().to_owned()
}
