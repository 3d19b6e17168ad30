//! Invoices: a buyer's usage billed per UTC month, and an instance's last
//! usage when it ends.
//!
//! The ledger bills running time per second; an invoice gathers a buyer's
//! uninvoiced ledger entries (one line per instance) and unclaimed service
//! credits (negative lines) when a UTC month ends, or an instance's when it
//! ends. Each entry and credit is marked with its invoice in the same
//! transaction, so a period is invoiced once. `charges` collects them.

use sparecloud_api::invoices::{
    Balance, Invoice, InvoiceKind, InvoiceLine, InvoiceLineKind, InvoiceStatus, invoice_number,
};

use crate::auth::new_id;
use crate::clock::{Millis, rfc3339};
use crate::db;
use crate::domain::ledger;
use crate::domain::uptime::month_of;
use crate::error::{AppError, AppResult, inserted};
use crate::state::AppState;

/// At a month's end, bills running instances up to it, so the month's
/// invoice (and its service credits) count all of its time.
pub async fn settle_month_end(state: &AppState) -> AppResult<()> {
    let (month_start, _, _) = month_of(state.clock.now());
    let due: Vec<(String,)> = sqlx::query_as(
        "SELECT i.id FROM instances i JOIN hosts h ON h.id = i.host_id
         WHERE i.running_since_ms IS NOT NULL AND i.running_since_ms < $1 AND h.status = 'online'",
    )
    .bind(month_start)
    .fetch_all(&state.db)
    .await?;
    for (id,) in due {
        let mut tx = db::begin_write(&state.db).await?;
        ledger::accrue(&mut tx, &id, month_start, true).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The monthly invoices of last month (and anything older not invoiced).
pub async fn close_monthly(state: &AppState) -> AppResult<()> {
    let (month_start, _, _) = month_of(state.clock.now());
    let (_, _, period) = month_of(month_start - 1);
    let buyers: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT buyer_id FROM ledger_entries WHERE invoice_id IS NULL AND period_end_ms <= $1
         UNION
         SELECT DISTINCT buyer_id FROM sla_month_credits WHERE invoice_id IS NULL AND credit_cents > 0 AND month <= $2",
    )
    .bind(month_start)
    .bind(&period)
    .fetch_all(&state.db)
    .await?;
    for (buyer,) in buyers {
        let scope = Scope {
            buyer_id: &buyer,
            kind: InvoiceKind::Monthly,
            period: &period,
            instance_id: "",
            end_ms: month_start,
        };
        make_invoice(state, scope).await?;
    }
    Ok(())
}

/// The last invoice of each instance that has ended.
pub async fn close_finals(state: &AppState) -> AppResult<()> {
    let now = state.clock.now();
    let (_, _, period) = month_of(now);
    let ended: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT l.buyer_id, l.instance_id FROM ledger_entries l JOIN instances i ON i.id = l.instance_id
         WHERE l.invoice_id IS NULL AND i.status IN ('terminated', 'failed') AND i.awaiting_recovery = 0",
    )
    .fetch_all(&state.db)
    .await?;
    for (buyer, instance) in ended {
        let scope = Scope {
            buyer_id: &buyer,
            kind: InvoiceKind::Final,
            period: &period,
            instance_id: &instance,
            end_ms: now,
        };
        make_invoice(state, scope).await?;
    }
    Ok(())
}

/// What one invoice covers.
struct Scope<'a> {
    buyer_id: &'a str,
    kind: InvoiceKind,
    period: &'a str,
    /// The instance of a final invoice; '' for a monthly one.
    instance_id: &'a str,
    /// Ledger entries that ended by then.
    end_ms: Millis,
}

fn kind_str(kind: InvoiceKind) -> &'static str {
    match kind {
        InvoiceKind::Monthly => "monthly",
        InvoiceKind::Final => "final",
    }
}

#[derive(sqlx::FromRow)]
struct UsageRow {
    instance_id: String,
    name: String,
    flavor_id: String,
    zone: String,
    hourly_cents: i64,
    charge_cents: i64,
    used_ms: i64,
}

