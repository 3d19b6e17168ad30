//! Instances: the buyer's view and actions, and the state changes the
//! agents report.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use sparecloud_api::Problem;
use sparecloud_api::agent::{ObservedInstance, ObservedState};
use sparecloud_api::catalog::Capacity;
use sparecloud_api::checkout::Placement;
use sparecloud_api::instances::{
    Instance, InstanceDetail, InstanceEvent, InstanceSla, InstanceStatus,
};
use sparecloud_api::problem::kinds;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{AuthUser, new_id};
use crate::capacity::{self, Conn};
use crate::clock::{Millis, rfc3339};
use crate::error::{AppError, AppResult};
use crate::extract::Json;
use crate::{ledger, sla};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_instances))
        .routes(routes!(get_instance))
        .routes(routes!(stop_instance))
        .routes(routes!(start_instance))
        .routes(routes!(terminate_instance))
}

const INSTANCE_COLUMNS: &str = "id, order_id, name, status, image_id, flavor_id, sla_tier, zone, vcpu, ram_gib, disk_gib,
    address, hourly_cents, commission_bp, billed_ms, running_since_ms, created_at_ms, updated_at_ms, placement, auto_recover,
    awaiting_recovery";

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

async fn load_owned(state: &AppState, user: &AuthUser, id: &str) -> AppResult<Instance> {
    let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1 AND buyer_id = $2");
    let row: Option<InstanceRow> = sqlx::query_as(&sql)
        .bind(id)
        .bind(&user.account_id)
        .fetch_optional(&state.db)
        .await?;
    row.map(|row| instance_from_row(row, state.clock.now()))
        .ok_or_else(|| AppError::not_found("instance"))
}

/// The signed-in buyer's instances, newest first.
#[utoipa::path(get, path = "/instances", tag = "instances", security(("bearer" = [])),
    responses((status = 200, body = Vec<Instance>)))]
