//! Payment methods (saved cards) and the payment gateway.
//!
//! Card numbers and CVCs exist only in the request that tokenises them: they
//! go to the gateway and are dropped; the database keeps the brand, the last
//! four digits, the expiry and the gateway's token. Nothing here logs them
//! (`CardRequest`'s Debug redacts both).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sparecloud_api::checkout::{CardRequest, PaymentMethod};
use sparecloud_api::validate::{self, CardBrand};
use time::OffsetDateTime;

use crate::auth::{new_id, new_token};
use crate::error::{AppError, AppResult, field_errors};
use crate::state::AppState;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a gateway refused a card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decline {
    Declined,
    InsufficientFunds,
    /// The gateway could not be reached or failed.
    Unavailable(String),
}

/// A card as the gateway receives it, for tokenisation only.
pub struct CardDetails<'a> {
    pub digits: &'a str,
    pub exp_month: u32,
    pub exp_year: u32,
    pub cvc: &'a str,
}

/// A card payment processor. Amounts are cents.
pub trait PaymentGateway: Send + Sync {
    /// Exchanges card details for a reusable token.
    fn tokenize<'a>(&'a self, card: CardDetails<'a>) -> BoxFuture<'a, Result<String, Decline>>;
    /// Reserves `amount_cents` on the card; returns the authorisation id.
    /// The same `idempotency_key` never authorises twice.
    fn authorize<'a>(
        &'a self,
        token: &'a str,
        amount_cents: i64,
        currency: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<String, Decline>>;
    /// Releases an authorisation that will not be captured.
    fn void<'a>(&'a self, authorization_id: &'a str) -> BoxFuture<'a, Result<(), Decline>>;
}

/// The test gateway, with the well-known test cards: 4242 4242 4242 4242
/// succeeds, 4000 0000 0000 0002 is declined, 4000 0000 0000 9995 fails for
/// insufficient funds; any other valid card succeeds. Its token records the
/// outcome (as a real gateway remembers the card behind a token).
pub struct TestGateway;

impl PaymentGateway for TestGateway {
    fn tokenize<'a>(&'a self, card: CardDetails<'a>) -> BoxFuture<'a, Result<String, Decline>> {
        let outcome = match card.digits {
            "4000000000000002" => "decline",
            "4000000000009995" => "nofunds",
            _ => "ok",
        };
        Box::pin(async move { Ok(format!("{}_{outcome}", new_token("tok_test"))) })
    }

    fn authorize<'a>(
        &'a self,
        token: &'a str,
        _amount_cents: i64,
        _currency: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<String, Decline>> {
        Box::pin(async move {
            if token.ends_with("_decline") {
                Err(Decline::Declined)
            } else if token.ends_with("_nofunds") {
                Err(Decline::InsufficientFunds)
            } else {
                Ok(format!(
                    "auth_test_{}",
                    crate::auth::token_hash(idempotency_key)
                        .get(..24)
                        .unwrap_or_default()
                ))
            }
        })
    }

    fn void<'a>(&'a self, _authorization_id: &'a str) -> BoxFuture<'a, Result<(), Decline>> {
        Box::pin(async { Ok(()) })
    }
}

pub type Gateway = Arc<dyn PaymentGateway>;

/// Tokenises a card at the gateway and saves what may be kept of it.
pub async fn add_card(
    state: &AppState,
    account_id: &str,
    card: CardRequest,
) -> AppResult<PaymentMethod> {
    let today = OffsetDateTime::from_unix_timestamp(state.clock.now() / 1000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let number = validate::card_number(&card.number);
    let brand: Option<CardBrand> = number.as_ref().ok().copied();
    let errors = field_errors([
        (
            "holder_name",
            validate::short_text(&card.holder_name, 100, "the name on the card"),
        ),
        ("number", number.map(|_| ())),
        (
            "expiry",
            validate::card_expiry(
                card.exp_month,
                card.exp_year,
                today.year() as u32,
                u8::from(today.month()).into(),
            ),
        ),
        ("cvc", validate::cvc(&card.cvc, brand)),
    ]);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let brand = brand.expect("validated");
    let digits = validate::card_digits(&card.number).expect("validated");
    let last4 = digits[digits.len() - 4..].to_owned();
    let token = state
        .gateway
        .tokenize(CardDetails {
            digits: &digits,
            exp_month: card.exp_month,
            exp_year: card.exp_year,
            cvc: card.cvc.trim(),
        })
        .await
        .map_err(|decline| AppError::internal(format!("card tokenisation failed: {decline:?}")))?;

    let method = PaymentMethod {
        id: new_id("pm"),
        brand: brand.name().to_owned(),
        last4,
        exp_month: card.exp_month,
        exp_year: card.exp_year,
        holder_name: card.holder_name.trim().to_owned(),
    };
    sqlx::query(
        "INSERT INTO payment_methods (id, account_id, brand, last4, exp_month, exp_year, holder_name, gateway_token, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&method.id)
    .bind(account_id)
    .bind(&method.brand)
    .bind(&method.last4)
    .bind(i64::from(method.exp_month))
    .bind(i64::from(method.exp_year))
    .bind(&method.holder_name)
    .bind(&token)
    .bind(state.clock.now())
    .execute(&state.db)
    .await?;
    Ok(method)
}

/// The account's saved cards, newest first.
pub async fn list(state: &AppState, account_id: &str) -> AppResult<Vec<PaymentMethod>> {
    let rows: Vec<(String, String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT id, brand, last4, exp_month, exp_year, holder_name FROM payment_methods
         WHERE account_id = $1 ORDER BY created_at_ms DESC, id DESC",
    )
    .bind(account_id)
    .fetch_all(&state.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, brand, last4, m, y, holder_name)| PaymentMethod {
            id,
            brand,
            last4,
            exp_month: m as u32,
            exp_year: y as u32,
            holder_name,
        })
        .collect())
}

/// The gateway's token for one of the account's saved cards.
pub async fn gateway_token(
    state: &AppState,
    account_id: &str,
    payment_method_id: &str,
) -> AppResult<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT gateway_token FROM payment_methods WHERE id = $1 AND account_id = $2",
    )
    .bind(payment_method_id)
    .bind(account_id)
    .fetch_optional(&state.db)
    .await?;
    Ok(row.map(|(token,)| token))
}