/// Makes the invoice of `scope`, if there is anything to invoice and no
/// other process made it first. Returns its id.
async fn make_invoice(state: &AppState, scope: Scope<'_>) -> AppResult<Option<String>> {
    let now = state.clock.now();
    let mut tx = db::begin_write(&state.db).await?;
    let usage: Vec<UsageRow> = sqlx::query_as(
        "SELECT l.instance_id, i.name, i.flavor_id, i.zone, i.hourly_cents,
                CAST(SUM(l.buyer_charge_cents) AS BIGINT) AS charge_cents,
                CAST(SUM(l.period_end_ms - l.period_start_ms) AS BIGINT) AS used_ms
         FROM ledger_entries l JOIN instances i ON i.id = l.instance_id
         WHERE l.buyer_id = $1 AND l.invoice_id IS NULL AND l.period_end_ms <= $2 AND ($3 = '' OR l.instance_id = $3)
         GROUP BY l.instance_id, i.name, i.flavor_id, i.zone, i.hourly_cents
         ORDER BY l.instance_id",
    )
    .bind(scope.buyer_id)
    .bind(scope.end_ms)
    .bind(scope.instance_id)
    .fetch_all(&mut *tx)
    .await?;
    // Service credits go on monthly invoices.
    let credits: Vec<(String, String, i64, i64, i64)> = if scope.kind == InvoiceKind::Monthly {
        sqlx::query_as(
            "SELECT instance_id, month, credit_cents, availability_bp, target_bp FROM sla_month_credits
             WHERE buyer_id = $1 AND invoice_id IS NULL AND credit_cents > 0 AND month <= $2
             ORDER BY month, instance_id",
        )
        .bind(scope.buyer_id)
        .bind(scope.period)
        .fetch_all(&mut *tx)
        .await?
    } else {
        Vec::new()
    };
    if usage.is_empty() && credits.is_empty() {
        return Ok(None);
    }
    let usage_cents: i64 = usage.iter().map(|u| u.charge_cents).sum();
    let credit_cents: i64 = credits.iter().map(|c| c.2).sum();
    let total = (usage_cents - credit_cents).max(0);
    let id = new_id("inv");
    let (number,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(number), 0) + 1 FROM invoices")
        .fetch_one(&mut *tx)
        .await?;
    let insert = sqlx::query(
        "INSERT INTO invoices (id, number, buyer_id, kind, period, instance_id, period_end_ms, usage_cents, credit_cents,
           total_cents, status, created_at_ms, paid_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&id)
    .bind(number)
    .bind(scope.buyer_id)
    .bind(kind_str(scope.kind))
    .bind(scope.period)
    .bind(scope.instance_id)
    .bind(scope.end_ms)
    .bind(usage_cents)
    .bind(credit_cents)
    .bind(total)
    .bind(if total > 0 { "open" } else { "paid" })
    .bind(now)
    .bind((total == 0).then_some(now))
    .execute(&mut *tx)
    .await;
    if !inserted(insert)? {
        return Ok(None); // made by another process
    }
    let mut position = 0_i64;
    for u in &usage {
        let description = format!("{} ({}, {})", u.name, u.flavor_id, u.zone);
        insert_line(
            &mut tx,
            &id,
            position,
            "usage",
            &u.instance_id,
            &description,
            u.used_ms,
            u.hourly_cents,
            u.charge_cents,
        )
        .await?;
        position += 1;
    }
    for (instance_id, month, cents, availability_bp, target_bp) in &credits {
        let description = format!(
            "Service credit for {month}: availability {} below the {} committed",
            percent(*availability_bp),
            percent(*target_bp)
        );
        insert_line(
            &mut tx,
            &id,
            position,
            "sla_credit",
            instance_id,
            &description,
            0,
            0,
            -cents,
        )
        .await?;
        position += 1;
    }
    sqlx::query(
        "UPDATE ledger_entries SET invoice_id = $1
         WHERE buyer_id = $2 AND invoice_id IS NULL AND period_end_ms <= $3 AND ($4 = '' OR instance_id = $4)",
    )
    .bind(&id)
    .bind(scope.buyer_id)
    .bind(scope.end_ms)
    .bind(scope.instance_id)
    .execute(&mut *tx)
    .await?;
    if scope.kind == InvoiceKind::Monthly {
        sqlx::query(
            "UPDATE sla_month_credits SET invoice_id = $1
             WHERE buyer_id = $2 AND invoice_id IS NULL AND credit_cents > 0 AND month <= $3",
        )
        .bind(&id)
        .bind(scope.buyer_id)
        .bind(scope.period)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!(invoice = %id, number, total, "invoice made");
    Ok(Some(id))
}

#[allow(clippy::too_many_arguments)] // one column each
async fn insert_line(
    tx: &mut db::Conn,
    invoice_id: &str,
    position: i64,
    kind: &str,
    instance_id: &str,
    description: &str,
    used_ms: i64,
    hourly_cents: i64,
    amount_cents: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO invoice_lines (invoice_id, position, kind, instance_id, description, used_ms, hourly_cents, amount_cents)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(invoice_id)
    .bind(position)
    .bind(kind)
    .bind(instance_id)
    .bind(description)
    .bind(used_ms)
    .bind(hourly_cents)
    .bind(amount_cents)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Basis points as a percentage: 9950 → "99.5 %".
fn percent(bp: i64) -> String {
    let text = format!("{:.2}", bp as f64 / 100.0);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} %")
}

#[derive(sqlx::FromRow)]
struct InvoiceRow {
    id: String,
    number: i64,
    kind: String,
    period: String,
    status: String,
    usage_cents: i64,
    credit_cents: i64,
    total_cents: i64,
    created_at_ms: i64,
    paid_at_ms: Option<i64>,
    next_attempt_at_ms: Option<i64>,
    failure_message: Option<String>,
    attempts: i64,
}

const INVOICE_COLUMNS: &str =
    "id, number, kind, period, status, usage_cents, credit_cents, total_cents, created_at_ms,
    paid_at_ms, next_attempt_at_ms, failure_message, attempts";

/// The buyer's invoices, newest first, with their lines.
pub async fn list(state: &AppState, buyer_id: &str) -> AppResult<Vec<Invoice>> {
    let rows: Vec<InvoiceRow> = sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE buyer_id = $1 ORDER BY number DESC"
    ))
    .bind(buyer_id)
    .fetch_all(&state.db)
    .await?;
    let mut invoices = Vec::with_capacity(rows.len());
    for row in rows {
        invoices.push(with_lines(state, row).await?);
    }
    Ok(invoices)
}