async fn list_instances(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<Vec<Instance>>> {
    Ok(Json(load_instances(&state, &user.account_id, None).await?))
}

/// One instance with its event log.
#[utoipa::path(get, path = "/instances/{id}", tag = "instances", security(("bearer" = [])),
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, body = InstanceDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_instance(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<InstanceDetail>> {
    let instance = load_owned(&state, &user, &id).await?;
    let sla = Some(instance_sla(&state, &id, state.clock.now()).await?);
    let credits = applied_credits(&state, &id).await?;
    let events: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT at_ms, kind, message FROM instance_events WHERE instance_id = $1 ORDER BY at_ms, id",
    )
    .bind(&id)
    .fetch_all(&state.db)
    .await?;
    Ok(Json(InstanceDetail {
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
    }))
}

/// Asks the host to stop the instance; billing stops when it has.
#[utoipa::path(post, path = "/instances/{id}/stop", tag = "instances", security(("bearer" = [])),
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, body = Instance),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn stop_instance(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Instance>> {
    act(&state, &user, &id, Action::Stop).await
}

/// Asks the host to start a stopped instance again.
#[utoipa::path(post, path = "/instances/{id}/start", tag = "instances", security(("bearer" = [])),
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, body = Instance),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn start_instance(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Instance>> {
    act(&state, &user, &id, Action::Start).await
}

/// Destroys the instance for good and frees its capacity.
#[utoipa::path(post, path = "/instances/{id}/terminate", tag = "instances", security(("bearer" = [])),
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, body = Instance),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn terminate_instance(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Instance>> {
    act(&state, &user, &id, Action::Terminate).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Stop,
    Start,
    Terminate,
}

async fn act(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    action: Action,
) -> AppResult<Json<Instance>> {
    let current = load_owned(state, user, id).await?;
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
        let mut tx = crate::db::begin_write(&state.db).await?;
        let given_up = sqlx::query(
            "UPDATE instances SET awaiting_recovery = 0, status = 'terminated', desired_state = 'terminated', updated_at_ms = $3
             WHERE id = $1 AND buyer_id = $2 AND status = 'failed' AND awaiting_recovery = 1",
        )
        .bind(id)
        .bind(&user.account_id)
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
            return Ok(Json(load_owned(state, user, id).await?));
        }
    }
    if status.is_final() {
        return Err(conflict(format!("The instance is {}.", status.as_str())));
    }
    let mut tx = crate::db::begin_write(&state.db).await?;
    match action {
        Action::Stop => match status {
            InstanceStatus::Stopped | InstanceStatus::Stopping => {}
            _ => {
                set_desired(&mut tx, id, "stopped", Some("stopping"), now).await?;
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
    Ok(Json(load_owned(state, user, id).await?))
}

async fn set_desired(
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
        let need = Capacity {
            vcpu: vcpu as u32,
            ram_gib: ram as u32,
            disk_gib: disk as u32,
        };
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

/// Whether any observation would change anything: a read, so that the
/// usual heartbeat ("all as before") takes no write lock for instances.
pub async fn observations_change_anything(
    pool: &crate::db::Pool,
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
                ObservedState::Stopped => {
                    crate::ha::complete_move(conn, &seen.id, crate::ha::Move::Migrated, now)
                        .await?;
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
            }
            None => {}
        }
    }
    Ok(())
}

async fn set_status(
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

/// The instance's availability this month so far (its host's, while the
/// instance existed) and the credit its tier gives for it.
pub async fn instance_sla(state: &AppState, id: &str, now: Millis) -> AppResult<InstanceSla> {
    let (month_start, _, month) = sla::month_of(now);
    instance_sla_between(state, id, month_start, now, month).await
}

/// The instance's availability over `[window_start, window_end)` (clipped
/// to its life) and the credit for it on the charges billed in the window.
pub async fn instance_sla_between(
    state: &AppState,
    id: &str,
    window_start: Millis,
    window_end: Millis,
    month: String,
) -> AppResult<InstanceSla> {
    Ok(measure_sla(state, id, window_start, window_end, month)
        .await?
        .0)
}

/// `instance_sla_between`, with the downtime each seller's hosts caused
/// while the instance was on them (ms), which decides who pays the credit.
pub async fn measure_sla(
    state: &AppState,
    id: &str,
    window_start: Millis,
    window_end: Millis,
    month: String,
) -> AppResult<(InstanceSla, Vec<(String, Millis)>)> {
    let (tier, created, status, updated): (String, i64, String, i64) = sqlx::query_as(
        "SELECT sla_tier, created_at_ms, status, updated_at_ms FROM instances WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&state.db)
    .await?;
    let from = created.max(window_start);
    let ended = InstanceStatus::parse(&status).is_some_and(InstanceStatus::is_final);
    let to = if ended {
        updated.min(window_end)
    } else {
        window_end
    };
    // The outages of each host the instance was on, while it was there.
    // (outage start, end, on the host from, until, the host's seller)
    type OutageRow = (i64, Option<i64>, i64, Option<i64>, String);
    let outages: Vec<OutageRow> = sqlx::query_as(
        "SELECT o.started_at_ms, o.ended_at_ms, p.from_ms, p.to_ms, h.seller_id
         FROM instance_placements p JOIN host_outages o ON o.host_id = p.host_id JOIN hosts h ON h.id = p.host_id
         WHERE p.instance_id = $1 AND o.started_at_ms < $3 AND (o.ended_at_ms IS NULL OR o.ended_at_ms > $2)
           AND o.started_at_ms < COALESCE(p.to_ms, $3) AND (o.ended_at_ms IS NULL OR o.ended_at_ms > p.from_ms)",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .fetch_all(&state.db)
    .await?;
    let outages: Vec<(String, (i64, Option<i64>))> = outages
        .into_iter()
        .map(|(start, end, placed, left, seller)| {
            let end = match (end, left) {
                (Some(end), Some(left)) => Some(end.min(left)),
                (end, left) => end.or(left),
            };
            (seller, (start.max(placed), end))
        })
        .collect();
    let all: Vec<(i64, Option<i64>)> = outages.iter().map(|(_, o)| *o).collect();
    let availability_bp = sla::availability_bp(from, to, &all);
    let mut by_seller: std::collections::BTreeMap<String, Vec<(i64, Option<i64>)>> =
        Default::default();
    for (seller, outage) in outages {
        by_seller.entry(seller).or_default().push(outage);
    }
    let down_by_seller: Vec<(String, Millis)> = by_seller
        .into_iter()
        .map(|(seller, theirs)| {
            let down = sla::down_ms(from, to, &theirs);
            (seller, down)
        })
        .collect();
    let tier = crate::catalog::sla_tiers(state)
        .await?
        .into_iter()
        .find(|t| t.id == tier)
        .ok_or_else(|| AppError::Internal(format!("instance {id} has unknown tier {tier}")))?;
    let credit_percent = sla::credit_percent(availability_bp, &tier.credits);
    let (charged,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(buyer_charge_cents), 0) AS BIGINT) FROM ledger_entries
         WHERE instance_id = $1 AND period_end_ms > $2 AND period_end_ms <= $3",
    )
    .bind(id)
    .bind(window_start)
    .bind(window_end)
    .fetch_one(&state.db)
    .await?;
    let sla = InstanceSla {
        month,
        target_bp: tier.availability_bp,
        availability_bp,
        credit_percent,
        credit_cents: (charged.max(0) as u64) * u64::from(credit_percent) / 100,
    };
    Ok((sla, down_by_seller))
}

/// Credits applied to the instance for past months.
pub async fn applied_credits(state: &AppState, id: &str) -> AppResult<Vec<InstanceSla>> {
    let rows: Vec<(String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT month, target_bp, availability_bp, credit_percent, credit_cents FROM sla_month_credits
         WHERE instance_id = $1 AND credit_percent > 0 ORDER BY month DESC",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(month, target, availability, percent, cents)| InstanceSla {
                month,
                target_bp: target as u32,
                availability_bp: availability as u32,
                credit_percent: percent as u32,
                credit_cents: cents.max(0) as u64,
            },
        )
        .collect())
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
