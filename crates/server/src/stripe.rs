//! The Stripe REST API, as much of it as we use: customers, SetupIntents,
//! PaymentMethods, PaymentIntents (authorise, capture, cancel, charge off
//! session), refunds, and webhook signatures.
//!
//! Typed requests over `reqwest` rather than a generated client: we call a
//! dozen endpoints, and `async-stripe` compiles thousands of types for the
//! rest. Every call that creates something carries an `Idempotency-Key`
//! derived from our own ids, so a retried job or request never creates it
//! twice at Stripe. Amounts are cents; the currency is EUR.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// The real API; tests and the demo point at localstripe instead.
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
pub const DEFAULT_JS_URL: &str = "https://js.stripe.com/v3/";
pub const CURRENCY: &str = "eur";

/// Where and how to reach Stripe.
#[derive(Clone, Default)]
pub struct StripeConfig {
    pub api_base: String,
    pub secret_key: String,
    pub publishable_key: String,
    /// Stripe.js, loaded by the web app.
    pub js_url: String,
    pub webhook_secret: String,
}

/// Never prints the keys.
impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig")
            .field("api_base", &self.api_base)
            .field("publishable_key", &self.publishable_key)
            .field("js_url", &self.js_url)
            .finish_non_exhaustive()
    }
}

impl StripeConfig {
    /// The real Stripe with no keys: payments answer "unavailable" until
    /// keys are configured.
    pub fn unconfigured() -> Self {
        Self {
            api_base: DEFAULT_API_BASE.into(),
            js_url: DEFAULT_JS_URL.into(),
            ..Self::default()
        }
    }

    /// localstripe (or any Stripe stand-in) at `base`, with test keys.
    pub fn stand_in(base: &str, webhook_secret: &str) -> Self {
        let base = base.trim_end_matches('/');
        Self {
            api_base: base.into(),
            secret_key: "sk_test_sparecloud".into(),
            publishable_key: "pk_test_sparecloud".into(),
            js_url: format!("{base}/js.stripe.com/v3/"),
            webhook_secret: webhook_secret.into(),
        }
    }
}

/// Why a Stripe call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StripeError {
    /// The card was refused: `code` is Stripe's (`card_declined`,
    /// `insufficient_funds`, `expired_card`, ...).
    #[error("card refused ({code}): {message}")]
    Card { code: String, message: String },
    /// The object does not exist at Stripe.
    #[error("not found at Stripe: {0}")]
    NotFound(String),
    /// Any other answer: a bug of ours, or Stripe is unwell.
    #[error("Stripe answered {status}: {message}")]
    Api { status: u16, message: String },
    #[error("Stripe is unreachable: {0}")]
    Unreachable(String),
    #[error("no Stripe secret key is configured")]
    NotConfigured,
}