/// What the buyer owes now: their past-due invoices, counted and added up
/// in one query (the banner asks on every page change).
pub async fn balance(state: &AppState, buyer_id: &str) -> AppResult<Balance> {
    // PostgreSQL's SUM of a BIGINT is a NUMERIC: cast back.
    let (count, cents): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(total_cents), 0) AS BIGINT) FROM invoices
         WHERE buyer_id = $1 AND status = 'past_due'",
    )
    .bind(buyer_id)
    .fetch_one(&state.db)
    .await?;
    Ok(Balance {
        past_due_invoices: u32::try_from(count).unwrap_or(u32::MAX),
        past_due_cents: cents.max(0) as u64,
        currency: "EUR".into(),
    })
}

/// One of the buyer's invoices.
pub async fn get(state: &AppState, buyer_id: &str, id: &str) -> AppResult<Invoice> {
    let row: Option<InvoiceRow> = sqlx::query_as(&format!(
        "SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = $1 AND buyer_id = $2"
    ))
    .bind(id)
    .bind(buyer_id)
    .fetch_optional(&state.db)
    .await?;
    with_lines(state, row.ok_or_else(|| AppError::not_found("invoice"))?).await
}

async fn with_lines(state: &AppState, row: InvoiceRow) -> AppResult<Invoice> {
    let lines: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT kind, instance_id, description, used_ms, hourly_cents, amount_cents FROM invoice_lines
         WHERE invoice_id = $1 ORDER BY position",
    )
    .bind(&row.id)
    .fetch_all(&state.db)
    .await?;
    Ok(Invoice {
        number: invoice_number(row.number),
        kind: if row.kind == "final" {
            InvoiceKind::Final
        } else {
            InvoiceKind::Monthly
        },
        period: row.period,
        status: match row.status.as_str() {
            "paid" => InvoiceStatus::Paid,
            "past_due" => InvoiceStatus::PastDue,
            "charging" => InvoiceStatus::Charging,
            _ => InvoiceStatus::Open,
        },
        currency: "EUR".into(),
        usage_cents: row.usage_cents.max(0) as u64,
        credit_cents: row.credit_cents.max(0) as u64,
        total_cents: row.total_cents.max(0) as u64,
        created_at: rfc3339(row.created_at_ms),
        paid_at: row.paid_at_ms.map(rfc3339),
        next_attempt_at: row.next_attempt_at_ms.map(rfc3339),
        failure_message: row.failure_message,
        attempts: row.attempts.max(0) as u32,
        lines: lines
            .into_iter()
            .map(
                |(kind, instance_id, description, used_ms, hourly, amount)| InvoiceLine {
                    kind: if kind == "sla_credit" {
                        InvoiceLineKind::SlaCredit
                    } else {
                        InvoiceLineKind::Usage
                    },
                    instance_id,
                    description,
                    used_seconds: (used_ms.max(0) / 1000) as u64,
                    hourly_cents: hourly.max(0) as u64,
                    amount_cents: amount,
                },
            )
            .collect(),
        id: row.id,
    })
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percentages_read_naturally() {
        assert_eq!(percent(9950), "99.5 %");
        assert_eq!(percent(9999), "99.99 %");
        assert_eq!(percent(10_000), "100 %");
    }
}
