//! The seller's hosts: capacity, status, measured availability and drain
//! progress, and draining them for maintenance.

use sparecloud_api::agent::{Accelerator, Hypervisor, HypervisorDriver};
use sparecloud_api::catalog::Capacity;
use sparecloud_api::seller::{DrainProgress, Host, HostStatus};

use crate::clock::rfc3339;
use crate::db;
use crate::domain::catalog;
use crate::domain::uptime::{UPTIME_WINDOW_MS, availability_bp, month_of, uptime_bp};
use crate::domain::{capacity, ha};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Drains a host (no new placements; its instances cold-migrate to other
/// hosts) or puts it back in service (moves still waiting are called off).
pub async fn set_draining(
    state: &AppState,
    seller_id: &str,
    id: &str,
    draining: bool,
) -> AppResult<Host> {
    let mut tx = db::begin_write(&state.db).await?;
    let now = state.clock.now();
    let zone: Option<(String,)> = sqlx::query_as(
        "UPDATE hosts SET draining = $3,
           drain_started_ms = CASE WHEN $3 = 0 THEN NULL WHEN draining = 0 THEN $4 ELSE drain_started_ms END
         WHERE id = $1 AND seller_id = $2 RETURNING zone",
    )
    .bind(id)
    .bind(seller_id)
    .bind(i64::from(draining))
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let (zone,) = zone.ok_or_else(|| AppError::not_found("host"))?;
    capacity::refresh_offers(&mut tx, seller_id, &zone, now).await?;
    tx.commit().await?;
    if draining {
        ha::migrate_off(state, id, true).await?;
    } else {
        ha::cancel_moves(state, id).await?;
    }
    let mut hosts = load_hosts(state, seller_id, Some(id)).await?;
    hosts.pop().ok_or_else(|| AppError::not_found("host"))
}

/// Revokes a host's credential: its agent is refused from now on (and told
/// why), so the host goes offline at its next missed heartbeats as any
/// silent host does, its instances handled as on a failed host. Registering
/// the machine again needs a new install token.
pub async fn revoke_credential(state: &AppState, seller_id: &str, id: &str) -> AppResult<Host> {
    let revoked = sqlx::query(
        "UPDATE hosts SET credential_revoked_at_ms = COALESCE(credential_revoked_at_ms, $3)
         WHERE id = $1 AND seller_id = $2",
    )
    .bind(id)
    .bind(seller_id)
    .bind(state.clock.now())
    .execute(&state.db)
    .await?;
    if revoked.rows_affected() == 0 {
        return Err(AppError::not_found("host"));
    }
    tracing::info!(host_id = %id, "host credential revoked by its seller");
    let mut hosts = load_hosts(state, seller_id, Some(id)).await?;
    hosts.pop().ok_or_else(|| AppError::not_found("host"))
}

#[derive(sqlx::FromRow)]
struct HostRow {
    id: String,
    name: String,
    zone: String,
    vcpu: i64,
    ram_gib: i64,
    disk_gib: i64,
    alloc_vcpu: i64,
    alloc_ram_gib: i64,
    alloc_disk_gib: i64,
    status: String,
    draining: i64,
    last_heartbeat_ms: i64,
    registered_at_ms: i64,
    instances: i64,
    migrating: i64,
    moved: i64,
    hypervisor_driver: Option<String>,
    hypervisor_accel: Option<String>,
    disk_used_bytes: Option<i64>,
    credential_revoked_at_ms: Option<i64>,
}

/// The seller's hosts (or the one `only` names) as the dashboard shows them.
pub async fn load_hosts(
    state: &AppState,
    seller_id: &str,
    only: Option<&str>,
) -> AppResult<Vec<Host>> {
    let rows: Vec<HostRow> = sqlx::query_as(
        "SELECT h.id, h.name, h.zone, h.vcpu, h.ram_gib, h.disk_gib, h.alloc_vcpu, h.alloc_ram_gib, h.alloc_disk_gib,
                h.status, h.draining, h.last_heartbeat_ms, h.registered_at_ms, h.hypervisor_driver, h.hypervisor_accel,
                h.disk_used_bytes, h.credential_revoked_at_ms,
                (SELECT COUNT(*) FROM instances i WHERE i.host_id = h.id AND i.status NOT IN ('terminated', 'failed'))
                  AS instances,
                (SELECT COUNT(*) FROM instances i WHERE i.host_id = h.id AND i.status NOT IN ('terminated', 'failed')
                   AND i.move_to_host_id IS NOT NULL) AS migrating,
                (SELECT COUNT(*) FROM instance_placements p WHERE p.host_id = h.id AND p.left_because = 'migrated'
                   AND p.to_ms >= COALESCE(h.drain_started_ms, 0)) AS moved
         FROM hosts h WHERE h.seller_id = $1 AND ($2 = '' OR h.id = $2)
         ORDER BY h.zone, h.name, h.id",
    )
    .bind(seller_id)
    .bind(only.unwrap_or(""))
    .fetch_all(&state.db)
    .await?;
    let now = state.clock.now();
    let mut conn = state.db.acquire().await?;
    let mut hosts = Vec::with_capacity(rows.len());
    for row in rows {
        let HostRow {
            id,
            name,
            zone,
            status,
            draining,
            last_heartbeat_ms: heartbeat,
            registered_at_ms: registered,
            instances,
            migrating,
            moved,
            ..
        } = row;
        let hypervisor = row
            .hypervisor_driver
            .as_deref()
            .and_then(HypervisorDriver::parse)
            .map(|driver| Hypervisor {
                driver,
                accel: row.hypervisor_accel.as_deref().and_then(Accelerator::parse),
            });
        let capacity = catalog::capacity_from_row(row.vcpu, row.ram_gib, row.disk_gib);
        let allocated =
            catalog::capacity_from_row(row.alloc_vcpu, row.alloc_ram_gib, row.alloc_disk_gib);
        // One read of the outages serves both windows.
        let (month_start, ..) = month_of(now);
        let outages =
            capacity::host_outages(&mut conn, &id, month_start.min(now - UPTIME_WINDOW_MS)).await?;
        let uptime_bp = uptime_bp(registered, &outages, now);
        let month_availability_bp = availability_bp(registered.max(month_start), now, &outages);
        hosts.push(Host {
            status: if status != "online" {
                HostStatus::Offline
            } else if draining != 0 {
                HostStatus::Draining
            } else {
                HostStatus::Online
            },
            free: Capacity {
                vcpu: capacity.vcpu.saturating_sub(allocated.vcpu),
                ram_gib: capacity.ram_gib.saturating_sub(allocated.ram_gib),
                disk_gib: capacity.disk_gib.saturating_sub(allocated.disk_gib),
            },
            id,
            name,
            zone,
            capacity,
            allocated,
            instances: instances as u32,
            last_heartbeat_at: rfc3339(heartbeat),
            uptime_bp,
            month_availability_bp,
            registered_at: rfc3339(registered),
            hypervisor,
            disk_used_bytes: row.disk_used_bytes.map(|b| b.max(0) as u64),
            credential_revoked_at: row.credential_revoked_at_ms.map(rfc3339),
            drain: (draining != 0).then_some(DrainProgress {
                moved: moved as u32,
                migrating: migrating as u32,
                waiting: (instances - migrating).max(0) as u32,
            }),
        });
    }
    Ok(hosts)
}
