//! The catalog: images, flavors, SLA tiers (with their credit schedules) and
//! zones. Images, flavors and tiers are reference data seeded by migrations.

use sparecloud_api::catalog::{Capacity, Flavor, Image, SlaCredit, SlaTier, Zone};

use crate::error::AppResult;
use crate::state::AppState;

pub async fn images(state: &AppState) -> AppResult<Vec<Image>> {
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT id, name, os, description, min_disk_gib FROM images ORDER BY sort_order",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, os, description, min_disk_gib)| Image {
            id,
            name,
            os,
            description,
            min_disk_gib: min_disk_gib as u32,
        })
        .collect())
}

pub async fn flavors(state: &AppState) -> AppResult<Vec<Flavor>> {
    let rows: Vec<(String, i64, i64, i64)> =
        sqlx::query_as("SELECT id, vcpu, ram_gib, disk_gib FROM flavors ORDER BY sort_order")
            .fetch_all(&state.db)
            .await?;
    Ok(rows.into_iter().map(flavor_from_row).collect())
}

/// A capacity read from BIGINT columns (a negative value, such as free
/// capacity gone below zero, reads as none).
pub fn capacity_from_row(vcpu: i64, ram_gib: i64, disk_gib: i64) -> Capacity {
    let size = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
    Capacity {
        vcpu: size(vcpu),
        ram_gib: size(ram_gib),
        disk_gib: size(disk_gib),
    }
}

pub fn flavor_from_row((id, vcpu, ram_gib, disk_gib): (String, i64, i64, i64)) -> Flavor {
    Flavor {
        id,
        vcpu: vcpu as u32,
        ram_gib: ram_gib as u32,
        disk_gib: disk_gib as u32,
    }
}

pub async fn sla_tiers(state: &AppState) -> AppResult<Vec<SlaTier>> {
    let tiers: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT id, name, availability_bp FROM sla_tiers ORDER BY sort_order")
            .fetch_all(&state.db)
            .await?;
    let credits: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT tier_id, below_bp, credit_percent FROM sla_credits ORDER BY below_bp DESC",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(tiers
        .into_iter()
        .map(|(id, name, availability_bp)| SlaTier {
            credits: credits
                .iter()
                .filter(|(tier, _, _)| *tier == id)
                .map(|(_, below_bp, credit_percent)| SlaCredit {
                    below_bp: *below_bp as u32,
                    credit_percent: *credit_percent as u32,
                })
                .collect(),
            id,
            name,
            availability_bp: availability_bp as u32,
        })
        .collect())
}

/// Zones with at least one online host.
pub async fn zones(state: &AppState) -> AppResult<Vec<Zone>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT zone, COUNT(*), COUNT(DISTINCT seller_id) FROM hosts
         WHERE status = 'online' GROUP BY zone ORDER BY zone",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, hosts, sellers)| Zone {
            id,
            hosts_online: hosts as u32,
            sellers: sellers as u32,
        })
        .collect())
}

/// Whether a row with this id exists in a catalog table (`images`,
/// `flavors`, `sla_tiers`).
pub async fn exists(state: &AppState, table: CatalogTable, id: &str) -> AppResult<bool> {
    let sql = match table {
        CatalogTable::Flavors => "SELECT COUNT(*) FROM flavors WHERE id = $1",
        CatalogTable::SlaTiers => "SELECT COUNT(*) FROM sla_tiers WHERE id = $1",
    };
    let (count,): (i64,) = sqlx::query_as(sql).bind(id).fetch_one(&state.db).await?;
    Ok(count > 0)
}

#[derive(Debug, Clone, Copy)]
pub enum CatalogTable {
    Flavors,
    SlaTiers,
}
