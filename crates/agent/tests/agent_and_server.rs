//! The real server binary on a free port with a fresh SQLite file, and the
//! real agent binary as separate processes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";

fn agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_sparecloud-agent")
}

/// The server binary: `cargo test --workspace` builds it for the server's
/// own integration tests; build it here when this crate is tested alone.
fn server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("SPARECLOUD_SERVER_BIN") {
        return bin.into();
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = workspace.join("target/debug/sparecloud-server");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--workspace", "--bins"])
            .current_dir(&workspace)
            .status()
            .expect("cargo build");
        assert!(status.success());
    }
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    url: String,
    port: u16,
    db: PathBuf,
}

impl Server {
    fn start(dir: &Path, port: u16) -> Server {
        let db = dir.join("sparecloud.db");
        let child = Command::new(server_bin())
            .args([
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--heartbeat-interval-secs",
                "1",
            ])
            .env("DATABASE_URL", format!("sqlite://{}", db.display()))
            .env("SPARECLOUD_DIST_DIR", dir.join("dist"))
            // localstripe, which `make test` started (STRIPE_API_BASE).
            .env("STRIPE_SECRET_KEY", "sk_test_sparecloud")
            .env("STRIPE_PUBLISHABLE_KEY", "pk_test_sparecloud")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            db,
        };
        wait_until(Duration::from_secs(30), "the server is healthy", || {
            reqwest::blocking_get(&format!("{}/api/v1/health", server.url)).is_some()
        });
        server
    }

    fn stop(&mut self) {
        terminate(&mut self.child);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGTERM, then wait.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

/// Tiny blocking HTTP helpers over reqwest's async client.
mod reqwest {
    pub use ::reqwest::*;

    pub fn runtime() -> &'static tokio::runtime::Runtime {
        static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
        RT.get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        })
    }

    pub fn blocking_get(url: &str) -> Option<serde_json::Value> {
        runtime().block_on(async {
            Client::new()
                .get(url)
                .send()
                .await
                .ok()?
                .error_for_status()
                .ok()?
                .json()
                .await
                .ok()
        })
    }
}

fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
    key: Option<&str>,
) -> (u16, Value) {
    reqwest::runtime().block_on(async {
        let client = ::reqwest::Client::new();
        let mut request = client.request(method.parse().unwrap(), url);
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
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    })
}

/// The agent's metrics, as Prometheus text.
fn scrape(url: &str) -> String {
    reqwest::runtime().block_on(async {
        ::reqwest::get(url)
            .await
            .expect("the agent serves metrics")
            .text()
            .await
            .unwrap()
    })
}

fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn agent(state_dir: &Path, args: &[&str]) -> Output {
    Command::new(agent_bin())
        .args(args)
        .env("SPARECLOUD_AGENT_STATE_DIR", state_dir)
        .output()
        .expect("run the agent")
}

fn start_agent(state_dir: &Path) -> Child {
    start_agent_with(state_dir, &[])
}

