//! High availability: instances are cold-migrated off draining hosts, fail
//! with a host lost past the grace period, and are started again elsewhere
//! when their order asked for auto-recovery; every move keeps the order's
//! spread and the instance's id.
//!
//! Each instance moves in a write transaction of its own, claimed by a
//! conditional UPDATE, so several server processes may run these passes at
//! once without moving anything twice.

use sparecloud_api::catalog::Capacity;
use sparecloud_api::checkout::Placement;
use sparecloud_api::instances::InstanceStatus;

use crate::clock::Millis;
use crate::db::{self, Conn};
use crate::domain::catalog;
use crate::domain::instance::{finish, placed_on, record_event};
use crate::domain::placement::{self, Candidate};
use crate::domain::{capacity, ledger};
use crate::error::AppResult;
use crate::state::AppState;

/// Why an instance left a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Its host was drained for maintenance.
    Migrated,
    /// Its host failed and the order asked for auto-recovery.
    Recovered,
}

impl Move {
    fn as_str(self) -> &'static str {
        match self {
            Move::Migrated => "migrated",
            Move::Recovered => "recovered",
        }
    }
}

/// What a move needs to know of an instance.
#[derive(sqlx::FromRow)]
struct Movable {
    host_id: String,
    seller_id: String,
    zone: String,
    order_id: String,
    flavor_id: String,
    image_id: String,
    tier_bp: i64,
    hourly_cents: i64,
    placement: String,
    status: String,
    vcpu: i64,
    ram_gib: i64,
    disk_gib: i64,
    move_to_host_id: Option<String>,
}

impl Movable {
    fn size(&self) -> Capacity {
        catalog::capacity_from_row(self.vcpu, self.ram_gib, self.disk_gib)
    }
}

async fn movable(conn: &mut Conn, id: &str) -> Result<Option<Movable>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.host_id, i.seller_id, i.zone, i.order_id, i.flavor_id, i.image_id, t.availability_bp AS tier_bp, i.hourly_cents,
                i.placement, i.status, i.vcpu, i.ram_gib, i.disk_gib, i.move_to_host_id
         FROM instances i JOIN sla_tiers t ON t.id = i.sla_tier WHERE i.id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

/// The best other host for the instance: one of an offer at its service
/// level or better that keeps it apart from its order's other instances as
/// the order asked. Its own seller is preferred (same zone first); another
/// seller only at no more than what the buyer pays, which the buyer keeps
/// paying.
async fn new_home(
    conn: &mut Conn,
    id: &str,
    instance: &Movable,
) -> Result<Option<Candidate>, sqlx::Error> {
    let siblings: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT i.host_id, i.zone, i.move_to_host_id, t.zone FROM instances i
         LEFT JOIN hosts t ON t.id = i.move_to_host_id
         WHERE i.order_id = $1 AND i.id <> $2 AND i.status NOT IN ('terminated', 'failed')",
    )
    .bind(&instance.order_id)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    // A sibling on its way elsewhere counts where it is and where it goes.
    let mut apart = Vec::new();
    for (host, zone, to_host, to_zone) in siblings {
        apart.push((host, zone));
        if let (Some(host), Some(zone)) = (to_host, to_zone) {
            apart.push((host, zone));
        }
    }
    let placement = Placement::parse(&instance.placement).unwrap_or_default();
    let search = placement::Search {
        flavor_id: &instance.flavor_id,
        image_id: &instance.image_id,
        min_availability_bp: instance.tier_bp,
        need: instance.size(),
        count: 1,
        placement,
        apart_from: &apart,
        first: placement::First::Seller {
            seller_id: &instance.seller_id,
            zone: &instance.zone,
        },
        // Another seller only at no more than what the buyer pays.
        others_up_to: Some(instance.hourly_cents),
        exclude_host: Some(&instance.host_id),
        page_size: placement::PAGE,
    };
    Ok(placement::find(conn, &search)
        .await?
        .ok()
        .and_then(|mut chosen| chosen.pop()))
}

