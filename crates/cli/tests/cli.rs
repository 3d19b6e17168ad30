//! The real `sparecloud` binary against the real server (with the demo
//! market, payments at localstripe): the whole buy path with `--json`
//! output parsed, scoped and revoked keys refused, an order whose answer
//! is lost on the way placed once when the command is run again, and every
//! command's `--help`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SSH_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ada@laptop";

fn binary(name: &str) -> PathBuf {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn stripe_api_base() -> String {
    std::env::var("STRIPE_API_BASE").expect(
        "STRIPE_API_BASE: run through `scripts/localstripe.sh run cargo test`, as `make test` does",
    )
}

/// The server with the demo market on a fresh SQLite file; killed (by its
/// id) when dropped.
struct Server {
    child: Child,
    url: String,
    dir: tempfile::TempDir,
    agents: Vec<Child>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for agent in &mut self.agents {
            let _ = agent.kill();
            let _ = agent.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The demo hosts' agents (simulated machines), so orders run.
    fn start_agents(&mut self) {
        for host in std::fs::read_dir(self.dir.path().join("agents")).unwrap() {
            let agent = Command::new(binary("sparecloud-agent"))
                .args(["run", "--sim-boot-secs", "1"])
                .env("SPARECLOUD_AGENT_STATE_DIR", host.unwrap().path())
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            self.agents.push(agent);
        }
    }
}

fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let dist = dir.path().join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    let child = Command::new(binary("sparecloud-server"))
        .args([
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--demo",
            "--public-url",
        ])
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--demo-agents-dir")
        .arg(dir.path().join("agents"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("db.sqlite").display()),
        )
        .env("SPARECLOUD_DIST_DIR", &dist)
        .env("STRIPE_API_BASE", stripe_api_base())
        .env("STRIPE_SECRET_KEY", "sk_test_sparecloud")
        .env("STRIPE_PUBLISHABLE_KEY", "pk_test_sparecloud")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
        dir,
        agents: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while call("GET", &format!("{}/api/v1/ready", server.url), None, None).0 != 200 {
        assert!(Instant::now() < deadline, "the server did not get ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

fn call(method: &str, url: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new().request(method.parse().unwrap(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    })
}

/// The demo buyer signed in, with a card saved as the web app saves one;
/// the session token.
fn demo_buyer_with_card(server: &Server) -> String {
    let url = &server.url;
    let (status, session) = call(
        "POST",
        &format!("{url}/api/v1/sessions"),
        None,
        Some(json!({"email": "buyer@demo.sparecloud.dev", "password": "demo-password-1"})),
    );
    assert_eq!(status, 201, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    let (_, intent) = call(
        "POST",
        &format!("{url}/api/v1/payment-methods/setup-intents"),
        Some(&token),
        None,
    );
    let (status, _) = call(
        "POST",
        &format!(
            "{}/v1/setup_intents/{}/confirm",
            stripe_api_base(),
            intent["id"].as_str().unwrap()
        ),
        None,
        Some(
            json!({"key": "pk_test_sparecloud", "client_secret": intent["client_secret"],
                    "payment_method_data": {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2039, "cvc": "123"}}}),
        ),
    );
    assert_eq!(status, 200);
    let (status, card) = call(
        "POST",
        &format!("{url}/api/v1/payment-methods"),
        Some(&token),
        Some(json!({"holder_name": "Demo Buyer", "setup_intent_id": intent["id"]})),
    );
    assert_eq!(status, 201, "{card}");
    token
}

fn api_key(server: &Server, session: &str, scope: &str) -> (String, String) {
    let (status, key) = call(
        "POST",
        &format!("{}/api/v1/api-keys", server.url),
        Some(session),
        Some(json!({"name": format!("cli {scope}"), "scope": scope})),
    );
    assert_eq!(status, 201, "{key}");
    (
        key["key"]["id"].as_str().unwrap().to_owned(),
        key["secret"].as_str().unwrap().to_owned(),
    )
}

/// Runs `sparecloud` with its home in the server's directory, against
/// `api`, with no key but what `env` or the saved config give.
fn sparecloud(server: &Server, api: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(binary("sparecloud"));
    command
        .args(args)
        .env("HOME", server.dir.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("SPARECLOUD_API_KEY")
        .env("SPARECLOUD_API", api)
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn ok_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_whole_buy_path_with_json_output_and_keys_that_may_not() {
    let mut server = start_server();
    server.start_agents();
    let url = server.url.clone();
    let session = demo_buyer_with_card(&server);
    let (full_id, full) = api_key(&server, &session, "full");
    let (_, read) = api_key(&server, &session, "read");

    // `login` checks the key and saves it, readable by its owner only.
    let login = sparecloud(&server, &url, &["login"], &[("SPARECLOUD_API_KEY", &full)]);
    assert!(login.status.success(), "{}", stderr(&login));
    assert!(String::from_utf8_lossy(&login.stdout).contains("buyer@demo.sparecloud.dev"));
    let saved = server.dir.path().join(".config/sparecloud/config.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let page = ok_json(&sparecloud(
        &server,
        &url,
        &["--json", "offers", "--image", "debian-12", "--sla", "gold"],
        &[],
    ));
    let offer = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| {
            o["prices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["flavor"]["id"] == "s1.small")
        })
        .expect("a gold offer with s1.small");
    assert_eq!(offer["sla_tier"], "gold");
    let quote = ok_json(&sparecloud(
        &server,
        &url,
        &[
            "--json",
            "quote",
            offer["id"].as_str().unwrap(),
            "--image",
            "debian-12",
            "--flavor",
            "s1.small",
        ],
        &[],
    ));
    let quote_id = quote["id"].as_str().unwrap();
    assert_eq!(quote["count"], 1);
    let key_file = server.dir.path().join("id_ed25519.pub");
    std::fs::write(&key_file, SSH_KEY).unwrap();
    let key_path = key_file.to_str().unwrap();

    // A read-only key may look but not order: 403, exit code 3.
    let refused = sparecloud(
        &server,
        &url,
        &[
            "--json",
            "--key",
            &read,
            "order",
            quote_id,
            "--ssh-key",
            key_path,
            "--no-wait",
        ],
        &[],
    );
    assert_eq!(refused.status.code(), Some(3), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("can only read"),
        "{}",
        stderr(&refused)
    );

    let order = ok_json(&sparecloud(
        &server,
        &url,
        &[
            "--json",
            "order",
            quote_id,
            "--card",
            "4242",
            "--ssh-key",
            key_path,
            "--timeout-secs",
            "60",
        ],
        &[],
    ));
    // It waited until the instance ran on the seller's host.
    assert_eq!(order["quote"]["id"], quote_id);
    assert_eq!(order["instances"][0]["status"], "running");
    let instance_id = order["instances"][0]["id"].as_str().unwrap().to_owned();
    // Run again: the same order, not a second one.
    let again = ok_json(&sparecloud(
        &server,
        &url,
        &[
            "--json",
            "order",
            quote_id,
            "--card",
            "4242",
            "--ssh-key",
            key_path,
            "--no-wait",
        ],
        &[],
    ));
    assert_eq!(again["id"], order["id"]);

    let instances = ok_json(&sparecloud(&server, &url, &["--json", "instances"], &[]));
    assert_eq!(instances.as_array().unwrap().len(), 1);
    let detail = ok_json(&sparecloud(
        &server,
        &url,
        &["--json", "instance", &instance_id],
        &[],
    ));
    assert_eq!(detail["instance"]["id"], instance_id.as_str());
    let address = detail["instance"]["address"].as_str().expect("an address");
    let shown = sparecloud(&server, &url, &["instance", &instance_id], &[]);
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains(&format!("ssh debian@{address}")),
        "{shown:?}"
    );
    assert!(
        sparecloud(&server, &url, &["console", &instance_id], &[])
            .status
            .success()
    );
    // Not asked in a script without --yes; done with it.
    let unasked = sparecloud(&server, &url, &["terminate", &instance_id], &[]);
    assert_eq!(unasked.status.code(), Some(1));
    assert!(stderr(&unasked).contains("--yes"));
    let terminated = ok_json(&sparecloud(
        &server,
        &url,
        &["--json", "terminate", &instance_id, "--yes"],
        &[],
    ));
    assert_eq!(terminated["id"], instance_id.as_str());
    let missing = sparecloud(&server, &url, &["instance", "ins_nope"], &[]);
    assert_eq!(missing.status.code(), Some(4));

    // Revoked (signed in, on the account page): refused, saying so.
    let (status, _) = call(
        "DELETE",
        &format!("{url}/api/v1/api-keys/{full_id}"),
        Some(&session),
        None,
    );
    assert_eq!(status, 204);
    let revoked = sparecloud(&server, &url, &["instances"], &[]);
    assert_eq!(revoked.status.code(), Some(3));
    assert!(stderr(&revoked).contains("revoked"), "{}", stderr(&revoked));
    let unreachable = sparecloud(
        &server,
        &format!("http://127.0.0.1:{}", free_port()),
        &["offers"],
        &[],
    );
    assert_eq!(unreachable.status.code(), Some(5));
}

/// Forwards requests to `server` one by one, but drops the connection
/// instead of answering the first `POST /api/v1/orders` (after the server
/// has handled it): a network failure between request and response.
fn lossy_proxy(server: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let upstream = server.trim_start_matches("http://").to_owned();
    let dropped = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let (upstream, dropped) = (upstream.clone(), Arc::clone(&dropped));
            std::thread::spawn(move || relay(client, &upstream, &dropped));
        }
    });
    address
}

fn relay(mut client: TcpStream, upstream: &str, dropped: &AtomicBool) {
    while let Some(request) = read_message(&mut client) {
        let mut server = TcpStream::connect(upstream).unwrap();
        server.write_all(&request).unwrap();
        let Some(response) = read_message(&mut server) else {
            return;
        };
        if request.starts_with(b"POST /api/v1/orders ") && !dropped.swap(true, Ordering::SeqCst) {
            return; // the order is placed; its answer never arrives
        }
        if client.write_all(&response).is_err() {
            return;
        }
    }
}

/// One HTTP/1.1 message with a Content-Length body (or none).
fn read_message(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut byte = [0u8; 1];
    while !message.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        message.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&message).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |n| n.trim().parse().unwrap());
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    message.extend(body);
    Some(message)
}