fn start_agent_with(state_dir: &Path, args: &[&str]) -> Child {
    Command::new(agent_bin())
        .args(["run", "--sim-boot-secs", "1"])
        .args(args)
        .env("SPARECLOUD_AGENT_STATE_DIR", state_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the agent")
}

struct Market {
    seller: String,
    buyer: String,
    card: String,
}

/// A seller with a profile, a buyer with a card.
fn market(url: &str) -> Market {
    let sign_up = |email: &str, role: &str| {
        let (status, body) = call(
            "POST",
            &format!("{url}/api/v1/accounts"),
            None,
            Some(
                json!({"email": email, "password": "correct horse battery", "display_name": "T", "roles": [role]}),
            ),
            None,
        );
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    };
    let seller = sign_up("seller@example.com", "seller");
    let (status, _) = call(
        "POST",
        &format!("{url}/api/v1/seller/profile"),
        Some(&seller),
        Some(
            json!({"company_name": "Rack & Co", "country": "NL", "payout_reference": "NL91ABNA0417164300", "default_sla_tier": "silver"}),
        ),
        None,
    );
    assert_eq!(status, 200);
    let buyer = sign_up("buyer@example.com", "buyer");
    let (status, intent) = call(
        "POST",
        &format!("{url}/api/v1/payment-methods/setup-intents"),
        Some(&buyer),
        None,
        None,
    );
    assert_eq!(status, 201, "{intent}");
    // What Stripe.js does with the card, at localstripe.
    let stripe = std::env::var("STRIPE_API_BASE")
        .expect("STRIPE_API_BASE: run through `scripts/localstripe.sh run`, as `make test` does");
    let setup_intent = intent["id"].as_str().unwrap();
    let (status, _) = call(
        "POST",
        &format!("{stripe}/v1/setup_intents/{setup_intent}/confirm"),
        None,
        Some(
            json!({"key": "pk_test_sparecloud", "client_secret": intent["client_secret"],
                    "payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2031, "cvc": "123"}}}),
        ),
        None,
    );
    assert_eq!(status, 200);
    let (status, card) = call(
        "POST",
        &format!("{url}/api/v1/payment-methods"),
        Some(&buyer),
        Some(json!({"holder_name": "Ada", "setup_intent_id": setup_intent})),
        None,
    );
    assert_eq!(status, 201, "{card}");
    Market {
        seller,
        buyer,
        card: card["id"].as_str().unwrap().to_owned(),
    }
}

fn install_token(url: &str, seller: &str) -> (String, String) {
    let (status, body) = call(
        "POST",
        &format!("{url}/api/v1/seller/install-tokens"),
        Some(seller),
        Some(json!({"label": "test host", "zone": "eu-west-1a"})),
        None,
    );
    assert_eq!(status, 201);
    (
        body["secret"].as_str().unwrap().to_owned(),
        body["install_token"]["id"].as_str().unwrap().to_owned(),
    )
}

fn hosts(url: &str, seller: &str) -> Value {
    call(
        "GET",
        &format!("{url}/api/v1/seller/hosts"),
        Some(seller),
        None,
        None,
    )
    .1
}

fn instance(url: &str, buyer: &str, id: &str) -> Value {
    call(
        "GET",
        &format!("{url}/api/v1/instances/{id}"),
        Some(buyer),
        None,
        None,
    )
    .1
}

/// Offers s1.small and buys one; returns the instance id.
fn buy_small(url: &str, m: &Market, key: &str) -> String {
    let (status, offers) = call(
        "GET",
        &format!("{url}/api/v1/seller/offers"),
        Some(&m.seller),
        None,
        None,
    );
    assert_eq!(status, 200);
    let offer_id = match offers.as_array().and_then(|o| o.first()) {
        Some(offer) => offer["id"].as_str().unwrap().to_owned(),
        None => {
            let (status, offer) = call(
                "POST",
                &format!("{url}/api/v1/seller/offers"),
                Some(&m.seller),
                Some(
                    json!({"zone": "eu-west-1a", "sla_tier": "silver", "prices": [{"flavor_id": "s1.small", "hourly_cents": 12}]}),
                ),
                None,
            );
            assert_eq!(status, 201, "{offer}");
            offer["id"].as_str().unwrap().to_owned()
        }
    };
    let (status, quote) = call(
        "POST",
        &format!("{url}/api/v1/quotes"),
        Some(&m.buyer),
        Some(
            json!({"offer_id": offer_id, "image_id": "debian-12", "sla_tier": "bronze", "flavor_id": "s1.small", "count": 1}),
        ),
        None,
    );
    assert_eq!(status, 201, "{quote}");
    let (status, order) = call(
        "POST",
        &format!("{url}/api/v1/orders"),
        Some(&m.buyer),
        Some(
            json!({"quote_id": quote["id"], "payment_method_id": m.card, "ssh_public_key": SSH_KEY}),
        ),
        Some(key),
    );
    assert_eq!(status, 201, "{order}");
    order["instances"][0]["id"].as_str().unwrap().to_owned()
}

fn machine_vcpu() -> u64 {
    std::thread::available_parallelism().unwrap().get() as u64
}

fn machine_ram_gib() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024 / (1024 * 1024 * 1024)
}

#[test]
fn register_run_order_terminate_and_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("agent");
    let mut server = Server::start(dir.path(), free_port());
    let url = server.url.clone();
    let m = market(&url);

    // Register with a fresh token: the host is online with this machine's capacity.
    let (token, _) = install_token(&url, &m.seller);
    // Cores and memory are the machine's; the disk for sale is declared, so
    // that the order below fits however little free disk this machine has.
    let out = agent(
        &state_dir,
        &[
            "register",
            "--driver",
            "sim",
            "--api",
            &url,
            "--token",
            &token,
            "--disk-gib",
            "100",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Registered host"));
    let host = &hosts(&url, &m.seller)[0];
    assert_eq!(host["status"], "online");
    assert_eq!(host["zone"], "eu-west-1a");
    assert_eq!(
        host["capacity"]["vcpu"].as_u64().unwrap(),
        machine_vcpu() - 1,
        "cores minus the 1-core reserve"
    );
    assert_eq!(
        host["capacity"]["ram_gib"].as_u64().unwrap(),
        machine_ram_gib() - 2,
        "memory minus the 2 GiB reserve"
    );
    assert_eq!(host["capacity"]["disk_gib"], 100, "the declared disk");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state_dir.join("host.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the credential file is private");
    }

    // The same token again is refused, with the reason.
    let again = agent(
        &dir.path().join("other"),
        &[
            "register",
            "--driver",
            "sim",
            "--api",
            &url,
            "--token",
            &token,
            "--disk-gib",
            "100",
        ],
    );
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already registered a host"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // A buyer's order goes provisioning → running.
    let mut agent_process = start_agent(&state_dir);
    let id = buy_small(&url, &m, "order-1");
    wait_until(Duration::from_secs(30), "the instance runs", || {
        instance(&url, &m.buyer, &id)["instance"]["status"] == "running"
    });
    let detail = instance(&url, &m.buyer, &id);
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "provisioning", "running"]);
    assert!(
        detail["instance"]["address"]
            .as_str()
            .unwrap()
            .starts_with("198.51.100.")
    );
    let status = agent(&state_dir, &["status"]);
    let shown = String::from_utf8_lossy(&status.stdout);
    assert!(shown.contains(&id) && shown.contains("Running"), "{shown}");

    // The agent killed: the host goes offline after three missed heartbeats.
    agent_process.kill().unwrap();
    agent_process.wait().unwrap();
    wait_until(Duration::from_secs(15), "the host is offline", || {
        hosts(&url, &m.seller)[0]["status"] == "offline"
    });
    // Restarted (serving its metrics): online again, with the same instance
    // still running (not recreated).
    let metrics = format!("http://127.0.0.1:{}/metrics", free_port());
    let bind = metrics
        .trim_start_matches("http://")
        .trim_end_matches("/metrics");
    let mut agent_process = start_agent_with(&state_dir, &["--metrics-bind", bind]);
    wait_until(Duration::from_secs(15), "the host is back", || {
        hosts(&url, &m.seller)[0]["status"] == "online"
    });
    std::thread::sleep(Duration::from_secs(2));
    let scraped = scrape(&metrics);
    assert!(
        scraped.contains("sparecloud_agent_vms{state=\"running\"} 1\n"),
        "{scraped}"
    );
    assert!(scraped.contains("sparecloud_agent_vms{state=\"provisioning\"} 0\n"));
    assert!(scraped.contains("sparecloud_agent_reconcile_duration_seconds_count"));
    let detail = instance(&url, &m.buyer, &id);
    assert_eq!(detail["instance"]["status"], "running");
    assert_eq!(
        detail["events"].as_array().unwrap().len(),
        3,
        "no new provisioning: {detail}"
    );

    // The server restarted under the running agent: it reconnects by itself.
    server.stop();
    std::thread::sleep(Duration::from_secs(3));
    let port = server.port;
    let db = server.db.clone();
    drop(server);
    let server = Server::start(dir.path(), port);
    assert_eq!(server.db, db);
    let before = hosts(&url, &m.seller)[0]["last_heartbeat_at"].clone();
    wait_until(
        Duration::from_secs(70),
        "the agent heartbeats again",
        || {
            let host = &hosts(&url, &m.seller)[0];
            host["status"] == "online" && host["last_heartbeat_at"] != before
        },
    );
    assert!(
        agent_process.try_wait().unwrap().is_none(),
        "the same agent process"
    );
    let failures = scrape(&metrics)
        .lines()
        .find_map(|line| line.strip_prefix("sparecloud_agent_heartbeat_failures_total "))
        .map(|n| n.parse::<f64>().unwrap());
    assert!(
        failures >= Some(1.0),
        "heartbeats failed while the server was down: {failures:?}"
    );

    // Terminate: terminated, and the capacity is free again.
    let (status, _) = call(
        "POST",
        &format!("{url}/api/v1/instances/{id}/terminate"),
        Some(&m.buyer),
        None,
        None,
    );
    assert_eq!(status, 200);
    wait_until(
        Duration::from_secs(20),
        "the instance is terminated",
        || instance(&url, &m.buyer, &id)["instance"]["status"] == "terminated",
    );
    let host = &hosts(&url, &m.seller)[0];
    assert_eq!(
        host["allocated"],
        json!({"vcpu": 0, "ram_gib": 0, "disk_gib": 0})
    );
    assert_eq!(host["instances"], 0);

    terminate(&mut agent_process);
    assert!(
        agent_process.wait().unwrap().success(),
        "SIGTERM stops the agent cleanly"
    );
}

