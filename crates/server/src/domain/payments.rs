//! Saved cards, through Stripe. The card number, expiry and CVC go from
//! the buyer's browser to Stripe (Stripe.js confirming a SetupIntent we
//! create); we keep the Stripe customer and PaymentMethod ids, the brand,
//! the last four digits and the expiry. A request that carries card data
//! anyway is refused, and only the fact is logged.

use http::StatusCode;
use sparecloud_api::checkout::{PaymentMethod, PaymentsConfig, SetupIntent};
use sparecloud_api::problem::kinds;
use sparecloud_api::validate;

use crate::auth::new_id;
use crate::error::{AppError, AppResult, field, field_errors, inserted};
use crate::state::AppState;
use crate::stripe::{self, StripeError};

/// What the web app needs to load Stripe.js.
pub fn config(state: &AppState) -> PaymentsConfig {
    let config = state.stripe.config();
    PaymentsConfig {
        publishable_key: config.publishable_key.clone(),
        js_url: config.js_url.clone(),
    }
}

/// A Stripe failure as the buyer should see it: a refused card is theirs
/// to fix; anything else is ours, and nothing was charged.
pub fn stripe_problem(error: StripeError) -> AppError {
    match error {
        StripeError::Card { code, message } if code == "insufficient_funds" => AppError::problem(
            kinds::INSUFFICIENT_FUNDS,
            "Insufficient funds",
            StatusCode::PAYMENT_REQUIRED,
            format!("{message} Try another card."),
        ),
        StripeError::Card { message, .. } => AppError::problem(
            kinds::CARD_DECLINED,
            "Card declined",
            StatusCode::PAYMENT_REQUIRED,
            format!("{message} Try another card or contact your bank."),
        ),
        other => {
            tracing::error!(error = %other, "Stripe call failed");
            AppError::problem(
                kinds::PAYMENT_UNAVAILABLE,
                "Payments unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
                "We could not reach the payment processor. Nothing was charged: please try again.",
            )
        }
    }
}

/// The bank wants the buyer to confirm (3-D Secure): the problem carries
/// what Stripe.js's `confirmCardPayment` needs.
pub fn action_required(client_secret: String) -> AppError {
    let mut error = AppError::problem(
        kinds::PAYMENT_ACTION_REQUIRED,
        "Confirm the payment with your bank",
        StatusCode::PAYMENT_REQUIRED,
        "Your bank asks you to confirm this payment.",
    );
    if let AppError::Client(problem) = &mut error {
        problem.client_secret = Some(client_secret.into());
    }
    error
}

