//! An instance's life: the state machine observations drive (`transition`),
//! its event log, where it has been placed, and its end (`finish`), which
//! bills its last running time and gives its capacity back.

use sparecloud_api::agent::ObservedState;
use sparecloud_api::instances::InstanceStatus;

use crate::auth::new_id;
use crate::clock::Millis;
use crate::db::Conn;
use crate::domain::catalog;
use crate::domain::{capacity, ledger};

pub async fn set_desired(
    conn: &mut Conn,
    id: &str,
    desired: &str,
    status: Option<&str>,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE instances SET desired_state = $2, status = COALESCE($3, status), updated_at_ms = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(desired)
    .bind(status)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn record_event(
    conn: &mut Conn,
    instance_id: &str,
    kind: &str,
    message: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO instance_events (id, instance_id, at_ms, kind, message) VALUES ($1, $2, $3, $4, $5)")
        .bind(new_id("evt"))
        .bind(instance_id)
        .bind(now)
        .bind(kind)
        .bind(message)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends an instance (terminated or failed): bills its last running time and
/// gives its capacity back to the host.
pub async fn finish(
    conn: &mut Conn,
    id: &str,
    status: InstanceStatus,
    message: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    ledger::accrue(conn, id, now, false).await?;
    // A move in progress is given up: the place held for it is freed too.
    // Read through a no-op UPDATE, which on PostgreSQL locks the row first,
    // so a move completed by another process meanwhile is seen as done.
    let moving_to: Option<(Option<String>,)> = sqlx::query_as(
        "UPDATE instances SET updated_at_ms = updated_at_ms WHERE id = $1 RETURNING move_to_host_id",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let row: Option<(String, String, String, i64, i64, i64)> = sqlx::query_as(
        "UPDATE instances SET status = $2, updated_at_ms = $3, move_to_host_id = NULL, move_to_offer_id = NULL
         WHERE id = $1 AND status NOT IN ('terminated', 'failed')
         RETURNING host_id, seller_id, zone, vcpu, ram_gib, disk_gib",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((host_id, seller_id, zone, vcpu, ram, disk)) = row {
        let need = catalog::capacity_from_row(vcpu, ram, disk);
        capacity::release(conn, &host_id, need).await?;
        if let Some((Some(target),)) = moving_to {
            capacity::give_back(conn, &target, need, now).await?;
        }
        record_event(conn, id, status.as_str(), message, now).await?;
        capacity::refresh_offers(conn, &seller_id, &zone, now).await?;
    }
    Ok(())
}

/// What an observation changes for an instance in `status` whose buyer
/// wants `desired`, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Provisioning,
    Running,
    Stopped,
    Terminated,
    Failed,
}

pub fn transition(
    seen: ObservedState,
    status: InstanceStatus,
    desired: &str,
) -> Option<Transition> {
    use InstanceStatus as S;
    if status.is_final() {
        return None;
    }
    match seen {
        ObservedState::Provisioning if status == S::Pending => Some(Transition::Provisioning),
        ObservedState::Running if desired == "running" && status != S::Running => {
            Some(Transition::Running)
        }
        ObservedState::Stopped if desired == "stopped" && status != S::Stopped => {
            Some(Transition::Stopped)
        }
        ObservedState::Terminated => Some(Transition::Terminated),
        ObservedState::Failed => Some(Transition::Failed),
        _ => None,
    }
}

/// Records that the instance runs on `host_id` from `now`.
pub async fn placed_on(
    conn: &mut Conn,
    instance_id: &str,
    host_id: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instance_placements (id, instance_id, host_id, from_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(new_id("plc"))
    .bind(instance_id)
    .bind(host_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_status(
    conn: &mut Conn,
    id: &str,
    status: InstanceStatus,
    address: Option<&str>,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE instances SET status = $2, address = COALESCE($3, address), updated_at_ms = $4 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(address)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use InstanceStatus as S;
    use ObservedState as O;

    #[test]
    fn observations_move_instances_only_where_the_buyer_wants_them() {
        assert_eq!(
            transition(O::Provisioning, S::Pending, "running"),
            Some(Transition::Provisioning)
        );
        assert_eq!(transition(O::Provisioning, S::Running, "running"), None);
        assert_eq!(
            transition(O::Running, S::Provisioning, "running"),
            Some(Transition::Running)
        );
        // A host still running an instance the buyer stopped: wait for it.
        assert_eq!(transition(O::Running, S::Stopping, "stopped"), None);
        assert_eq!(
            transition(O::Stopped, S::Stopping, "stopped"),
            Some(Transition::Stopped)
        );
        assert_eq!(transition(O::Stopped, S::Provisioning, "running"), None);
        assert_eq!(
            transition(O::Terminated, S::Running, "running"),
            Some(Transition::Terminated)
        );
        assert_eq!(
            transition(O::Failed, S::Running, "running"),
            Some(Transition::Failed)
        );
        // Nothing moves a finished instance.
        assert_eq!(transition(O::Running, S::Terminated, "running"), None);
        assert_eq!(transition(O::Failed, S::Failed, "running"), None);
    }
}
