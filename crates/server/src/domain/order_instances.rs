//! An order's instances: created in one write transaction on the hosts its
//! quote held, each with its placement and first event, the partner's
//! share and the commission fixed at order time.

use crate::auth::new_id;
use crate::clock::Millis;
use crate::db;
use crate::domain::instance::{placed_on, record_event};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// One instance's place, as its quote held it.
#[derive(sqlx::FromRow)]
struct HoldRow {
    slot: i64,
    host_id: String,
    seller_id: String,
    zone: String,
    offer_id: String,
    image_id: String,
    flavor_id: String,
    sla_tier: String,
    vcpu: i64,
    ram_gib: i64,
    disk_gib: i64,
    hourly_cents: i64,
    placement: String,
    auto_recover: i64,
}

/// Creates an order's instances on the hosts its quote held, in one write
/// transaction, and marks the order completed with its authorisation.
#[allow(clippy::too_many_arguments)] // the order's facts, each its own column
pub async fn create_instances(
    state: &AppState,
    buyer_id: &str,
    order_id: &str,
    quote_id: &str,
    authorization_id: &str,
    amount: i64,
    now: Millis,
) -> AppResult<()> {
    let mut tx = db::begin_write(&state.db).await?;
    // The partner's share is fixed at order time, like the commission.
    let (partner_id, partner_share_bp): (Option<String>, Option<i64>) = sqlx::query_as(
        "SELECT o.partner_id, p.share_bp FROM orders o LEFT JOIN partners p ON p.id = o.partner_id WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("UPDATE quotes SET status = 'ordered' WHERE id = $1 AND status = 'ordering'")
        .bind(quote_id)
        .execute(&mut *tx)
        .await?;
    let (ssh_key,): (String,) = sqlx::query_as("SELECT ssh_public_key FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?;
    let holds: Vec<HoldRow> = sqlx::query_as(
        "SELECT h.slot, h.host_id, hs.seller_id, hs.zone, h.offer_id, q.image_id, q.flavor_id, q.sla_tier,
                f.vcpu, f.ram_gib, f.disk_gib, h.hourly_cents, q.placement, q.auto_recover
         FROM quote_holds h JOIN quotes q ON q.id = h.quote_id JOIN hosts hs ON hs.id = h.host_id
         JOIN flavors f ON f.id = q.flavor_id
         WHERE h.quote_id = $1 ORDER BY h.slot",
    )
    .bind(quote_id)
    .fetch_all(&mut *tx)
    .await?;
    for hold in holds {
        let id = new_id("ins");
        let name = format!("{}-{}", hold.image_id, &id[id.len() - 4..]);
        sqlx::query(
            "INSERT INTO instances (id, order_id, buyer_id, seller_id, offer_id, host_id, name, image_id, flavor_id, sla_tier,
               zone, vcpu, ram_gib, disk_gib, hourly_cents, commission_bp, ssh_public_key, status, desired_state,
               created_at_ms, updated_at_ms, partner_id, partner_share_bp, placement, auto_recover)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'pending', 'running', $18, $18, $19, $20, $21, $22)",
        )
        .bind(&id)
        .bind(order_id)
        .bind(buyer_id)
        .bind(&hold.seller_id)
        .bind(&hold.offer_id)
        .bind(&hold.host_id)
        .bind(&name)
        .bind(&hold.image_id)
        .bind(&hold.flavor_id)
        .bind(&hold.sla_tier)
        .bind(&hold.zone)
        .bind(hold.vcpu)
        .bind(hold.ram_gib)
        .bind(hold.disk_gib)
        .bind(hold.hourly_cents)
        .bind(state.settings.commission_bp)
        .bind(&ssh_key)
        .bind(now)
        .bind(&partner_id)
        .bind(partner_share_bp.unwrap_or(0))
        .bind(&hold.placement)
        .bind(hold.auto_recover)
        .execute(&mut *tx)
        .await?;
        placed_on(&mut tx, &id, &hold.host_id, now).await?;
        record_event(
            &mut tx,
            &id,
            "created",
            &format!(
                "Ordered; placed on a host in {} (slot {}).",
                hold.zone,
                hold.slot + 1
            ),
            now,
        )
        .await?;
    }
    // Only an order still processing completes: one the stranded-order job
    // failed (and whose authorisation it voided) stays failed.
    let completed = sqlx::query(
        "UPDATE orders SET status = 'completed', authorization_id = $2, payment_status = 'authorized',
           authorized_cents = $3 WHERE id = $1 AND status = 'processing'",
    )
    .bind(order_id)
    .bind(authorization_id)
    .bind(amount)
    .execute(&mut *tx)
    .await?;
    if completed.rows_affected() != 1 {
        return Err(AppError::internal(format!(
            "order {order_id} stopped processing before its instances were made"
        )));
    }
    tx.commit().await?;
    Ok(())
}