/// The account's Stripe customer, created on first use.
pub async fn customer_id(state: &AppState, account_id: &str) -> AppResult<String> {
    let (existing, email): (Option<String>, String) =
        sqlx::query_as("SELECT stripe_customer_id, email FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(&state.db)
            .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    // The idempotency key is the account's: two concurrent first uses get
    // the same customer from Stripe.
    let created = state
        .stripe
        .create_customer(account_id, &email)
        .await
        .map_err(stripe_problem)?;
    sqlx::query(
        "UPDATE accounts SET stripe_customer_id = $2 WHERE id = $1 AND stripe_customer_id IS NULL",
    )
    .bind(account_id)
    .bind(&created)
    .execute(&state.db)
    .await?;
    Ok(created)
}

/// A SetupIntent for the buyer's browser to confirm with a card.
pub async fn start_setup(state: &AppState, account_id: &str) -> AppResult<SetupIntent> {
    let customer = customer_id(state, account_id).await?;
    let intent = state
        .stripe
        .create_setup_intent(&customer, &new_id("setup"))
        .await
        .map_err(stripe_problem)?;
    Ok(SetupIntent {
        id: intent.id,
        client_secret: intent.client_secret,
    })
}

/// `POST /payment-methods` as received: card fields are only detected
/// (their values are skipped unread), never kept.
#[derive(Debug, serde::Deserialize)]
pub struct SaveRequest {
    #[serde(default)]
    pub setup_intent_id: String,
    #[serde(default)]
    pub holder_name: String,
    #[serde(default)]
    number: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    cvc: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    card: Option<serde::de::IgnoredAny>,
}

impl SaveRequest {
    fn carries_card_data(&self) -> bool {
        self.number.is_some() || self.cvc.is_some() || self.card.is_some()
    }
}

/// Saves the card a confirmed SetupIntent of the buyer's set up. Saving
/// the same one twice returns the first (the webhook may have saved it).
pub async fn save_card(
    state: &AppState,
    account_id: &str,
    request: SaveRequest,
) -> AppResult<PaymentMethod> {
    if request.carries_card_data() {
        tracing::warn!(%account_id, "refused a payment method request carrying card data");
        let mut error = AppError::validation(vec![field(
            "number",
            "Card numbers are not accepted here: enter the card in the card form, which sends it straight to our payment provider.",
        )]);
        if let AppError::Client(problem) = &mut error {
            problem.kind = kinds::CARD_DATA_REFUSED.into();
        }
        return Err(error);
    }
    let errors = field_errors([
        (
            "holder_name",
            validate::short_text(&request.holder_name, 100, "the name on the card"),
        ),
        (
            "setup_intent_id",
            if request.setup_intent_id.trim().is_empty() {
                Err("Confirm the card first.".into())
            } else {
                Ok(())
            },
        ),
    ]);
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let customer = customer_id(state, account_id).await?;
    let intent = match state
        .stripe
        .setup_intent(request.setup_intent_id.trim())
        .await
    {
        Err(StripeError::NotFound(_)) => return Err(AppError::not_found("card set-up")),
        other => other.map_err(stripe_problem)?,
    };
    if intent.customer.as_deref() != Some(customer.as_str()) {
        return Err(AppError::not_found("card set-up"));
    }
    let Some(method_id) = intent
        .payment_method
        .filter(|_| intent.status == "succeeded")
    else {
        return Err(AppError::validation(vec![field(
            "setup_intent_id",
            "The card has not been confirmed with the bank yet.",
        )]));
    };
    let method = state
        .stripe
        .payment_method(&method_id)
        .await
        .map_err(stripe_problem)?;
    record_card(state, account_id, method, request.holder_name.trim()).await
}

/// Keeps what may be kept of a Stripe PaymentMethod for the account.
pub async fn record_card(
    state: &AppState,
    account_id: &str,
    method: stripe::PaymentMethod,
    holder_name: &str,
) -> AppResult<PaymentMethod> {
    let Some(card) = method.card else {
        return Err(AppError::validation(vec![field(
            "setup_intent_id",
            "Only cards can be saved.",
        )]));
    };
    let saved = PaymentMethod {
        id: new_id("pm"),
        brand: brand_name(&card.brand).to_owned(),
        last4: card
            .last4
            .chars()
            .filter(char::is_ascii_digit)
            .take(4)
            .collect(),
        exp_month: card.exp_month,
        exp_year: card.exp_year,
        holder_name: holder_name.to_owned(),
    };
    let insert = sqlx::query(
        "INSERT INTO payment_methods (id, account_id, brand, last4, exp_month, exp_year, holder_name,
           stripe_payment_method_id, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&saved.id)
    .bind(account_id)
    .bind(&saved.brand)
    .bind(&saved.last4)
    .bind(i64::from(saved.exp_month))
    .bind(i64::from(saved.exp_year))
    .bind(&saved.holder_name)
    .bind(&method.id)
    .bind(state.clock.now())
    .execute(&state.db)
    .await;
    if inserted(insert)? {
        return Ok(saved);
    }
    let existing: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM payment_methods WHERE stripe_payment_method_id = $1 AND account_id = $2",
    )
    .bind(&method.id)
    .bind(account_id)
    .fetch_optional(&state.db)
    .await?;
    let Some((id,)) = existing else {
        return Err(AppError::not_found("card set-up"));
    };
    // A name typed in the form beats the webhook's empty one.
    if !holder_name.is_empty() {
        sqlx::query("UPDATE payment_methods SET holder_name = $2 WHERE id = $1")
            .bind(&id)
            .bind(holder_name)
            .execute(&state.db)
            .await?;
    }
    list(state, account_id)
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or_else(|| AppError::not_found("payment method"))
}

