//! Refunds: an order none of whose instances ran within 15 minutes (no
//! host took them) has its authorisation cancelled (or refunded, had it
//! been captured), its instances ended, and says why.

use crate::clock::Millis;
use crate::db;
use crate::domain::instance::finish;
use crate::error::AppResult;
use crate::state::AppState;
use crate::stripe::StripeError;

/// An order none of whose instances ever ran within this is refunded.
pub const UNSTARTED_REFUND_MS: Millis = 15 * 60_000;

/// Orders none of whose instances ran within 15 minutes (no host took
/// them): the authorisation is released, the instances end, and the order
/// says why.
pub async fn release_unstarted_orders(state: &AppState) -> AppResult<()> {
    let now = state.clock.now();
    let stuck: Vec<(String, String)> = sqlx::query_as(
        "SELECT o.id, o.authorization_id FROM orders o
         WHERE o.payment_status = 'authorized' AND o.created_at_ms < $1
           AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.order_id = o.id
                             AND (i.billed_ms > 0 OR i.running_since_ms IS NOT NULL OR i.status IN ('running', 'stopping', 'stopped')))",
    )
    .bind(now - UNSTARTED_REFUND_MS)
    .fetch_all(&state.db)
    .await?;
    for (order_id, authorization) in stuck {
        let released = state
            .stripe
            .cancel(&authorization, &format!("order-{order_id}-release"))
            .await;
        // Captured already (it should not be): refund it instead.
        let status = match released {
            Ok(_) => "refunded",
            Err(StripeError::Api { .. }) => {
                match state
                    .stripe
                    .refund(&authorization, &format!("order-{order_id}-refund"))
                    .await
                {
                    Ok(_) => "refunded",
                    Err(error) => {
                        tracing::error!(%order_id, %error, "cannot refund an order");
                        continue;
                    }
                }
            }
            Err(error) => {
                tracing::error!(%order_id, %error, "cannot release an authorisation");
                continue;
            }
        };
        let mut tx = db::begin_write(&state.db).await?;
        let updated = sqlx::query(
            "UPDATE orders SET payment_status = $2, refund_reason = $3 WHERE id = $1 AND payment_status = 'authorized'",
        )
        .bind(&order_id)
        .bind(status)
        .bind("No host started your instances within 15 minutes: the payment was cancelled and nothing was charged.")
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 1 {
            let instances: Vec<(String,)> = sqlx::query_as(
                "SELECT id FROM instances WHERE order_id = $1 AND status NOT IN ('terminated', 'failed')",
            )
            .bind(&order_id)
            .fetch_all(&mut *tx)
            .await?;
            for (id,) in instances {
                finish(
                    &mut tx,
                    &id,
                    sparecloud_api::instances::InstanceStatus::Terminated,
                    "No host started it within 15 minutes: the order was refunded.",
                    now,
                )
                .await?;
            }
            tracing::info!(%order_id, "order refunded: never started");
        }
        tx.commit().await?;
    }
    Ok(())
}
