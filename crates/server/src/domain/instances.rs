//! The buyer's instances: reading them (with the cost so far) and the
//! buyer's actions (stop, start, terminate). The state machine they move
//! through is `instance`.

use http::StatusCode;
use sparecloud_api::checkout::Placement;
use sparecloud_api::instances::{Instance, InstanceDetail, InstanceEvent, InstanceStatus};
use sparecloud_api::problem::kinds;

use crate::clock::{Millis, rfc3339};
use crate::db;
use crate::domain::instance::{finish, record_event, set_desired};
use crate::domain::{ledger, sla};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

const INSTANCE_COLUMNS: &str = "id, order_id, name, status, image_id, flavor_id, sla_tier, zone, vcpu, ram_gib, disk_gib,
    address, hourly_cents, commission_bp, billed_ms, running_since_ms, created_at_ms, updated_at_ms, placement, auto_recover,
    awaiting_recovery, (SELECT login_user FROM images WHERE images.id = instances.image_id) AS ssh_user";

#[derive(sqlx::FromRow)]
struct InstanceRow {
    id: String,
    order_id: String,
    name: String,
    status: String,
    image_id: String,
    flavor_id: String,
    sla_tier: String,
    zone: String,
    vcpu: i64,
    ram_gib: i64,
    disk_gib: i64,
    address: Option<String>,
    hourly_cents: i64,
    commission_bp: i64,
    billed_ms: i64,
    running_since_ms: Option<i64>,
    created_at_ms: i64,
    updated_at_ms: i64,
    placement: String,
    auto_recover: i64,
    awaiting_recovery: i64,
    ssh_user: Option<String>,
}

fn instance_from_row(row: InstanceRow, now: Millis) -> Instance {
    let live_ms = row.running_since_ms.map_or(0, |since| (now - since).max(0));
    let cost = ledger::totals(row.hourly_cents, row.commission_bp, row.billed_ms + live_ms);
    Instance {
        status: InstanceStatus::parse(&row.status).unwrap_or(InstanceStatus::Failed),
        id: row.id,
        order_id: row.order_id,
        name: row.name,
        image_id: row.image_id,
        flavor_id: row.flavor_id,
        sla_tier: row.sla_tier,
        zone: row.zone,
        vcpu: row.vcpu as u32,
        ram_gib: row.ram_gib as u32,
        disk_gib: row.disk_gib as u32,
        address: row.address,
        ssh_user: row.ssh_user.unwrap_or_else(|| "root".into()),
        hourly_cents: row.hourly_cents as u64,
        cost_so_far_cents: cost.charge_cents as u64,
        currency: "EUR".into(),
        created_at: rfc3339(row.created_at_ms),
        updated_at: rfc3339(row.updated_at_ms),
        placement: Placement::parse(&row.placement).unwrap_or_default(),
        auto_recover: row.auto_recover != 0,
        recovering: row.awaiting_recovery != 0 && row.status == "failed",
    }
}

/// The buyer's instances in one order, or all of them.
pub async fn load_instances(
    state: &AppState,
    buyer_id: &str,
    order_id: Option<&str>,
) -> AppResult<Vec<Instance>> {
    let sql = format!(
        "SELECT {INSTANCE_COLUMNS} FROM instances WHERE buyer_id = $1 AND ($2 = '' OR order_id = $2)
         ORDER BY created_at_ms DESC, name"
    );
    let rows: Vec<InstanceRow> = sqlx::query_as(&sql)
        .bind(buyer_id)
        .bind(order_id.unwrap_or(""))
        .fetch_all(&state.db)
        .await?;
    let now = state.clock.now();
    Ok(rows
        .into_iter()
        .map(|row| instance_from_row(row, now))
        .collect())
}

pub async fn load_owned(state: &AppState, buyer_id: &str, id: &str) -> AppResult<Instance> {
    let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1 AND buyer_id = $2");
    let row: Option<InstanceRow> = sqlx::query_as(&sql)
        .bind(id)
        .bind(buyer_id)
        .fetch_optional(&state.db)
        .await?;
    row.map(|row| instance_from_row(row, state.clock.now()))
        .ok_or_else(|| AppError::not_found("instance"))
}

