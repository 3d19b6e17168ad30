//! Invoices: `GET /invoices`, `GET /invoices/{id}`, `POST /invoices/{id}/pay`,
//! and what is owed: `GET /balance`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceStatus {
    /// Made, not yet charged.
    Open,
    /// Being charged now.
    Charging,
    /// The charge failed: retried, and "Pay now" pays it.
    PastDue,
    Paid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    /// A UTC month's usage.
    Monthly,
    /// An instance's last usage, when it was terminated.
    Final,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvoiceLineKind {
    Usage,
    /// A service credit for missed availability (a negative amount).
    SlaCredit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceLine {
    pub kind: InvoiceLineKind,
    pub instance_id: String,
    pub description: String,
    /// Running time billed, per second.
    pub used_seconds: u64,
    pub hourly_cents: u64,
    /// Negative for credits.
    pub amount_cents: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invoice {
    pub id: String,
    /// What the buyer quotes: SC-000042.
    pub number: String,
    pub kind: InvoiceKind,
    /// The UTC month, YYYY-MM.
    pub period: String,
    pub status: InvoiceStatus,
    pub currency: String,
    pub usage_cents: u64,
    pub credit_cents: u64,
    pub total_cents: u64,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_at: Option<String>,
    /// When a past-due invoice is charged again, if it will be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<String>,
    /// Why the last charge failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    /// Charges tried so far.
    pub attempts: u32,
    pub lines: Vec<InvoiceLine>,
}

/// `POST /invoices/{id}/pay`: pays a past-due invoice with a saved card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PayInvoiceRequest {
    pub payment_method_id: String,
}

/// `GET /balance`: what the signed-in buyer owes now, for the banner every
/// page shows while something is past due (cheaper than the invoices).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Balance {
    /// Invoices whose charge failed and that "Pay now" pays.
    pub past_due_invoices: u32,
    /// Their total.
    pub past_due_cents: u64,
    pub currency: String,
}

/// The invoice's number as shown.
pub fn invoice_number(number: i64) -> String {
    format!("SC-{number:06}")
}
