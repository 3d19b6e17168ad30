//! The agent protocol: hosts register with an install token and then
//! heartbeat with their capacity and what they observe, receiving the
//! instances they should run.

use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use sparecloud_api::agent::{
    DesiredInstance, DesiredState, HeartbeatRequest, HeartbeatResponse, RegisterRequest,
    RegisterResponse,
};
use sparecloud_api::{FieldError, Problem, validate};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{self, new_id, new_token, token_hash};
use crate::capacity;
use crate::clock::Millis;
use crate::error::{AppError, AppResult};
use crate::extract::Json;
use crate::instances;

/// Problem types for refused install tokens, distinct so the agent can say
/// exactly what happened.
pub mod token_kinds {
    pub const INVALID: &str = "https://sparecloud.dev/problems/install-token-invalid";
    pub const USED: &str = "https://sparecloud.dev/problems/install-token-used";
    pub const EXPIRED: &str = "https://sparecloud.dev/problems/install-token-expired";
    pub const REVOKED: &str = "https://sparecloud.dev/problems/install-token-revoked";
    pub const HOST_CREDENTIAL: &str = "https://sparecloud.dev/problems/host-credential-invalid";
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(heartbeat))
}

fn token_refused(kind: &str, title: &str, detail: &str) -> AppError {
    AppError::problem(kind, title, StatusCode::UNAUTHORIZED, detail)
}

/// Trades an install token (single use) for a long-lived host credential.
#[utoipa::path(post, path = "/agent/register", tag = "agent",
    request_body = RegisterRequest,
    responses(
        (status = 201, body = RegisterResponse),
        (status = 401, description = "The token is unknown, used, expired or revoked (each its own type)", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn register(
    State(state): State<AppState>,
    Json(request): Json<RegisterRequest>,
) -> AppResult<(StatusCode, Json<RegisterResponse>)> {
    let mut errors = Vec::new();
    if let Err(message) = validate::short_text(&request.name, 64, "the host's name") {
        errors.push(FieldError {
            field: "name".into(),
            message,
        });
    }
    if let Some(Err(message)) = request.zone.as_deref().map(validate::zone) {
        errors.push(FieldError {
            field: "zone".into(),
            message,
        });
    }
    if request.capacity.vcpu == 0 || request.capacity.ram_gib == 0 || request.capacity.disk_gib == 0
    {
        errors.push(FieldError {
            field: "capacity".into(),
            message: "The host has no capacity left to sell after the reserve.".into(),
        });
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
            token_kinds::INVALID,
            "Unknown install token",
            "This install token does not exist: copy the command from the seller dashboard again.",
        ));
    };
    let refused = |used: Option<Millis>| {
        if used.is_some() {
            token_refused(
                token_kinds::USED,
                "Install token already used",
                "This install token has already registered a host: generate a new one for each host.",
            )
        } else if revoked.is_some() {
            token_refused(
                token_kinds::REVOKED,
                "Install token revoked",
                "This install token was revoked by the seller: generate a new one.",
            )
        } else {
            token_refused(
                token_kinds::EXPIRED,
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
    let mut tx = crate::db::begin_write(&state.db).await?;
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
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            host_id,
            credential,
            zone,
            heartbeat_interval_secs: state.settings.heartbeat_interval_secs,
        }),
    ))
}

/// A host, authenticated by its credential.
pub struct HostAuth {
    pub host_id: String,
}

impl FromRequestParts<AppState> for HostAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let refused = || {
            AppError::problem(
                token_kinds::HOST_CREDENTIAL,
                "Unknown host credential",
                StatusCode::UNAUTHORIZED,
                "This host credential is not valid: register the agent again with a new install token.",
            )
        };
        let credential = auth::bearer_token(parts).ok_or_else(refused)?;
        let row: Option<(String,)> =
            sqlx::query_as("SELECT id FROM hosts WHERE credential_hash = $1")
                .bind(token_hash(credential))
                .fetch_optional(&state.db)
                .await?;
        row.map(|(host_id,)| HostAuth { host_id })
            .ok_or_else(refused)
    }
}