impl StripeError {
    /// Whether the card itself was refused (another card may work), as
    /// opposed to Stripe failing.
    pub fn is_card(&self) -> bool {
        matches!(self, StripeError::Card { .. })
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SetupIntent {
    pub id: String,
    pub client_secret: String,
    pub status: String,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Card {
    pub brand: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BillingDetails {
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentMethod {
    pub id: String,
    pub customer: Option<String>,
    pub card: Option<Card>,
    pub billing_details: Option<BillingDetails>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    /// `requires_capture` (authorised), `succeeded`, `requires_action`
    /// (3-D Secure), `requires_payment_method` (refused), `canceled`, ...
    pub status: String,
    pub amount: i64,
    pub client_secret: Option<String>,
    pub customer: Option<String>,
    #[serde(default)]
    pub metadata: std::collections::HashMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Refund {
    pub id: String,
    pub amount: i64,
}

#[derive(Debug, Clone, Deserialize)]
struct Customer {
    id: String,
}

/// What a new PaymentIntent charges, and how.
pub struct NewPaymentIntent<'a> {
    pub amount_cents: i64,
    pub customer: &'a str,
    pub payment_method: &'a str,
    /// Authorise only; capture later (orders).
    pub manual_capture: bool,
    /// The buyer is not there to authenticate (invoices charged by a job).
    pub off_session: bool,
    /// Our ids, to find our records from Stripe's dashboard and webhooks.
    pub metadata: &'a [(&'a str, &'a str)],
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<String>,
    decline_code: Option<String>,
    message: Option<String>,
}

/// A Stripe API client. Cheap to clone.
#[derive(Clone)]
pub struct Stripe {
    config: StripeConfig,
    http: reqwest::Client,
}

type Form = Vec<(String, String)>;

fn pair(key: &str, value: impl ToString) -> (String, String) {
    (key.to_owned(), value.to_string())
}

impl Stripe {
    pub fn new(config: StripeConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a TLS client");
        Self { config, http }
    }

    pub fn config(&self) -> &StripeConfig {
        &self.config
    }

    pub async fn create_customer(
        &self,
        account_id: &str,
        email: &str,
    ) -> Result<String, StripeError> {
        let form = vec![
            pair("email", email),
            pair("metadata[account_id]", account_id),
        ];
        let customer: Customer = self
            .post(
                "/v1/customers",
                form,
                Some(&format!("customer-{account_id}")),
            )
            .await?;
        Ok(customer.id)
    }

    /// A SetupIntent for saving a card for later, off-session charges.
    /// `key` makes a retried request return the same one.
    pub async fn create_setup_intent(
        &self,
        customer: &str,
        key: &str,
    ) -> Result<SetupIntent, StripeError> {
        let form = vec![
            pair("customer", customer),
            pair("usage", "off_session"),
            pair("payment_method_types[]", "card"),
        ];
        self.post("/v1/setup_intents", form, Some(key)).await
    }

    pub async fn setup_intent(&self, id: &str) -> Result<SetupIntent, StripeError> {
        self.get(&format!("/v1/setup_intents/{}", path_id(id)?))
            .await
    }

    pub async fn payment_method(&self, id: &str) -> Result<PaymentMethod, StripeError> {
        self.get(&format!("/v1/payment_methods/{}", path_id(id)?))
            .await
    }

    /// The customer's most recent PaymentIntents (up to 100), newest first.
    pub async fn payment_intents_of(
        &self,
        customer: &str,
    ) -> Result<Vec<PaymentIntent>, StripeError> {
        #[derive(Deserialize)]
        struct List {
            data: Vec<PaymentIntent>,
        }
        let path = format!(
            "/v1/payment_intents?customer={}&limit=100",
            path_id(customer)?
        );
        let list: List = self.get(&path).await?;
        Ok(list.data)
    }

    /// Detaches a card from its customer: it cannot be charged any more.
    pub async fn detach_payment_method(&self, id: &str) -> Result<PaymentMethod, StripeError> {
        let path = format!("/v1/payment_methods/{}/detach", path_id(id)?);
        self.post(&path, Vec::new(), None).await
    }

    /// Creates and confirms a PaymentIntent; a refused card is
    /// `StripeError::Card`. `key` makes a retry return the first one.
    pub async fn create_payment_intent(
        &self,
        intent: NewPaymentIntent<'_>,
        key: &str,
    ) -> Result<PaymentIntent, StripeError> {
        let mut form = vec![
            pair("amount", intent.amount_cents),
            pair("currency", CURRENCY),
            pair("customer", intent.customer),
            pair("payment_method", intent.payment_method),
            pair("payment_method_types[]", "card"),
            pair("confirm", "true"),
        ];
        if intent.manual_capture {
            form.push(pair("capture_method", "manual"));
        }
        if intent.off_session {
            form.push(pair("off_session", "true"));
        }
        for (name, value) in intent.metadata {
            form.push(pair(&format!("metadata[{name}]"), value));
        }
        self.post("/v1/payment_intents", form, Some(key)).await
    }

    pub async fn payment_intent(&self, id: &str) -> Result<PaymentIntent, StripeError> {
        self.get(&format!("/v1/payment_intents/{}", path_id(id)?))
            .await
    }

    /// Captures `amount_cents` (at most what was authorised) of an
    /// authorisation; the rest goes back to the card.
    pub async fn capture(
        &self,
        id: &str,
        amount_cents: i64,
        key: &str,
    ) -> Result<PaymentIntent, StripeError> {
        let form = vec![pair("amount_to_capture", amount_cents)];
        self.post(
            &format!("/v1/payment_intents/{}/capture", path_id(id)?),
            form,
            Some(key),
        )
        .await
    }

    /// Releases an authorisation that will not be captured.
    pub async fn cancel(&self, id: &str, key: &str) -> Result<PaymentIntent, StripeError> {
        self.post(
            &format!("/v1/payment_intents/{}/cancel", path_id(id)?),
            Vec::new(),
            Some(key),
        )
        .await
    }

    /// Refunds a captured payment in full.
    pub async fn refund(&self, payment_intent: &str, key: &str) -> Result<Refund, StripeError> {
        let form = vec![pair("payment_intent", payment_intent)];
        self.post("/v1/refunds", form, Some(key)).await
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, StripeError> {
        let request = self.http.get(self.url(path)?);
        self.send(request).await
    }

    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: Form,
        idempotency_key: Option<&str>,
    ) -> Result<T, StripeError> {
        let mut request = self.http.post(self.url(path)?).form(&form);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request).await
    }

    fn url(&self, path: &str) -> Result<String, StripeError> {
        if self.config.secret_key.is_empty() {
            return Err(StripeError::NotConfigured);
        }
        Ok(format!(
            "{}{path}",
            self.config.api_base.trim_end_matches('/')
        ))
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, StripeError> {
        let response = request
            .bearer_auth(&self.config.secret_key)
            .header("Stripe-Version", "2024-06-20")
            .send()
            .await
            .map_err(|e| StripeError::Unreachable(e.to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| StripeError::Unreachable(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| StripeError::Api {
                status: status.as_u16(),
                message: format!("unexpected answer: {e}"),
            });
        }
        let detail = serde_json::from_slice::<ErrorBody>(&body)
            .ok()
            .map(|b| b.error);
        let message = detail
            .as_ref()
            .and_then(|d| d.message.clone())
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        Err(match status.as_u16() {
            402 => StripeError::Card {
                code: detail
                    .and_then(|d| d.decline_code.or(d.code))
                    .unwrap_or_else(|| "card_declined".into()),
                message,
            },
            404 => StripeError::NotFound(message),
            status => StripeError::Api { status, message },
        })
    }
}

/// An id that goes into a URL path: Stripe ids are `prefix_alphanumerics`.
fn path_id(id: &str) -> Result<&str, StripeError> {
    let valid = !id.is_empty()
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(id)
    } else {
        Err(StripeError::NotFound(format!("{id:?} is not a Stripe id")))
    }
}

/// Why a webhook's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header, or no t= and v1= in it")]
    Malformed,
    #[error("the signature is older than the tolerance")]
    TooOld,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// How old a signed webhook may be.
pub const SIGNATURE_TOLERANCE_SECS: i64 = 300;

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`): an HMAC-SHA256
/// of `t.payload` with the endpoint's secret, compared in constant time,
/// at most five minutes old.
pub fn verify_signature(
    payload: &[u8],
    header: &str,
    secret: &str,
    now_secs: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return Err(SignatureError::Malformed);
    };
    if signatures.is_empty() || secret.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now_secs - timestamp).abs() > SIGNATURE_TOLERANCE_SECS {
        return Err(SignatureError::TooOld);
    }
    let matches = signatures.iter().any(|signature| {
        let Ok(expected) = hex::decode(signature) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload);
        mac.verify_slice(&expected).is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// A `Stripe-Signature` header for `payload`, as Stripe makes one (tests).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_with_its_secret_payload_and_time() {
        let payload = br#"{"id":"evt_1"}"#;
        let header = sign(payload, "whsec_a", 1_000);
        assert_eq!(verify_signature(payload, &header, "whsec_a", 1_100), Ok(()));
        assert_eq!(
            verify_signature(payload, &header, "whsec_b", 1_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(br#"{"id":"evt_2"}"#, &header, "whsec_a", 1_100),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(payload, &header, "whsec_a", 1_000 + 301),
            Err(SignatureError::TooOld)
        );
        assert_eq!(
            verify_signature(payload, "v1=abc", "whsec_a", 1_000),
            Err(SignatureError::Malformed)
        );
        // Stripe may send several v1 signatures while a secret is rolled.
        let rolled = format!("{header},v1=00ff");
        assert_eq!(verify_signature(payload, &rolled, "whsec_a", 1_000), Ok(()));
    }

    #[test]
    fn ids_in_paths_are_plain() {
        assert!(path_id("pi_3abcDEF123").is_ok());
        assert!(path_id("../v1/customers").is_err());
        assert!(path_id("pi_1?expand=x").is_err());
        assert!(path_id("").is_err());
    }
}