/// Stripe's brand ids as a buyer reads them.
fn brand_name(brand: &str) -> &str {
    match brand {
        "visa" => "Visa",
        "mastercard" => "Mastercard",
        "amex" => "American Express",
        "discover" => "Discover",
        "diners" => "Diners Club",
        "jcb" => "JCB",
        "unionpay" => "UnionPay",
        _ => "Card",
    }
}

/// The account's saved cards, newest first.
pub async fn list(state: &AppState, account_id: &str) -> AppResult<Vec<PaymentMethod>> {
    let rows: Vec<(String, String, String, i64, i64, String)> = sqlx::query_as(
        "SELECT id, brand, last4, exp_month, exp_year, holder_name FROM payment_methods
         WHERE account_id = $1 AND removed_at_ms IS NULL ORDER BY created_at_ms DESC, id DESC",
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

/// Removes one of the account's saved cards: detached at Stripe (so nothing
/// can charge it), then no longer listed or charged here. Orders and
/// invoices that used it keep naming it.
pub async fn remove_card(state: &AppState, account_id: &str, id: &str) -> AppResult<()> {
    let card: Option<(String,)> = sqlx::query_as(
        "SELECT stripe_payment_method_id FROM payment_methods
         WHERE id = $1 AND account_id = $2 AND removed_at_ms IS NULL",
    )
    .bind(id)
    .bind(account_id)
    .fetch_optional(&state.db)
    .await?;
    let (stripe_id,) = card.ok_or_else(|| AppError::not_found("payment method"))?;
    match state.stripe.detach_payment_method(&stripe_id).await {
        // Already gone at Stripe: what we wanted.
        Ok(_) | Err(StripeError::NotFound(_)) => {}
        Err(error) => return Err(stripe_problem(error)),
    }
    sqlx::query("UPDATE payment_methods SET removed_at_ms = $1 WHERE id = $2")
        .bind(state.clock.now())
        .bind(id)
        .execute(&state.db)
        .await?;
    Ok(())
}

/// How a saved card is charged: the Stripe customer and PaymentMethod.
#[derive(Debug, Clone)]
pub struct Chargeable {
    pub customer: String,
    pub payment_method: String,
}

/// One of the account's saved cards, to charge.
pub async fn chargeable(
    state: &AppState,
    account_id: &str,
    payment_method_id: &str,
) -> AppResult<Option<Chargeable>> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT m.stripe_payment_method_id, a.stripe_customer_id
         FROM payment_methods m JOIN accounts a ON a.id = m.account_id
         WHERE m.id = $1 AND m.account_id = $2 AND m.removed_at_ms IS NULL",
    )
    .bind(payment_method_id)
    .bind(account_id)
    .fetch_optional(&state.db)
    .await?;
    Ok(row.and_then(|(payment_method, customer)| {
        customer.map(|customer| Chargeable {
            customer,
            payment_method,
        })
    }))
}

/// The account's newest card, for charges made without the buyer
/// (invoices).
pub async fn default_chargeable(
    state: &AppState,
    account_id: &str,
) -> AppResult<Option<Chargeable>> {
    let newest: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM payment_methods WHERE account_id = $1 AND removed_at_ms IS NULL
         ORDER BY created_at_ms DESC, id DESC LIMIT 1",
    )
    .bind(account_id)
    .fetch_optional(&state.db)
    .await?;
    match newest {
        Some((id,)) => chargeable(state, account_id, &id).await,
        None => Ok(None),
    }
}