/// Reports capacity and observed instances; answers the desired instances.
#[utoipa::path(post, path = "/agent/heartbeat", tag = "agent", security(("bearer" = [])),
    request_body = HeartbeatRequest,
    responses(
        (status = 200, body = HeartbeatResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    ))]
async fn heartbeat(
    State(state): State<AppState>,
    host: HostAuth,
    Json(request): Json<HeartbeatRequest>,
) -> AppResult<Json<HeartbeatResponse>> {
    let now = state.clock.now();
    // Recording the heartbeat is one statement; most heartbeats change
    // nothing else, and then no transaction holds the write lock longer.
    let (seller_id, zone, old_status, vcpu, ram, disk): (String, String, String, i64, i64, i64) =
        sqlx::query_as(
            "UPDATE hosts SET last_heartbeat_ms = $2, agent_version = $3 WHERE id = $1
             RETURNING seller_id, zone, status, vcpu, ram_gib, disk_gib",
        )
        .bind(&host.host_id)
        .bind(now)
        .bind(&request.agent_version)
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
        instances::observations_change_anything(&state.db, &host.host_id, &request.instances)
            .await?;
    if capacity_changed || came_back || instances_changed {
        let mut tx = crate::db::begin_write(&state.db).await?;
        if capacity_changed {
            sqlx::query("UPDATE hosts SET vcpu = $2, ram_gib = $3, disk_gib = $4 WHERE id = $1")
                .bind(&host.host_id)
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
            .bind(&host.host_id)
            .execute(&mut *tx)
            .await?;
            if flipped.rows_affected() == 1 {
                sqlx::query("UPDATE host_outages SET ended_at_ms = $2 WHERE host_id = $1 AND ended_at_ms IS NULL")
                    .bind(&host.host_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                // The time it was unreachable is not billed.
                sqlx::query("UPDATE instances SET running_since_ms = $2 WHERE host_id = $1 AND running_since_ms IS NOT NULL")
                    .bind(&host.host_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                tracing::info!(host_id = %host.host_id, "host back online");
            }
        }
        instances::apply_observed(&mut tx, &host.host_id, &request.instances, now).await?;
        if capacity_changed || came_back {
            capacity::refresh_offers(&mut tx, &seller_id, &zone, now).await?;
        }
        tx.commit().await?;
    }
    let mut conn = state.db.acquire().await?;
    let desired = desired_instances(&mut conn, &host.host_id).await?;
    Ok(Json(HeartbeatResponse {
        heartbeat_interval_secs: state.settings.heartbeat_interval_secs,
        instances: desired,
    }))
}

async fn desired_instances(
    conn: &mut capacity::Conn,
    host_id: &str,
) -> Result<Vec<DesiredInstance>, sqlx::Error> {
    // An instance moving elsewhere is stopped here first.
    let rows: Vec<(String, String, i64, i64, i64, String, String)> = sqlx::query_as(
        "SELECT id, image_id, vcpu, ram_gib, disk_gib, ssh_public_key,
                CASE WHEN move_to_host_id IS NOT NULL AND desired_state <> 'terminated' THEN 'stopped' ELSE desired_state END
         FROM instances WHERE host_id = $1 AND status NOT IN ('terminated', 'failed') ORDER BY id",
    )
    .bind(host_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, image_id, vcpu, ram, disk, ssh_public_key, desired)| DesiredInstance {
                id,
                image_id,
                vcpu: vcpu as u32,
                ram_gib: ram as u32,
                disk_gib: disk as u32,
                ssh_public_key,
                state: match desired.as_str() {
                    "stopped" => DesiredState::Stopped,
                    "terminated" => DesiredState::Terminated,
                    _ => DesiredState::Running,
                },
            },
        )
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
    let mut tx = crate::db::begin_write(&state.db).await?;
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
            crate::ledger::accrue(&mut tx, &id, *last_heartbeat, true).await?;
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