#[test]
fn refused_tokens_and_an_unreachable_api_give_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), free_port());
    let url = server.url.clone();
    let m = market(&url);

    let (token, token_id) = install_token(&url, &m.seller);
    let (status, _) = call(
        "DELETE",
        &format!("{url}/api/v1/seller/install-tokens/{token_id}"),
        Some(&m.seller),
        None,
        None,
    );
    assert_eq!(status, 200);
    let out = agent(
        &dir.path().join("a"),
        &[
            "register",
            "--driver",
            "sim",
            "--api",
            &url,
            "--token",
            &token,
            "--disk-gib",
            "100",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("revoked"), "{stderr}");
    assert!(!dir.path().join("a/host.json").exists());

    let out = agent(
        &dir.path().join("b"),
        &[
            "register",
            "--driver",
            "sim",
            "--api",
            &url,
            "--token",
            "sc_it_made_up",
            "--disk-gib",
            "100",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    let closed = format!("http://127.0.0.1:{}", free_port());
    let out = agent(
        &dir.path().join("c"),
        &[
            "register",
            "--driver",
            "sim",
            "--api",
            &closed,
            "--token",
            &token,
            "--disk-gib",
            "100",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach the Sparecloud API"),
        "{stderr}"
    );

    let out = agent(&dir.path().join("never"), &["run"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not registered yet"));
}

#[test]
fn the_install_command_shown_to_the_seller_works_as_shown() {
    let dir = tempfile::tempdir().unwrap();
    // The command registers a real (qemu) host: QEMU's unprivileged user
    // must be able to enter the agent's directories.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let server = Server::start(dir.path(), free_port());
    let url = server.url.clone();
    let m = market(&url);
    let (status, created) = call(
        "POST",
        &format!("{url}/api/v1/seller/install-tokens"),
        Some(&m.seller),
        Some(json!({"label": "copied", "zone": "eu-west-1a"})),
        None,
    );
    assert_eq!(status, 201);
    let command = created["install_command"].as_str().unwrap();
    assert!(command.contains(&format!("--api {url} ")), "{command}");

    // Run the text as a seller would paste it, with the built agent on PATH.
    let bin_dir = Path::new(agent_bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut shell = Command::new("sh")
        // `exec` for the last command only, so that killing the shell stops the agent.
        .args([
            "-c",
            &command.replace("&& sparecloud-agent run", "&& exec sparecloud-agent run"),
        ])
        .env("PATH", path)
        .env("SPARECLOUD_AGENT_STATE_DIR", dir.path().join("agent"))
        // Not a flag, so the command runs as shown; without it, a machine
        // with less than the 20 GiB disk reserve free has nothing to sell.
        .env("SPARECLOUD_AGENT_DISK_GIB", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(20), "the host registers", || {
        hosts(&url, &m.seller)
            .as_array()
            .is_some_and(|h| h.len() == 1)
    });
    let registered_at = hosts(&url, &m.seller)[0]["registered_at"].clone();
    wait_until(
        Duration::from_secs(20),
        "the agent heartbeats after registering",
        || {
            let host = &hosts(&url, &m.seller)[0];
            host["status"] == "online" && host["last_heartbeat_at"] != registered_at
        },
    );
    let tokens = call(
        "GET",
        &format!("{url}/api/v1/seller/install-tokens"),
        Some(&m.seller),
        None,
        None,
    )
    .1;
    assert_eq!(tokens[0]["status"], "used");
    let _ = shell.kill();
    let _ = shell.wait();
}

#[test]
fn registering_a_real_host_checks_it_first_and_keeps_the_token_when_it_cannot_run_machines() {
    // A state directory QEMU's unprivileged user cannot enter: something
    // this host lacks.
    let dir = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let server = Server::start(dir.path(), free_port());
    let url = server.url.clone();
    let m = market(&url);
    let (token, _) = install_token(&url, &m.seller);
    let out = agent(
        &dir.path().join("agent"),
        &["register", "--api", &url, "--token", &token],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot run virtual machines yet")
            && stderr.contains("cannot enter")
            && stderr.contains("chmod o+x"),
        "{stderr}"
    );
    assert!(!dir.path().join("agent/host.json").exists());
    let tokens = call(
        "GET",
        &format!("{url}/api/v1/seller/install-tokens"),
        Some(&m.seller),
        None,
        None,
    )
    .1;
    assert_ne!(tokens[0]["status"], "used", "the token is not spent");
    assert!(hosts(&url, &m.seller).as_array().unwrap().is_empty());
}
