//! What agents observe of their instances, applied: status changes,
//! addresses, billing segments, and moves completed when an instance
//! leaving its host has stopped.

use sparecloud_api::agent::{ObservedInstance, ObservedState};
use sparecloud_api::instances::InstanceStatus;

use crate::clock::Millis;
use crate::db::{Conn, Pool};
use crate::domain::instance::{Transition, finish, record_event, set_status, transition};
use crate::domain::{ha, ledger, transfers};

/// Whether any observation would change anything: a read, so that the
/// usual heartbeat ("all as before") takes no write lock for instances.
pub async fn observations_change_anything(
    pool: &Pool,
    host_id: &str,
    observed: &[ObservedInstance],
) -> Result<bool, sqlx::Error> {
    if observed.is_empty() {
        return Ok(false);
    }
    let recorded: Vec<(String, String, String, Option<String>)> =
        sqlx::query_as("SELECT id, status, desired_state, move_to_host_id FROM instances WHERE host_id = $1 AND status NOT IN ('terminated', 'failed')")
            .bind(host_id)
            .fetch_all(pool)
            .await?;
    Ok(observed.iter().any(|seen| {
        recorded.iter().any(|(id, status, desired, moving_to)| {
            *id == seen.id
                && match moving_to {
                    Some(_) => matches!(
                        seen.state,
                        ObservedState::Stopped | ObservedState::Terminated | ObservedState::Failed
                    ),
                    None => InstanceStatus::parse(status)
                        .is_some_and(|status| transition(seen.state, status, desired).is_some()),
                }
        })
    }))
}

/// Applies what an agent observed of the instances on its host.
pub async fn apply_observed(
    conn: &mut Conn,
    host_id: &str,
    observed: &[ObservedInstance],
    now: Millis,
    transfers_dir: &std::path::Path,
) -> Result<(), sqlx::Error> {
    for seen in observed {
        // Read again inside the transaction: the buyer may have acted since.
        let row: Option<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT status, desired_state, move_to_host_id FROM instances WHERE id = $1 AND host_id = $2",
        )
        .bind(&seen.id)
        .bind(host_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some((status, desired, moving_to)) = row else {
            continue;
        };
        // Stopped for a move: it goes to the host held for it now. Until
        // then only its end counts.
        if moving_to.is_some() {
            match seen.state {
                // A host that moves disks uploads it first; the upload
                // completes the move.
                ObservedState::Stopped
                    if transfers::waits_for_upload(conn, host_id, &seen.id).await? =>
                {
                    continue;
                }
                ObservedState::Stopped => {
                    ha::complete_move(conn, &seen.id, ha::Move::Migrated, now).await?;
                    continue;
                }
                ObservedState::Terminated | ObservedState::Failed => {}
                _ => continue,
            }
        }
        let Some(status) = InstanceStatus::parse(&status) else {
            continue;
        };
        match transition(seen.state, status, &desired) {
            Some(Transition::Provisioning) => {
                set_status(conn, &seen.id, InstanceStatus::Provisioning, None, now).await?;
                record_event(
                    conn,
                    &seen.id,
                    "provisioning",
                    "The host is creating the instance.",
                    now,
                )
                .await?;
            }
            Some(Transition::Running) => {
                set_status(
                    conn,
                    &seen.id,
                    InstanceStatus::Running,
                    seen.address.as_deref(),
                    now,
                )
                .await?;
                sqlx::query("UPDATE instances SET running_since_ms = $2 WHERE id = $1 AND running_since_ms IS NULL")
                    .bind(&seen.id)
                    .bind(now)
                    .execute(&mut *conn)
                    .await?;
                record_event(conn, &seen.id, "running", "The instance is running.", now).await?;
                // Moved with its disk: the old host may delete its copy.
                transfers::finish(conn, transfers_dir, &seen.id).await?;
            }
            Some(Transition::Stopped) => {
                ledger::accrue(conn, &seen.id, now, false).await?;
                set_status(conn, &seen.id, InstanceStatus::Stopped, None, now).await?;
                record_event(conn, &seen.id, "stopped", "The instance has stopped.", now).await?;
            }
            Some(Transition::Terminated) => {
                finish(
                    conn,
                    &seen.id,
                    InstanceStatus::Terminated,
                    "The instance was destroyed.",
                    now,
                )
                .await?;
                transfers::finish(conn, transfers_dir, &seen.id).await?;
            }
            Some(Transition::Failed) => {
                finish(
                    conn,
                    &seen.id,
                    InstanceStatus::Failed,
                    "The host reported that the instance failed.",
                    now,
                )
                .await?;
                transfers::finish(conn, transfers_dir, &seen.id).await?;
            }
            None => {}
        }
    }
    Ok(())
}
