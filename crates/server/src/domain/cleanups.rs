//! Stops and terminations a host does not carry out. Billing ends at the
//! buyer's request (see `instances::act`); if the host has not stopped the
//! instance within the grace period, the buyer gets what they asked for
//! (the instance shows stopped or terminated) and the instance is marked
//! for cleanup: the host keeps being told to stop or destroy it, and its
//! capacity stays held on that host, off the seller's sellable room, until
//! the host reports it done (or stops reporting it at all).

use sparecloud_api::agent::{ObservedInstance, ObservedState};

use crate::clock::Millis;
use crate::db::{self, Conn, Pool};
use crate::domain::instance::record_event;
use crate::domain::{capacity, catalog};
use crate::error::AppResult;
use crate::state::AppState;

/// Marks the stops and terminations still not carried out after the grace
/// period (the one that fails instances of a silent host). Returns how many.
pub async fn mark_overdue(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let cutoff = now - state.settings.failure_grace_ms;
    let overdue: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM instances WHERE status = 'stopping' AND stop_requested_at_ms < $1
           AND move_to_host_id IS NULL",
    )
    .bind(cutoff)
    .fetch_all(&state.db)
    .await?;
    let mut marked = 0;
    for (id,) in overdue {
        let mut tx = db::begin_write(&state.db).await?;
        let claimed: Option<(String,)> = sqlx::query_as(
            "UPDATE instances SET
               status = CASE WHEN desired_state = 'terminated' THEN 'terminated' ELSE 'stopped' END,
               cleanup_pending = 1, updated_at_ms = $3
             WHERE id = $1 AND status = 'stopping' AND stop_requested_at_ms < $2
             RETURNING desired_state",
        )
        .bind(&id)
        .bind(cutoff)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((desired,)) = claimed {
            let verb = if desired == "terminated" {
                "destroy"
            } else {
                "stop"
            };
            record_event(
                &mut tx,
                &id,
                "cleanup_pending",
                &format!(
                    "The host did not {verb} it within {} minutes of your request. You were not billed from your request on; the host must still {verb} it.",
                    state.settings.failure_grace_ms / 60_000
                ),
                now,
            )
            .await?;
            tracing::warn!(instance_id = %id, %desired, "host did not carry out a stop in time: marked for cleanup");
            marked += 1;
        }
        tx.commit().await?;
    }
    Ok(marked)
}

/// The host's instances marked for cleanup that this heartbeat shows done:
/// reported stopped, destroyed or failed, or no longer reported.
async fn done(
    conn: &mut Conn,
    host_id: &str,
    observed: &[ObservedInstance],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let pending: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, status FROM instances WHERE host_id = $1 AND cleanup_pending = 1",
    )
    .bind(host_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(pending
        .into_iter()
        .filter(
            |(id, status)| match observed.iter().find(|seen| seen.id == *id) {
                None => true,
                Some(seen) => match seen.state {
                    ObservedState::Terminated | ObservedState::Failed => true,
                    ObservedState::Stopped => status == "stopped",
                    _ => false,
                },
            },
        )
        .collect())
}

/// Whether this heartbeat completes any cleanup: a read, so that the usual
/// heartbeat takes no write lock for it.
pub async fn any_done(
    pool: &Pool,
    host_id: &str,
    observed: &[ObservedInstance],
) -> Result<bool, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    Ok(!done(&mut conn, host_id, observed).await?.is_empty())
}

/// Completes the cleanups this heartbeat shows done: a destroyed
/// instance's capacity goes back to the host.
pub async fn apply_done(
    conn: &mut Conn,
    host_id: &str,
    observed: &[ObservedInstance],
    now: Millis,
) -> Result<(), sqlx::Error> {
    for (id, status) in done(conn, host_id, observed).await? {
        let cleared: Option<(String, String, i64, i64, i64)> = sqlx::query_as(
            "UPDATE instances SET cleanup_pending = 0, updated_at_ms = $2 WHERE id = $1 AND cleanup_pending = 1
             RETURNING seller_id, zone, vcpu, ram_gib, disk_gib",
        )
        .bind(&id)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((seller_id, zone, vcpu, ram, disk)) = cleared else {
            continue;
        };
        if status == "terminated" {
            capacity::release(conn, host_id, catalog::capacity_from_row(vcpu, ram, disk)).await?;
            capacity::refresh_offers(conn, &seller_id, &zone, now).await?;
        }
        record_event(
            conn,
            &id,
            "cleaned_up",
            "The host has now carried out your request.",
            now,
        )
        .await?;
    }
    Ok(())
}