#[test]
fn an_order_whose_answer_is_lost_is_placed_once_when_run_again() {
    let server = start_server();
    let session = demo_buyer_with_card(&server);
    let (_, full) = api_key(&server, &session, "full");
    let key = [("SPARECLOUD_API_KEY", full.as_str())];
    let url = server.url.clone();
    let page = ok_json(&sparecloud(
        &server,
        &url,
        &["--json", "offers", "--image", "debian-12"],
        &key,
    ));
    let offer = page["items"][0]["id"].as_str().unwrap().to_owned();
    let flavor = page["items"][0]["prices"][0]["flavor"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let quote = ok_json(&sparecloud(
        &server,
        &url,
        &[
            "--json",
            "quote",
            &offer,
            "--image",
            "debian-12",
            "--flavor",
            &flavor,
        ],
        &key,
    ));
    let key_file = server.dir.path().join("id.pub");
    std::fs::write(&key_file, SSH_KEY).unwrap();
    let order = [
        "--json",
        "order",
        quote["id"].as_str().unwrap(),
        "--ssh-key",
        key_file.to_str().unwrap(),
        "--no-wait",
    ];

    let proxy = lossy_proxy(&url);
    let lost = sparecloud(&server, &proxy, &order, &key);
    assert_eq!(
        lost.status.code(),
        Some(5),
        "a network failure: {}",
        stderr(&lost)
    );
    let (_, instances) = call(
        "GET",
        &format!("{url}/api/v1/instances"),
        Some(&session),
        None,
    );
    assert_eq!(
        instances.as_array().unwrap().len(),
        1,
        "the order was placed"
    );

    let retried = ok_json(&sparecloud(&server, &proxy, &order, &key));
    assert_eq!(retried["instances"][0]["id"], instances[0]["id"]);
    let (_, instances) = call(
        "GET",
        &format!("{url}/api/v1/instances"),
        Some(&session),
        None,
    );
    assert_eq!(instances.as_array().unwrap().len(), 1, "and only once");
}

#[test]
fn every_command_explains_itself() {
    let commands: &[&[&str]] = &[
        &[],
        &["login"],
        &["offers"],
        &["offers", "mine"],
        &["quote"],
        &["order"],
        &["instances"],
        &["instance"],
        &["stop"],
        &["start"],
        &["terminate"],
        &["ssh"],
        &["console"],
        &["hosts"],
        &["hosts", "drain"],
        &["earnings"],
        &["completions"],
    ];
    for command in commands {
        let output = Command::new(binary("sparecloud"))
            .args(*command)
            .arg("--help")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(text.contains("Usage: sparecloud"), "{command:?}: {text}");
    }
    let completions = Command::new(binary("sparecloud"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&completions.stdout).contains("sparecloud"));
    let wrong = Command::new(binary("sparecloud"))
        .args(["quote"])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(2), "bad usage");
}
