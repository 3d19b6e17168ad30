//! The agent protocol's rules: hosts register with an install token (single
//! use, claimed by one conditional UPDATE) for a host credential, then
//! heartbeat with their capacity and what they observe, receiving the
//! instances they should run. Hosts that stop heartbeating go offline.

use http::StatusCode;
use sparecloud_api::agent::{
    DesiredInstance, DesiredState, HeartbeatRequest, HeartbeatResponse, RegisterRequest,
    RegisterResponse,
};
use sparecloud_api::catalog::Capacity;
use sparecloud_api::problem::kinds;
use sparecloud_api::validate;

use crate::auth::{new_id, new_token, token_hash};
use crate::clock::Millis;
use crate::db::{self, Conn};
use crate::domain::{capacity, cleanups, consoles, image_sources, ledger, observe, transfers};
use crate::error::{AppError, AppResult, field};
use crate::state::AppState;

fn token_refused(kind: &str, title: &str, detail: &str) -> AppError {
    AppError::problem(kind, title, StatusCode::UNAUTHORIZED, detail)
}

fn capacity_check(capacity: &Capacity) -> Result<(), String> {
    validate::host_capacity(capacity.vcpu, capacity.ram_gib, capacity.disk_gib)
}

/// Everything a heartbeat reports that is stored or shown to buyers: the
/// capacity within a machine's bounds, a plain version string, and
/// addresses that are an IP or hostname and port (buyers copy an SSH
/// command made of them).
fn check_heartbeat(request: &HeartbeatRequest) -> AppResult<()> {
    let mut errors = Vec::new();
    if let Err(message) = capacity_check(&request.capacity) {
        errors.push(field("capacity", message));
    }
    if let Err(message) = validate::agent_version(&request.agent_version) {
        errors.push(field("agent_version", message));
    }
    for (i, seen) in request.instances.iter().enumerate() {
        if let Some(Err(message)) = seen.address.as_deref().map(validate::host_address) {
            errors.push(field(&format!("instances[{i}].address"), message));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::validation(errors))
    }
}

/// Trades an install token for a host and its credential.
pub async fn register(state: &AppState, request: &RegisterRequest) -> AppResult<RegisterResponse> {
    let mut errors = Vec::new();
    if let Err(message) = validate::short_text(&request.name, 64, "the host's name") {
        errors.push(field("name", message));
    }
    if let Some(Err(message)) = request.zone.as_deref().map(validate::zone) {
        errors.push(field("zone", message));
    }
    if request.capacity.vcpu == 0 || request.capacity.ram_gib == 0 || request.capacity.disk_gib == 0
    {
        errors.push(field(
            "capacity",
            "The host has no capacity left to sell after the reserve.",
        ));
    }
    if let Err(message) = capacity_check(&request.capacity) {
        errors.push(field("capacity", message));
    }
    if let Err(message) = validate::agent_version(&request.agent_version) {
        errors.push(field("agent_version", message));
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }

    let now = state.clock.now();
    type TokenRow = (String, String, String, i64, Option<i64>, Option<i64>);
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT id, seller_id, zone, expires_at_ms, used_at_ms, revoked_at_ms FROM install_tokens WHERE token_hash = $1",
    )
    .bind(token_hash(request.token.trim()))
    .fetch_optional(&state.db)
    .await?;
    let Some((token_id, seller_id, token_zone, expires, used, revoked)) = row else {
        return Err(token_refused(
            kinds::INSTALL_TOKEN_INVALID,
            "Unknown install token",
            "This install token does not exist: copy the command from the seller dashboard again.",
        ));
    };
    let refused = |used: Option<Millis>| {
        if used.is_some() {
            token_refused(
                kinds::INSTALL_TOKEN_USED,
                "Install token already used",
                "This install token has already registered a host: generate a new one for each host.",
            )
        } else if revoked.is_some() {
            token_refused(
                kinds::INSTALL_TOKEN_REVOKED,
                "Install token revoked",
                "This install token was revoked by the seller: generate a new one.",
            )
        } else {
            token_refused(
                kinds::INSTALL_TOKEN_EXPIRED,
                "Install token expired",
                "This install token has expired: generate a new one.",
            )
        }
    };
    if used.is_some() || revoked.is_some() || expires <= now {
        return Err(refused(used));
    }

    let host_id = new_id("hst");
    let credential = new_token("sc_h");
    let zone = request.zone.clone().unwrap_or(token_zone);
    let mut tx = db::begin_write(&state.db).await?;
    // Claiming the token is one conditional UPDATE: of two agents racing
    // with the same token, exactly one wins.
    let claimed = sqlx::query(
        "UPDATE install_tokens SET used_at_ms = $2, host_id = $3
         WHERE id = $1 AND used_at_ms IS NULL AND revoked_at_ms IS NULL AND expires_at_ms > $2",
    )
    .bind(&token_id)
    .bind(now)
    .bind(&host_id)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Err(refused(Some(now)));
    }
    sqlx::query(
        "INSERT INTO hosts (id, seller_id, name, zone, credential_hash, vcpu, ram_gib, disk_gib, status,
                            registered_at_ms, last_heartbeat_ms, agent_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'online', $9, $9, $10)",
    )
    .bind(&host_id)
    .bind(&seller_id)
    .bind(request.name.trim())
    .bind(&zone)
    .bind(token_hash(&credential))
    .bind(i64::from(request.capacity.vcpu))
    .bind(i64::from(request.capacity.ram_gib))
    .bind(i64::from(request.capacity.disk_gib))
    .bind(now)
    .bind(&request.agent_version)
    .execute(&mut *tx)
    .await?;
    capacity::refresh_offers(&mut tx, &seller_id, &zone, now).await?;
    tx.commit().await?;
    tracing::info!(%host_id, %seller_id, %zone, "host registered");
    Ok(RegisterResponse {
        host_id,
        credential,
        zone,
        heartbeat_interval_secs: state.settings.heartbeat_interval_secs,
    })
}