/// Whether a search outside any transaction finds a new home: the passes
/// that retry every second use it so that an instance no host can take yet
/// costs no write lock. The search is made again inside the transaction.
async fn may_find_new_home(state: &AppState, id: &str) -> AppResult<bool> {
    let mut conn = state.db.acquire().await?;
    let Some(instance) = movable(&mut conn, id).await? else {
        return Ok(false);
    };
    Ok(new_home(&mut conn, id, &instance).await?.is_some())
}

/// Starts moving every instance off a draining host. Instances that are not
/// running move at once; running ones are stopped first and move when the
/// host reports them stopped. Those no host can take yet wait (retried by
/// every jobs pass); `announce` records that in their event log.
pub async fn migrate_off(state: &AppState, host_id: &str, announce: bool) -> AppResult<usize> {
    let ids: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM instances WHERE host_id = $1 AND move_to_host_id IS NULL
           AND status NOT IN ('terminated', 'failed') ORDER BY id",
    )
    .bind(host_id)
    .fetch_all(&state.db)
    .await?;
    let mut started = 0;
    for (id,) in ids {
        if start_move(state, &id, host_id, announce).await? {
            started += 1;
        }
    }
    Ok(started)
}

async fn start_move(
    state: &AppState,
    id: &str,
    from_host: &str,
    announce: bool,
) -> AppResult<bool> {
    if !announce && !may_find_new_home(state, id).await? {
        return Ok(false);
    }
    let now = state.clock.now();
    let mut tx = db::begin_write(&state.db).await?;
    let Some(instance) = movable(&mut tx, id).await? else {
        return Ok(false);
    };
    let status = InstanceStatus::parse(&instance.status).unwrap_or(InstanceStatus::Failed);
    if instance.host_id != from_host || instance.move_to_host_id.is_some() || status.is_final() {
        return Ok(false);
    }
    let Some(target) = new_home(&mut tx, id, &instance).await? else {
        if announce {
            record_event(
                &mut tx,
                id,
                "migration_waiting",
                "The host is going into maintenance, and no other host that keeps this instance's service level and spread has room yet: it keeps running here until one does.",
                now,
            )
            .await?;
            tx.commit().await?;
        }
        return Ok(false);
    };
    if !capacity::allocate(&mut tx, &target.host_id, instance.size()).await? {
        return Ok(false);
    }
    let claimed = sqlx::query(
        "UPDATE instances SET move_to_host_id = $2, move_to_offer_id = $3, updated_at_ms = $4,
           status = CASE WHEN status IN ('running', 'provisioning') THEN 'stopping' ELSE status END
         WHERE id = $1 AND host_id = $5 AND move_to_host_id IS NULL AND status NOT IN ('terminated', 'failed')",
    )
    .bind(id)
    .bind(&target.host_id)
    .bind(&target.offer_id)
    .bind(now)
    .bind(from_host)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(false); // another process moved it: roll back the hold
    }
    record_event(
        &mut tx,
        id,
        "migrating",
        &format!(
            "The host is going into maintenance: the instance stops here and starts again, with the same id, on a host in {}.",
            target.zone
        ),
        now,
    )
    .await?;
    capacity::refresh_offers(&mut tx, &target.seller_id, &target.zone, now).await?;
    if matches!(status, InstanceStatus::Pending | InstanceStatus::Stopped) {
        complete_move(&mut tx, id, Move::Migrated, now).await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Puts an instance on the host it was moving to: its old host's capacity
/// is freed (a failed host's already was), billing stops until it runs
/// again, and it starts there if the buyer wants it running.
pub async fn complete_move(
    conn: &mut Conn,
    id: &str,
    why: Move,
    now: Millis,
) -> Result<(), sqlx::Error> {
    let Some(to_host) = movable(conn, id).await?.and_then(|i| i.move_to_host_id) else {
        return Ok(());
    };
    // Claim the move first (on PostgreSQL this locks the row), so a move
    // called off or made by another process meanwhile is not made twice.
    let claimed = sqlx::query(
        "UPDATE instances SET move_to_host_id = NULL WHERE id = $1 AND move_to_host_id = $2",
    )
    .bind(id)
    .bind(&to_host)
    .execute(&mut *conn)
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(());
    }
    let Some(instance) = movable(conn, id).await? else {
        return Ok(());
    };
    ledger::accrue(conn, id, now, false).await?;
    if instance.status != InstanceStatus::Failed.as_str() {
        capacity::release(conn, &instance.host_id, instance.size()).await?;
    }
    let (to_seller, to_zone): (String, String) =
        sqlx::query_as("SELECT seller_id, zone FROM hosts WHERE id = $1")
            .bind(&to_host)
            .fetch_one(&mut *conn)
            .await?;
    sqlx::query(
        "UPDATE instances SET host_id = $5, offer_id = move_to_offer_id, seller_id = $2, zone = $3,
           move_to_offer_id = NULL, awaiting_recovery = 0, address = NULL,
           running_since_ms = NULL, updated_at_ms = $4,
           status = CASE WHEN desired_state = 'stopped' THEN 'stopped' ELSE 'pending' END
         WHERE id = $1",
    )
    .bind(id)
    .bind(&to_seller)
    .bind(&to_zone)
    .bind(now)
    .bind(&to_host)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE instance_placements SET to_ms = $2, left_because = $3 WHERE instance_id = $1 AND to_ms IS NULL",
    )
    .bind(id)
    .bind(now)
    .bind(why.as_str())
    .execute(&mut *conn)
    .await?;
    placed_on(conn, id, &to_host, now).await?;
    let message = match why {
        Move::Migrated => format!(
            "Moved off the host in maintenance ({}) to a host in {to_zone}.",
            instance.zone
        ),
        Move::Recovered => format!(
            "Auto-recovery: placed on a healthy host in {to_zone}, keeping the order's spread. Its disk was on the failed host, so it starts afresh from its image."
        ),
    };
    record_event(conn, id, why.as_str(), &message, now).await?;
    capacity::refresh_offers(conn, &instance.seller_id, &instance.zone, now).await?;
    if (to_seller.as_str(), to_zone.as_str())
        != (instance.seller_id.as_str(), instance.zone.as_str())
    {
        capacity::refresh_offers(conn, &to_seller, &to_zone, now).await?;
    }
    Ok(())
}

