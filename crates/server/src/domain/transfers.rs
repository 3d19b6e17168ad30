//! Cold migration of real disks. When an instance moves off a host that
//! moves disks (its agent says so), the move waits, once the instance has
//! stopped, for that host to upload the disk (`upload_disk`); the upload
//! completes the move. The new host is then told where to fetch the disk,
//! with a token valid for a few minutes and renewed at each heartbeat
//! (stored hashed), and checks its SHA-256. The old host keeps its copy
//! (the instance stays on its list, stopped) until the instance runs on the
//! new one; then the transfer and the staged file go away.

use std::path::{Path, PathBuf};

use http::StatusCode;
use sparecloud_api::agent::DiskTransfer;
use sparecloud_api::problem::kinds;

use crate::auth::{new_token, token_hash};
use crate::clock::Millis;
use crate::db::{self, Conn};
use crate::domain::ha;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// How long a download token is good for.
const TOKEN_TTL_MS: Millis = 10 * 60_000;

/// Where a moving instance's disk is kept between the two hosts.
pub fn staged_file(dir: &Path, instance_id: &str) -> PathBuf {
    dir.join(format!("{instance_id}.qcow2"))
}

/// The API path both hosts use for an instance's disk.
pub fn disk_url(instance_id: &str) -> String {
    format!(
        "{}/agent/instances/{instance_id}/disk",
        sparecloud_api::API_PREFIX
    )
}

/// Whether the move of a stopped instance off `host_id` waits for its disk
/// (the host moves disks and has not uploaded it yet).
pub async fn waits_for_upload(
    conn: &mut Conn,
    host_id: &str,
    instance_id: &str,
) -> Result<bool, sqlx::Error> {
    let (moves_disks, uploaded): (i64, i64) = sqlx::query_as(
        "SELECT h.moves_disks, (SELECT COUNT(*) FROM disk_transfers t WHERE t.instance_id = $2)
         FROM hosts h WHERE h.id = $1",
    )
    .bind(host_id)
    .bind(instance_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(moves_disks != 0 && uploaded == 0)
}

/// Refuses an upload that `host_id` has no business making: the instance
/// must be its, stopped and moving.
pub async fn check_upload(state: &AppState, host_id: &str, instance_id: &str) -> AppResult<u64> {
    let row: Option<(String, Option<String>, i64)> = sqlx::query_as(
        "SELECT status, move_to_host_id, disk_gib FROM instances WHERE id = $1 AND host_id = $2",
    )
    .bind(instance_id)
    .bind(host_id)
    .fetch_optional(&state.db)
    .await?;
    match row {
        None => Err(AppError::not_found("instance")),
        Some((status, Some(_), disk_gib))
            if status == "stopped" || status == "running" || status == "stopping" =>
        {
            // A disk is at most its flavor's size (plus qcow2's metadata).
            Ok((disk_gib.max(1) as u64 + 1) << 30)
        }
        Some(_) => Err(AppError::problem(
            kinds::CONFLICT,
            "Not moving",
            StatusCode::CONFLICT,
            "This instance is not moving off this host: there is no disk to upload.",
        )),
    }
}

/// Records an uploaded disk (already in its staged file) and completes the
/// move it was waiting for.
pub async fn uploaded(
    state: &AppState,
    host_id: &str,
    instance_id: &str,
    sha256: &str,
    size_bytes: u64,
) -> AppResult<()> {
    let now = state.clock.now();
    let mut tx = db::begin_write(&state.db).await?;
    let moving: Option<(Option<String>,)> =
        sqlx::query_as("SELECT move_to_host_id FROM instances WHERE id = $1 AND host_id = $2")
            .bind(instance_id)
            .bind(host_id)
            .fetch_optional(&mut *tx)
            .await?;
    if !matches!(moving, Some((Some(_),))) {
        return Err(AppError::problem(
            kinds::CONFLICT,
            "Not moving",
            StatusCode::CONFLICT,
            "This instance is no longer moving off this host.",
        ));
    }
    sqlx::query(
        "INSERT INTO disk_transfers (instance_id, from_host_id, sha256, size_bytes, created_at_ms)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (instance_id) DO UPDATE SET sha256 = $3, size_bytes = $4, from_host_id = $2",
    )
    .bind(instance_id)
    .bind(host_id)
    .bind(sha256)
    .bind(size_bytes as i64)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    ha::complete_move(&mut tx, instance_id, ha::Move::Migrated, now).await?;
    tx.commit().await?;
    Ok(())
}

/// For the new host: where to fetch the disk of each instance moved to it
/// that does not run yet, with a fresh token each.
pub async fn downloads_for(
    state: &AppState,
    host_id: &str,
) -> AppResult<Vec<(String, DiskTransfer)>> {
    let pending: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT t.instance_id, t.sha256, t.size_bytes FROM disk_transfers t
         JOIN instances i ON i.id = t.instance_id
         WHERE i.host_id = $1 AND i.status NOT IN ('running', 'terminated', 'failed')",
    )
    .bind(host_id)
    .fetch_all(&state.db)
    .await?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let expires = state.clock.now() + TOKEN_TTL_MS;
    let mut transfers = Vec::with_capacity(pending.len());
    for (instance_id, sha256, size_bytes) in pending {
        let token = new_token("sc_dt");
        sqlx::query(
            "UPDATE disk_transfers SET token_hash = $2, token_expires_ms = $3 WHERE instance_id = $1",
        )
        .bind(&instance_id)
        .bind(token_hash(&token))
        .bind(expires)
        .execute(&state.db)
        .await?;
        transfers.push((
            instance_id.clone(),
            DiskTransfer {
                url: disk_url(&instance_id),
                token,
                sha256,
                size_bytes: size_bytes as u64,
            },
        ));
    }
    Ok(transfers)
}

/// The staged disk, for the host the instance moved to and a valid token.
pub async fn authorize_download(
    state: &AppState,
    host_id: &str,
    instance_id: &str,
    token: &str,
) -> AppResult<PathBuf> {
    let row: Option<(Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT t.token_hash, t.token_expires_ms FROM disk_transfers t
         JOIN instances i ON i.id = t.instance_id
         WHERE t.instance_id = $1 AND i.host_id = $2",
    )
    .bind(instance_id)
    .bind(host_id)
    .fetch_optional(&state.db)
    .await?;
    let Some((Some(hash), Some(expires))) = row else {
        return Err(AppError::not_found("disk transfer"));
    };
    if hash != token_hash(token) || expires < state.clock.now() {
        return Err(AppError::problem(
            kinds::UNAUTHORIZED,
            "Transfer token refused",
            StatusCode::UNAUTHORIZED,
            "This transfer token is not valid (or has expired): use the one of the latest heartbeat.",
        ));
    }
    Ok(staged_file(&state.settings.transfers_dir, instance_id))
}

/// The instance runs on its new host (or is gone): the old host may delete
/// its copy, and the staged file goes.
pub async fn finish(conn: &mut Conn, dir: &Path, instance_id: &str) -> Result<(), sqlx::Error> {
    let done = sqlx::query("DELETE FROM disk_transfers WHERE instance_id = $1")
        .bind(instance_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() > 0 {
        let _ = std::fs::remove_file(staged_file(dir, instance_id));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn disks_are_staged_and_fetched_by_instance_id() {
        assert_eq!(
            super::staged_file(std::path::Path::new("/srv/t"), "ins_1"),
            std::path::Path::new("/srv/t/ins_1.qcow2")
        );
        assert_eq!(
            super::disk_url("ins_1"),
            "/api/v1/agent/instances/ins_1/disk"
        );
    }
}