/// The host a credential belongs to.
pub async fn host_by_credential(state: &AppState, credential: &str) -> AppResult<HostCredential> {
    let row: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT id, credential_revoked_at_ms FROM hosts WHERE credential_hash = $1")
            .bind(token_hash(credential))
            .fetch_optional(&state.db)
            .await?;
    Ok(match row {
        None => HostCredential::Unknown,
        Some((_, Some(at_ms))) => HostCredential::Revoked { at_ms },
        Some((host_id, None)) => HostCredential::Valid(host_id),
    })
}

/// What a host credential is worth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCredential {
    Valid(String),
    /// Its seller revoked it, at this time.
    Revoked {
        at_ms: Millis,
    },
    Unknown,
}

/// Records a heartbeat: capacity, a host back online, and what it observed
/// of its instances; answers the instances it should run.
pub async fn heartbeat(
    state: &AppState,
    host_id: &str,
    request: &HeartbeatRequest,
) -> AppResult<HeartbeatResponse> {
    check_heartbeat(request)?;
    let images = host_images(request.images.as_deref())?;
    let now = state.clock.now();
    // Recording the heartbeat is one statement; most heartbeats change
    // nothing else, and then no transaction holds the write lock longer.
    let (seller_id, zone, old_status, vcpu, ram, disk): (String, String, String, i64, i64, i64) =
        sqlx::query_as(
            "UPDATE hosts SET last_heartbeat_ms = $2, agent_version = $3,
               hypervisor_driver = COALESCE($4, hypervisor_driver),
               hypervisor_accel = CASE WHEN $4 IS NULL THEN hypervisor_accel ELSE $5 END,
               images = $6, disk_used_bytes = $7, moves_disks = $8
             WHERE id = $1
             RETURNING seller_id, zone, status, vcpu, ram_gib, disk_gib",
        )
        .bind(host_id)
        .bind(now)
        .bind(&request.agent_version)
        .bind(request.hypervisor.map(|h| h.driver.as_str()))
        .bind(request.hypervisor.and_then(|h| h.accel).map(|a| a.as_str()))
        .bind(images)
        .bind(disk_used(request.disk_used_bytes)?)
        .bind(i64::from(request.moves_disks))
        .fetch_one(&state.db)
        .await?;
    let capacity = request.capacity;
    let capacity_changed = (vcpu, ram, disk)
        != (
            i64::from(capacity.vcpu),
            i64::from(capacity.ram_gib),
            i64::from(capacity.disk_gib),
        );
    let came_back = old_status != "online";
    let instances_changed =
        observe::observations_change_anything(&state.db, host_id, &request.instances).await?
            || cleanups::any_done(&state.db, host_id, &request.instances).await?;
    if capacity_changed || came_back || instances_changed {
        let mut tx = db::begin_write(&state.db).await?;
        if capacity_changed {
            sqlx::query("UPDATE hosts SET vcpu = $2, ram_gib = $3, disk_gib = $4 WHERE id = $1")
                .bind(host_id)
                .bind(i64::from(capacity.vcpu))
                .bind(i64::from(capacity.ram_gib))
                .bind(i64::from(capacity.disk_gib))
                .execute(&mut *tx)
                .await?;
        }
        if came_back {
            // Conditional: of two racing heartbeats only one closes the outage.
            let flipped = sqlx::query(
                "UPDATE hosts SET status = 'online' WHERE id = $1 AND status <> 'online'",
            )
            .bind(host_id)
            .execute(&mut *tx)
            .await?;
            if flipped.rows_affected() == 1 {
                sqlx::query("UPDATE host_outages SET ended_at_ms = $2 WHERE host_id = $1 AND ended_at_ms IS NULL")
                    .bind(host_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                // The time it was unreachable is not billed.
                sqlx::query("UPDATE instances SET running_since_ms = $2 WHERE host_id = $1 AND running_since_ms IS NOT NULL")
                    .bind(host_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(%host_id, "host back online");
            }
        }
        observe::apply_observed(
            &mut tx,
            host_id,
            &request.instances,
            now,
            &state.settings.transfers_dir,
        )
        .await?;
        cleanups::apply_done(&mut tx, host_id, &request.instances, now).await?;
        if capacity_changed || came_back {
            capacity::refresh_offers(&mut tx, &seller_id, &zone, now).await?;
        }
        tx.commit().await?;
    }
    consoles::record(state, host_id, &request.instances, now).await?;
    let mut conn = state.db.acquire().await?;
    let mut desired = desired_instances(&mut conn, host_id).await?;
    drop(conn);
    // Image sources and moved disks are only for hosts that fetch them
    // (real ones): simulated hosts, most of a demo, skip both queries.
    let mut images = Vec::new();
    if request.moves_disks {
        for (id, disk) in transfers::downloads_for(state, host_id).await? {
            if let Some(instance) = desired.iter_mut().find(|d| d.id == id) {
                instance.disk = Some(disk);
            }
        }
        images = image_sources::all(&state.db).await?;
    }
    Ok(HeartbeatResponse {
        heartbeat_interval_secs: state.settings.heartbeat_interval_secs,
        instances: desired,
        images,
    })
}

/// The disk use a host reports, after checking it fits a BIGINT (no disk
/// holds 8 EiB).
fn disk_used(bytes: Option<u64>) -> AppResult<Option<i64>> {
    bytes
        .map(|b| {
            i64::try_from(b).map_err(|_| {
                AppError::validation(vec![field(
                    "disk_used_bytes",
                    "That is more disk than a host has.",
                )])
            })
        })
        .transpose()
}

/// The images a host says it can run, as stored (space-separated), after
/// checking each is an image id and there are not absurdly many.
fn host_images(images: Option<&[String]>) -> AppResult<Option<String>> {
    let Some(images) = images else {
        return Ok(None);
    };
    let is_id = |id: &String| {
        (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
    };
    if images.len() > 200 || !images.iter().all(is_id) {
        return Err(AppError::validation(vec![field(
            "images",
            "Send at most 200 image ids (lowercase letters, digits, '-', '.', '_').",
        )]));
    }
    Ok(Some(images.join(" ")))
}

/// An instance as its host should have it.
#[derive(sqlx::FromRow)]
struct DesiredRow {
    id: String,
    image_id: String,
    vcpu: i64,
    ram_gib: i64,
    disk_gib: i64,
    ssh_public_key: String,
    desired: String,
    upload_disk: i64,
}

async fn desired_instances(
    conn: &mut Conn,
    host_id: &str,
) -> Result<Vec<DesiredInstance>, sqlx::Error> {
    // An instance moving elsewhere is stopped here first (and its disk
    // uploaded, by a host that moves disks); one that moved away keeps its
    // disk here, stopped, until it runs on its new host.
    let rows: Vec<DesiredRow> = sqlx::query_as(
        "SELECT i.id, i.image_id, i.vcpu, i.ram_gib, i.disk_gib, i.ssh_public_key,
                CASE WHEN i.move_to_host_id IS NOT NULL AND i.desired_state <> 'terminated' THEN 'stopped' ELSE i.desired_state END
                  AS desired,
                CASE WHEN i.move_to_host_id IS NOT NULL AND i.desired_state <> 'terminated' AND h.moves_disks <> 0
                  THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END AS upload_disk
         FROM instances i JOIN hosts h ON h.id = i.host_id
         WHERE i.host_id = $1 AND (i.status NOT IN ('terminated', 'failed') OR i.cleanup_pending = 1)
         UNION ALL
         SELECT i.id, i.image_id, i.vcpu, i.ram_gib, i.disk_gib, i.ssh_public_key, 'stopped', CAST(0 AS BIGINT)
         FROM instances i JOIN disk_transfers t ON t.instance_id = i.id
         WHERE t.from_host_id = $1 AND i.host_id <> $1
         ORDER BY 1",
    )
    .bind(host_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DesiredInstance {
            state: match row.desired.as_str() {
                "stopped" => DesiredState::Stopped,
                "terminated" => DesiredState::Terminated,
                _ => DesiredState::Running,
            },
            id: row.id,
            image_id: row.image_id,
            vcpu: row.vcpu as u32,
            ram_gib: row.ram_gib as u32,
            disk_gib: row.disk_gib as u32,
            ssh_public_key: row.ssh_public_key,
            disk: None,
            upload_disk: row.upload_disk != 0,
        })
        .collect())
}

/// Marks hosts that missed three heartbeats offline and opens an outage for
/// each. Returns the hosts it marked.
pub async fn mark_silent_hosts_offline(state: &AppState) -> AppResult<Vec<String>> {
    let now = state.clock.now();
    let cutoff = now - 3 * Millis::from(state.settings.heartbeat_interval_secs) * 1000;
    // A read first: most passes find nothing, and then take no write lock.
    let (silent_count,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM hosts WHERE status = 'online' AND last_heartbeat_ms < $1",
    )
    .bind(cutoff)
    .fetch_one(&state.db)
    .await?;
    if silent_count == 0 {
        return Ok(Vec::new());
    }
    let mut tx = db::begin_write(&state.db).await?;
    let silent: Vec<(String, String, String, i64)> = sqlx::query_as(
        "UPDATE hosts SET status = 'offline' WHERE status = 'online' AND last_heartbeat_ms < $1
         RETURNING id, seller_id, zone, last_heartbeat_ms",
    )
    .bind(cutoff)
    .fetch_all(&mut *tx)
    .await?;
    for (host_id, seller_id, zone, last_heartbeat) in &silent {
        // Nobody can tell whether its instances still run: billing pauses
        // at the last heartbeat (and resumes when the host is back).
        let running: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM instances WHERE host_id = $1 AND running_since_ms IS NOT NULL",
        )
        .bind(host_id)
        .fetch_all(&mut *tx)
        .await?;
        for (id,) in running {
            ledger::accrue(&mut tx, &id, *last_heartbeat, true).await?;
        }
        sqlx::query("INSERT INTO host_outages (id, host_id, started_at_ms) VALUES ($1, $2, $3)")
            .bind(new_id("out"))
            .bind(host_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        capacity::refresh_offers(&mut tx, seller_id, zone, now).await?;
        tracing::warn!(%host_id, "host missed its heartbeats: offline");
    }
    tx.commit().await?;
    Ok(silent.into_iter().map(|(id, ..)| id).collect())
}
