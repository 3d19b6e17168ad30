//! An order as its buyer sees it: the quote it came from, where each
//! instance went, and the instances.

use sparecloud_api::checkout::{Order, OrderPayment, OrderStatus, Placement, Quote};

use crate::clock::rfc3339;
use crate::domain::instances::load_instances;
use crate::domain::quotes::{distinct, summarize};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[derive(sqlx::FromRow)]
struct OrderRow {
    status: String,
    payment_method_id: String,
    created_at_ms: i64,
    partner_id: Option<String>,
    quote_id: String,
    offer_id: String,
    image_id: String,
    sla_tier: String,
    instance_count: i64,
    placement: String,
    auto_recover: i64,
    unit_hourly_cents: i64,
    hourly_total_cents: i64,
    commission_hourly_cents: i64,
    estimated_month_cents: i64,
    expires_at_ms: i64,
    flavor_id: String,
    payment_status: Option<String>,
    authorized_cents: Option<i64>,
    captured_cents: Option<i64>,
    refund_reason: Option<String>,
}

pub async fn load_order(state: &AppState, buyer_id: &str, order_id: &str) -> AppResult<Order> {
    let row: Option<OrderRow> = sqlx::query_as(
        "SELECT o.status, o.payment_method_id, o.created_at_ms, o.partner_id,
                q.id AS quote_id, q.offer_id, q.image_id, q.sla_tier, q.instance_count, q.placement, q.auto_recover,
                q.unit_hourly_cents, q.hourly_total_cents, q.commission_hourly_cents, q.estimated_month_cents,
                q.expires_at_ms, q.flavor_id, o.payment_status, o.authorized_cents, o.captured_cents, o.refund_reason
         FROM orders o JOIN quotes q ON q.id = o.quote_id WHERE o.id = $1 AND o.buyer_id = $2",
    )
    .bind(order_id)
    .bind(buyer_id)
    .fetch_optional(&state.db)
    .await?;
    let OrderRow {
        status,
        payment_method_id,
        created_at_ms: created,
        partner_id,
        quote_id,
        offer_id,
        image_id,
        sla_tier,
        instance_count: count,
        placement,
        auto_recover,
        unit_hourly_cents: unit,
        hourly_total_cents: total,
        commission_hourly_cents: commission,
        estimated_month_cents: month,
        payment_status,
        authorized_cents,
        captured_cents,
        refund_reason,
        expires_at_ms: expires,
        flavor_id,
    } = row.ok_or_else(|| AppError::not_found("order"))?;
    let instances = load_instances(state, buyer_id, Some(order_id)).await?;
    let holds: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT h.host_id, h.offer_id, s.company_name, hs.zone, h.hourly_cents
         FROM quote_holds h JOIN hosts hs ON hs.id = h.host_id JOIN sellers s ON s.account_id = hs.seller_id
         WHERE h.quote_id = $1 ORDER BY h.slot",
    )
    .bind(&quote_id)
    .fetch_all(&state.db)
    .await?;
    let hosts = distinct(holds.iter().map(|h| h.0.clone())).len() as u32;
    let zones = distinct(holds.iter().map(|h| h.3.clone()));
    let placements = summarize(holds.into_iter().map(|(_, o, s, z, c)| (o, s, z, c)));
    Ok(Order {
        partner_id,
        id: order_id.to_owned(),
        status: match status.as_str() {
            "completed" => OrderStatus::Completed,
            "failed" => OrderStatus::Failed,
            _ => OrderStatus::Processing,
        },
        quote: Quote {
            id: quote_id,
            offer_id,
            image_id,
            sla_tier,
            flavor_id,
            count: count as u32,
            placement: Placement::parse(&placement).unwrap_or_default(),
            auto_recover: auto_recover != 0,
            hosts,
            zones,
            placements,
            currency: "EUR".into(),
            unit_hourly_cents: unit as u64,
            hourly_total_cents: total as u64,
            commission_hourly_cents: commission as u64,
            commission_bp: state.settings.commission_bp as u32,
            estimated_month_cents: month as u64,
            expires_at: rfc3339(expires),
        },
        payment_method_id,
        instances,
        created_at: rfc3339(created),
        payment: payment_status.map(|status| OrderPayment {
            status,
            authorized_cents: authorized_cents.unwrap_or_default().max(0) as u64,
            captured_cents: captured_cents.map(|c| c.max(0) as u64),
            refund_reason,
        }),
    })
}
