//! Cold migration with the disk: a host that moves disks uploads a moving
//! instance's disk once it has stopped, the upload completes the move, the
//! new host fetches the disk with a short-lived token, and the old host
//! keeps its copy until the instance runs on the new one. The agents here
//! are plain HTTP calls, as a real agent makes them.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestApp;
use serde_json::{Value, json};

const HOST: (u32, u32, u32) = (8, 16, 200);
const DISK: &[u8] = b"QFI\xfb the buyer's files, as a qcow2 overlay would hold them";

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// A heartbeat from a host that moves disks, reporting `observed`; the
/// desired instances it gets back.
async fn beat(app: &TestApp, credential: &str, observed: &[(&str, &str)]) -> Vec<Value> {
    let instances: Vec<Value> = observed
        .iter()
        .map(|(id, state)| json!({"id": id, "state": state, "address": "198.51.100.7:22001"}))
        .collect();
    let res = app
        .heartbeat_with(
            credential,
            HOST,
            json!({"moves_disks": true, "instances": instances}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    res.json()["instances"].as_array().unwrap().clone()
}

async fn host_of(app: &TestApp, id: &str) -> String {
    let (host,): (String,) = sqlx::query_as("SELECT host_id FROM instances WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    host
}

async fn upload(
    app: &TestApp,
    credential: &str,
    id: &str,
    sha256: &str,
    body: &[u8],
) -> common::TestResponse {
    let request = Request::put(format!("/api/v1/agent/instances/{id}/disk"))
        .header("authorization", format!("Bearer {credential}"))
        .header("x-disk-sha256", sha256)
        .body(Body::from(body.to_vec()))
        .unwrap();
    app.request(request).await
}

async fn download(app: &TestApp, credential: &str, id: &str, token: &str) -> common::TestResponse {
    let request = Request::get(format!("/api/v1/agent/instances/{id}/disk"))
        .header("authorization", format!("Bearer {credential}"))
        .header("x-transfer-token", token)
        .body(Body::empty())
        .unwrap();
    app.request(request).await
}

#[tokio::test]
async fn a_drained_instance_moves_with_its_disk_and_the_old_host_keeps_a_copy_until_it_runs() {
    let app = TestApp::new().await;
    let (seller, offer, buyer, card) = app.shop(HOST, 100).await;
    let install = app.install_token(&seller.token, "eu-west-1a").await;
    let (second, second_cred) = app.register_host(&install, "rack-2", HOST).await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await;
    assert_eq!(order.status, StatusCode::CREATED, "{}", order.text());
    let id = order.json()["instances"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let creds = [
        (seller.host_id.clone(), seller.host_credential.clone()),
        (second.clone(), second_cred.clone()),
    ];
    let from = host_of(&app, &id).await;
    let from_cred = creds.iter().find(|(h, _)| *h == from).unwrap().1.clone();
    let (to, to_cred) = creds.iter().find(|(h, _)| *h != from).unwrap().clone();
    beat(&app, &to_cred, &[]).await;
    beat(&app, &from_cred, &[(&id, "running")]).await;

    let res = app
        .post(
            &format!("/api/v1/seller/hosts/{from}/drain"),
            Some(&seller.token),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.text());
    // Stop it here and upload its disk; stopped, it waits for the disk.
    let wanted = beat(&app, &from_cred, &[(&id, "running")]).await;
    assert_eq!(wanted[0]["state"], "stopped");
    assert_eq!(wanted[0]["upload_disk"], true);
    let wanted = beat(&app, &from_cred, &[(&id, "stopped")]).await;
    assert_eq!(wanted[0]["upload_disk"], true, "still waiting for the disk");
    assert_eq!(host_of(&app, &id).await, from);

    // Bad uploads change nothing.
    let res = upload(&app, &from_cred, &id, &sha256_hex(b"other"), DISK).await;
    assert_eq!(
        res.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        res.text()
    );
    let res = upload(&app, &from_cred, &id, "not-hex", DISK).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let res = upload(&app, &to_cred, &id, &sha256_hex(DISK), DISK).await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "not the other host's to upload"
    );
    assert_eq!(host_of(&app, &id).await, from);

    let res = upload(&app, &from_cred, &id, &sha256_hex(DISK), DISK).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "{}", res.text());
    assert_eq!(
        host_of(&app, &id).await,
        to,
        "the upload completes the move"
    );

    // The new host is told where its disk is, with a token.
    let wanted = beat(&app, &to_cred, &[]).await;
    assert_eq!(wanted[0]["id"], id.as_str());
    let disk = &wanted[0]["disk"];
    assert_eq!(disk["sha256"], sha256_hex(DISK));
    assert_eq!(disk["size_bytes"], DISK.len());
    assert_eq!(disk["url"], format!("/api/v1/agent/instances/{id}/disk"));
    let token = disk["token"].as_str().unwrap().to_owned();
    // The old host keeps it, stopped, with nothing more to upload.
    let kept = beat(&app, &from_cred, &[(&id, "stopped")]).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["state"], "stopped");
    assert!(kept[0].get("upload_disk").is_none());

    let res = download(&app, &to_cred, &id, &token).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, DISK);
    let res = download(&app, &to_cred, &id, "sc_dt_wrong").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = download(&app, &from_cred, &id, &token).await;
    assert_eq!(
        res.status,
        StatusCode::NOT_FOUND,
        "only its new host fetches it"
    );
    // Each heartbeat brings a fresh token; the old one is spent.
    let fresh = beat(&app, &to_cred, &[(&id, "provisioning")]).await[0]["disk"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(fresh, token);
    assert_eq!(
        download(&app, &to_cred, &id, &token).await.status,
        StatusCode::UNAUTHORIZED
    );

    // Running on the new host: the transfer ends, the old copy may go.
    let wanted = beat(&app, &to_cred, &[(&id, "running")]).await;
    assert!(wanted[0].get("disk").is_none());
    assert!(beat(&app, &from_cred, &[]).await.is_empty());
    let staged = app.state.settings.transfers_dir.join(format!("{id}.qcow2"));
    assert!(!staged.exists(), "the staged disk is deleted");
    let detail = app.instance_detail(&buyer, &id).await;
    assert!(common::event_kinds(&detail).contains(&"migrated".to_owned()));
}

#[tokio::test]
async fn a_host_that_does_not_move_disks_moves_instances_as_before() {
    let app = TestApp::new().await;
    let (seller, offer, buyer, card) = app.shop(HOST, 100).await;
    let install = app.install_token(&seller.token, "eu-west-1a").await;
    let (_second, second_cred) = app.register_host(&install, "rack-2", HOST).await;
    let order = app.buy(&buyer, &card, &offer, "s1.small", 1).await;
    let id = order.json()["instances"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let from = host_of(&app, &id).await;
    let from_cred = if from == seller.host_id {
        seller.host_credential.clone()
    } else {
        second_cred.clone()
    };
    app.heartbeat(&from_cred, HOST, &[(&id, "running")]).await;
    app.post(
        &format!("/api/v1/seller/hosts/{from}/drain"),
        Some(&seller.token),
        json!({}),
    )
    .await;
    let res = app.heartbeat(&from_cred, HOST, &[(&id, "stopped")]).await;
    assert!(res.json()["instances"].as_array().unwrap().is_empty());
    assert_ne!(host_of(&app, &id).await, from, "moved when it stopped");
}