/// One of the buyer's instances with its SLA so far, past credits and
/// event log.
pub async fn detail(state: &AppState, buyer_id: &str, id: &str) -> AppResult<InstanceDetail> {
    let instance = load_owned(state, buyer_id, id).await?;
    let sla = Some(sla::instance_sla(state, id, state.clock.now()).await?);
    let credits = sla::applied_credits(state, id).await?;
    let events: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT at_ms, kind, message FROM instance_events WHERE instance_id = $1 ORDER BY at_ms, id",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    Ok(InstanceDetail {
        instance,
        sla,
        credits,
        events: events
            .into_iter()
            .map(|(at, kind, message)| InstanceEvent {
                at: rfc3339(at),
                kind,
                message,
            })
            .collect(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Stop,
    Start,
    Terminate,
}

/// What the buyer asked of an instance, done as far as it can be now:
/// the host carries out the rest when it next heartbeats.
pub async fn act(
    state: &AppState,
    buyer_id: &str,
    id: &str,
    action: Action,
) -> AppResult<Instance> {
    let current = load_owned(state, buyer_id, id).await?;
    let status = current.status;
    let conflict = |detail: String| {
        AppError::problem(
            kinds::CONFLICT,
            "Not possible now",
            StatusCode::CONFLICT,
            detail,
        )
    };
    let now = state.clock.now();
    if status == InstanceStatus::Failed && action == Action::Terminate {
        // A failed instance waiting for auto-recovery can be given up.
        let mut tx = db::begin_write(&state.db).await?;
        let given_up = sqlx::query(
            "UPDATE instances SET awaiting_recovery = 0, status = 'terminated', desired_state = 'terminated', updated_at_ms = $3
             WHERE id = $1 AND buyer_id = $2 AND status = 'failed' AND awaiting_recovery = 1",
        )
        .bind(id)
        .bind(buyer_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if given_up.rows_affected() == 1 {
            record_event(
                &mut tx,
                id,
                "terminated",
                "Terminated by the buyer while waiting for auto-recovery.",
                now,
            )
            .await?;
            tx.commit().await?;
            return load_owned(state, buyer_id, id).await;
        }
    }
    if status.is_final() {
        return Err(conflict(format!("The instance is {}.", status.as_str())));
    }
    let mut tx = db::begin_write(&state.db).await?;
    match action {
        Action::Stop => match status {
            InstanceStatus::Stopped | InstanceStatus::Stopping => {}
            _ => {
                set_desired(&mut tx, id, "stopped", Some("stopping"), now).await?;
                // Billing ends at the buyer's request, not when (or whether)
                // the host carries it out (`cleanups` handles a host that
                // does not).
                ledger::accrue(&mut tx, id, now, false).await?;
                stop_requested(&mut tx, id, now).await?;
                record_event(
                    &mut tx,
                    id,
                    "stop_requested",
                    "Stop requested by the buyer.",
                    now,
                )
                .await?;
            }
        },
        Action::Start => match status {
            InstanceStatus::Stopped => {
                set_desired(&mut tx, id, "running", Some("provisioning"), now).await?;
                // Wanted running again: a stop the host never made is moot.
                sqlx::query("UPDATE instances SET cleanup_pending = 0 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                record_event(
                    &mut tx,
                    id,
                    "start_requested",
                    "Start requested by the buyer.",
                    now,
                )
                .await?;
            }
            InstanceStatus::Running | InstanceStatus::Provisioning | InstanceStatus::Pending => {}
            _ => {
                return Err(conflict(
                    "Wait until the instance has stopped, then start it.".into(),
                ));
            }
        },
        Action::Terminate => {
            let (host_status,): (String,) = sqlx::query_as(
                "SELECT h.status FROM hosts h JOIN instances i ON i.host_id = h.id WHERE i.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            set_desired(&mut tx, id, "terminated", Some("stopping"), now).await?;
            ledger::accrue(&mut tx, id, now, false).await?;
            stop_requested(&mut tx, id, now).await?;
            record_event(
                &mut tx,
                id,
                "terminate_requested",
                "Termination requested by the buyer.",
                now,
            )
            .await?;
            // Nothing to wait for when the host never started it or is gone.
            if status == InstanceStatus::Pending || host_status != "online" {
                finish(&mut tx, id, InstanceStatus::Terminated, "Terminated.", now).await?;
            }
        }
    }
    tx.commit().await?;
    load_owned(state, buyer_id, id).await
}

/// Records when the buyer asked for the stop or termination.
async fn stop_requested(
    conn: &mut crate::db::Conn,
    id: &str,
    now: crate::clock::Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE instances SET stop_requested_at_ms = $2 WHERE id = $1")
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
