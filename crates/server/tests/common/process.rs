//! The real binaries as child processes, for tests of what only a running
//! server shows (its listener, several processes on one database).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A binary of this workspace, built by `cargo build --workspace`.
pub fn binary(name: &str) -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/debug")
        .join(name);
    assert!(
        bin.exists(),
        "{} is missing: `cargo build --workspace` first",
        bin.display()
    );
    bin
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a child process when dropped, so a failing test leaves nothing behind.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sparecloud-server` on a fresh SQLite file in `dir` with extra `args`,
/// once it answers /health; its address is `127.0.0.1:port`.
pub fn start_sqlite_server(dir: &Path, args: &[&str]) -> (Process, u16) {
    spawn_sqlite_server(dir, args, None)
}

/// As [`start_sqlite_server`], with the server's info-level log (stdout and
/// stderr) written to `log`.
pub fn start_logged_sqlite_server(dir: &Path, args: &[&str], log: &Path) -> (Process, u16) {
    spawn_sqlite_server(dir, args, Some(log))
}

fn spawn_sqlite_server(dir: &Path, args: &[&str], log: Option<&Path>) -> (Process, u16) {
    let port = free_port();
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    let (stdout, stderr, level) = match log {
        Some(log) => {
            let file = std::fs::File::create(log).unwrap();
            (
                Stdio::from(file.try_clone().unwrap()),
                Stdio::from(file),
                "info",
            )
        }
        None => (Stdio::null(), Stdio::null(), "warn"),
    };
    let child = Command::new(binary("sparecloud-server"))
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .args(args)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("db.sqlite").display()),
        )
        .env("SPARECLOUD_DIST_DIR", &dist)
        .env("RUST_LOG", level)
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start a server");
    let process = Process(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read, Write};
            stream
                .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            if stream.read_to_string(&mut answer).is_ok() && answer.starts_with("HTTP/1.1 200") {
                return (process, port);
            }
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sends SIGTERM to the process (by its id) and waits for it to exit.
pub fn terminate(process: &mut Process) -> std::process::ExitStatus {
    let sent = Command::new("kill")
        .args(["-TERM", &process.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM");
    process.0.wait().unwrap()
}

/// A new, empty database on the PostgreSQL server of
/// `SPARECLOUD_TEST_POSTGRES_URL` (`make test`'s PostgreSQL pass); its URL.
pub async fn new_postgres_database() -> String {
    let admin_url = std::env::var("SPARECLOUD_TEST_POSTGRES_URL")
        .expect("SPARECLOUD_TEST_POSTGRES_URL: a PostgreSQL server to create a database on");
    super::fresh_postgres_database(&admin_url).await
}

/// `sparecloud-server` on `database_url` (heartbeats and billing every
/// second), serving `dist`; its base URL. Not waited for.
pub fn start_server(database_url: &str, dist: &Path) -> (Process, String) {
    start_server_on(database_url, dist, free_port())
}

/// As [`start_server`], on a given port (a restarted server keeps its address).
pub fn start_server_on(database_url: &str, dist: &Path, port: u16) -> (Process, String) {
    let child = Command::new(binary("sparecloud-server"))
        .args([
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--heartbeat-interval-secs",
            "1",
            "--billing-interval-secs",
            "1",
        ])
        .env("DATABASE_URL", database_url)
        .env("SPARECLOUD_DIST_DIR", dist)
        // localstripe, which `make test` started (STRIPE_API_BASE).
        .env("STRIPE_API_BASE", super::stripe_api_base())
        .env("STRIPE_SECRET_KEY", "sk_test_sparecloud")
        .env("STRIPE_PUBLISHABLE_KEY", "pk_test_sparecloud")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a server");
    (Process(child), format!("http://127.0.0.1:{port}"))
}

pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    let mut request = http.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A new account on `server`; its session token.
pub async fn sign_up(http: &reqwest::Client, server: &str, email: &str, roles: &[&str]) -> String {
    let (status, session) = call(http, reqwest::Method::POST, format!("{server}/api/v1/accounts"), None,
        Some(serde_json::json!({"email": email, "password": "correct horse battery", "display_name": "T", "roles": roles})), None).await;
    assert_eq!(status, 201, "{session}");
    session["token"].as_str().unwrap().to_owned()
}

/// A card saved for the buyer as the web app does it: a SetupIntent from
/// our API confirmed at localstripe (what Stripe.js does), then recorded.
/// The card's id.
pub async fn add_card(http: &reqwest::Client, server: &str, buyer: &str) -> String {
    use reqwest::Method;
    let (status, intent) = call(
        http,
        Method::POST,
        format!("{server}/api/v1/payment-methods/setup-intents"),
        Some(buyer),
        None,
        None,
    )
    .await;
    assert_eq!(status, 201, "{intent}");
    let setup_intent = intent["id"].as_str().unwrap();
    let (status, _) = call(http, Method::POST, format!("{}/v1/setup_intents/{setup_intent}/confirm", super::stripe_api_base()), None,
        Some(serde_json::json!({"key": "pk_test_sparecloud", "client_secret": intent["client_secret"],
                    "payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2039, "cvc": "123"}}})), None).await;
    assert_eq!(status, 200);
    let (status, card) = call(
        http,
        Method::POST,
        format!("{server}/api/v1/payment-methods"),
        Some(buyer),
        Some(serde_json::json!({"holder_name": "B", "setup_intent_id": setup_intent})),
        None,
    )
    .await;
    assert_eq!(status, 201, "{card}");
    card["id"].as_str().unwrap().to_owned()
}

/// A seller with a profile on `server` and one host of `capacity`
/// (`VCPU,RAM,DISK`) in eu-west-1a, run by the real agent (sim driver)
/// from `state_dir`; the seller's token and the running agent.
pub async fn seller_with_host(
    http: &reqwest::Client,
    server: &str,
    state_dir: &Path,
    capacity: &str,
) -> (String, Process) {
    use reqwest::Method;
    let seller = sign_up(http, server, "seller@example.com", &["seller"]).await;
    let (status, _) = call(http, Method::POST, format!("{server}/api/v1/seller/profile"), Some(&seller),
        Some(serde_json::json!({"company_name": "Twin Racks", "country": "DE", "payout_reference": "DE89", "default_sla_tier": "gold"})), None).await;
    assert_eq!(status, 200);
    let (status, token) = call(
        http,
        Method::POST,
        format!("{server}/api/v1/seller/install-tokens"),
        Some(&seller),
        Some(serde_json::json!({"label": "rack", "zone": "eu-west-1a"})),
        None,
    )
    .await;
    assert_eq!(status, 201, "{token}");
    let register = Command::new(binary("sparecloud-agent"))
        .args([
            "register",
            "--driver",
            "sim",
            "--api",
            server,
            "--token",
            token["secret"].as_str().unwrap(),
            "--capacity",
            capacity,
        ])
        .env("SPARECLOUD_AGENT_STATE_DIR", state_dir)
        .output()
        .unwrap();
    assert!(
        register.status.success(),
        "{}",
        String::from_utf8_lossy(&register.stderr)
    );
    let agent = Process(
        Command::new(binary("sparecloud-agent"))
            .args(["run", "--sim-boot-secs", "1"])
            .env("SPARECLOUD_AGENT_STATE_DIR", state_dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    (seller, agent)
}

/// A `dist/` with an index page, for servers started by tests.
pub fn test_dist(dir: &Path) -> PathBuf {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    dist
}

/// Waits until the server at `url` answers /health.
pub async fn wait_healthy(http: &reqwest::Client, url: &str) {
    wait_until(&format!("{url} is up"), Duration::from_secs(30), || {
        let http = http.clone();
        let health = format!("{url}/api/v1/health");
        async move {
            http.get(health)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
}