/// Gives up the moves still waiting for their instances to stop on a host
/// that is no longer draining: they simply keep running there.
pub async fn cancel_moves(state: &AppState, host_id: &str) -> AppResult<usize> {
    let now = state.clock.now();
    let moving: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM instances WHERE host_id = $1 AND move_to_host_id IS NOT NULL",
    )
    .bind(host_id)
    .fetch_all(&state.db)
    .await?;
    let mut cancelled = 0;
    for (id,) in moving {
        let mut tx = db::begin_write(&state.db).await?;
        let Some(instance) = movable(&mut tx, &id).await? else {
            continue;
        };
        let Some(to_host) = instance.move_to_host_id.clone() else {
            continue;
        };
        let cleared = sqlx::query(
            "UPDATE instances SET move_to_host_id = NULL, move_to_offer_id = NULL, updated_at_ms = $3
             WHERE id = $1 AND move_to_host_id = $2",
        )
        .bind(&id)
        .bind(&to_host)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if cleared.rows_affected() != 1 {
            continue;
        }
        capacity::give_back(&mut tx, &to_host, instance.size(), now).await?;
        record_event(
            &mut tx,
            &id,
            "migration_cancelled",
            "The host's maintenance was called off: the instance stays where it is.",
            now,
        )
        .await?;
        tx.commit().await?;
        cancelled += 1;
    }
    Ok(cancelled)
}

/// Marks failed the instances of hosts offline for longer than the grace
/// period; those whose order asked for auto-recovery wait for a new host.
/// Billing ends at the host's last heartbeat. Returns how many failed.
pub async fn fail_lost_hosts(state: &AppState) -> AppResult<usize> {
    let now = state.clock.now();
    let cutoff = now - state.settings.failure_grace_ms;
    let lost: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT i.id, h.id, h.last_heartbeat_ms, i.auto_recover FROM instances i JOIN hosts h ON h.id = i.host_id
         WHERE h.status = 'offline' AND h.last_heartbeat_ms < $1 AND i.status NOT IN ('terminated', 'failed')
         ORDER BY i.id",
    )
    .bind(cutoff)
    .fetch_all(&state.db)
    .await?;
    let mut failed = 0;
    for (id, host_id, last_heartbeat, auto_recover) in lost {
        let mut tx = db::begin_write(&state.db).await?;
        // Still on that host and not failed yet: another process may have
        // failed and already recovered it elsewhere since the read.
        let claimed = sqlx::query(
            "UPDATE instances SET awaiting_recovery = auto_recover
             WHERE id = $1 AND host_id = $2 AND status NOT IN ('terminated', 'failed')",
        )
        .bind(&id)
        .bind(&host_id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            continue;
        }
        ledger::accrue(&mut tx, &id, last_heartbeat, false).await?;
        let minutes = state.settings.failure_grace_ms / 60_000;
        let recovery = if auto_recover != 0 {
            " Auto-recovery starts it again on another host."
        } else {
            ""
        };
        let message = format!(
            "Its host has been unreachable for over {minutes} minutes: the instance failed.{recovery}"
        );
        finish(&mut tx, &id, InstanceStatus::Failed, &message, now).await?;
        tx.commit().await?;
        failed += 1;
    }
    if failed > 0 {
        tracing::warn!(failed, "instances failed with their hosts");
    }
    Ok(failed)
}

/// Starts failed instances that wait for recovery on new hosts, keeping
/// their order's spread; those no host can take yet keep waiting.
/// Returns how many it placed.
pub async fn recover_waiting(state: &AppState) -> AppResult<usize> {
    let waiting: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM instances WHERE awaiting_recovery = 1 AND status = 'failed' ORDER BY id",
    )
    .fetch_all(&state.db)
    .await?;
    let mut recovered = 0;
    for (id,) in waiting {
        if !may_find_new_home(state, &id).await? {
            continue;
        }
        let now = state.clock.now();
        let mut tx = db::begin_write(&state.db).await?;
        let Some(instance) = movable(&mut tx, &id).await? else {
            continue;
        };
        let Some(target) = new_home(&mut tx, &id, &instance).await? else {
            continue;
        };
        if !capacity::allocate(&mut tx, &target.host_id, instance.size()).await? {
            continue;
        }
        let claimed = sqlx::query(
            "UPDATE instances SET move_to_host_id = $2, move_to_offer_id = $3
             WHERE id = $1 AND awaiting_recovery = 1 AND status = 'failed' AND move_to_host_id IS NULL",
        )
        .bind(&id)
        .bind(&target.host_id)
        .bind(&target.offer_id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            continue;
        }
        complete_move(&mut tx, &id, Move::Recovered, now).await?;
        tx.commit().await?;
        recovered += 1;
    }
    Ok(recovered)
}

/// Retries the moves off draining hosts that found no room before.
pub async fn retry_drains(state: &AppState) -> AppResult<usize> {
    let draining: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT h.id FROM hosts h JOIN instances i ON i.host_id = h.id
         WHERE h.draining <> 0 AND h.status = 'online' AND i.move_to_host_id IS NULL
           AND i.status NOT IN ('terminated', 'failed')",
    )
    .fetch_all(&state.db)
    .await?;
    let mut started = 0;
    for (host_id,) in draining {
        started += migrate_off(state, &host_id, false).await?;
    }
    Ok(started)
}
