//! Errors as RFC 9457 problem details (`application/problem+json`).

use serde::{Deserialize, Serialize};

/// The media type every API error is sent with.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// A problem details object. `type` is a stable identifier clients may match
/// on; `title` and `detail` are for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Per-field validation errors, in the order the fields were checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// With `payment-action-required`: what Stripe.js needs to ask the
    /// buyer's bank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Box<str>>,
}

/// One invalid field of a request body or query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's name as it appears in the request (`card.number`, `email`).
    pub field: String,
    /// What is wrong with it, phrased for the person who typed it.
    pub message: String,
}

/// The stable `type` values of the problems the API sends.
pub mod kinds {
    pub const NOT_FOUND: &str = "https://sparecloud.dev/problems/not-found";
    pub const VALIDATION: &str = "https://sparecloud.dev/problems/validation";
    pub const MALFORMED_BODY: &str = "https://sparecloud.dev/problems/malformed-body";
    pub const PAYLOAD_TOO_LARGE: &str = "https://sparecloud.dev/problems/payload-too-large";
    pub const METHOD_NOT_ALLOWED: &str = "https://sparecloud.dev/problems/method-not-allowed";
    pub const UNAUTHORIZED: &str = "https://sparecloud.dev/problems/unauthorized";
    pub const FORBIDDEN: &str = "https://sparecloud.dev/problems/forbidden";
    pub const CONFLICT: &str = "https://sparecloud.dev/problems/conflict";
    pub const TOO_MANY_REQUESTS: &str = "https://sparecloud.dev/problems/too-many-requests";
    pub const INTERNAL: &str = "https://sparecloud.dev/problems/internal";

    // Checkout.
    pub const CAPACITY_UNAVAILABLE: &str = "https://sparecloud.dev/problems/capacity-unavailable";
    pub const SPREAD_UNAVAILABLE: &str = "https://sparecloud.dev/problems/spread-unavailable";
    pub const QUOTE_EXPIRED: &str = "https://sparecloud.dev/problems/quote-expired";
    pub const QUOTE_USED: &str = "https://sparecloud.dev/problems/quote-used";
    pub const CARD_DECLINED: &str = "https://sparecloud.dev/problems/card-declined";
    pub const INSUFFICIENT_FUNDS: &str = "https://sparecloud.dev/problems/insufficient-funds";
    pub const PAYMENT_UNAVAILABLE: &str = "https://sparecloud.dev/problems/payment-unavailable";
    /// The server is starting (its search index is being built).
    pub const NOT_READY: &str = "https://sparecloud.dev/problems/not-ready";
    /// The card's bank wants the buyer to authenticate (3-D Secure): the
    /// problem carries the PaymentIntent's `client_secret` for Stripe.js's
    /// `confirmCardPayment`, after which the same order request is retried.
    pub const PAYMENT_ACTION_REQUIRED: &str =
        "https://sparecloud.dev/problems/payment-action-required";
    pub const CARD_DATA_REFUSED: &str = "https://sparecloud.dev/problems/card-data-refused";
    pub const WEBHOOK_SIGNATURE: &str = "https://sparecloud.dev/problems/webhook-signature";
    pub const IDEMPOTENCY_KEY: &str = "https://sparecloud.dev/problems/idempotency-key";

    // Agents: refused install tokens each have their own type, so the agent
    // can say exactly what happened.
    pub const INSTALL_TOKEN_INVALID: &str = "https://sparecloud.dev/problems/install-token-invalid";
    pub const INSTALL_TOKEN_USED: &str = "https://sparecloud.dev/problems/install-token-used";
    pub const INSTALL_TOKEN_EXPIRED: &str = "https://sparecloud.dev/problems/install-token-expired";
    pub const INSTALL_TOKEN_REVOKED: &str = "https://sparecloud.dev/problems/install-token-revoked";
    pub const HOST_CREDENTIAL_INVALID: &str =
        "https://sparecloud.dev/problems/host-credential-invalid";
    /// A crash interrupted the order; nothing was charged: order again.
    pub const ORDER_INTERRUPTED: &str = "https://sparecloud.dev/problems/order-interrupted";
    /// The seller revoked the host's credential: the agent stops.
    pub const HOST_CREDENTIAL_REVOKED: &str =
        "https://sparecloud.dev/problems/host-credential-revoked";
    /// The API key was revoked, or has expired: make a new one.
    pub const API_KEY_REVOKED: &str = "https://sparecloud.dev/problems/api-key-revoked";
    pub const API_KEY_EXPIRED: &str = "https://sparecloud.dev/problems/api-key-expired";
    /// A read-only key asked for a change, or a key for what only a
    /// signed-in person may do (keys and sessions).
    pub const API_KEY_SCOPE: &str = "https://sparecloud.dev/problems/api-key-scope";

    // Made by clients themselves, for failures with no server answer.
    pub const CLIENT_NETWORK: &str = "https://sparecloud.dev/problems/client/network";
    pub const CLIENT_UNEXPECTED_RESPONSE: &str =
        "https://sparecloud.dev/problems/client/unexpected-response";
}

impl Problem {
    /// Whether this problem is of `kind` (one of [`kinds`]): what clients
    /// decide on, never the HTTP status.
    pub fn is(&self, kind: &str) -> bool {
        self.kind == kind
    }

    /// A card problem that another card may fix.
    pub fn is_card_refused(&self) -> bool {
        self.is(kinds::CARD_DECLINED) || self.is(kinds::INSUFFICIENT_FUNDS)
    }
}

impl Problem {
    pub fn new(kind: &str, title: impl Into<String>, status: u16) -> Self {
        Self {
            kind: kind.to_owned(),
            title: title.into(),
            status,
            detail: None,
            errors: Vec::new(),
            client_secret: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The message to show a person: the detail when there is one, else the title.
    pub fn message(&self) -> &str {
        self.detail.as_deref().unwrap_or(&self.title)
    }

    /// The validation message for one field, if the server sent one.
    pub fn field_error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_type_and_omits_empty_fields() {
        let p = Problem::new(kinds::NOT_FOUND, "Not found", 404);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["type"], kinds::NOT_FOUND);
        assert_eq!(json["status"], 404);
        assert!(json.get("detail").is_none());
        assert!(json.get("errors").is_none());
    }

    #[test]
    fn message_prefers_detail_and_finds_field_errors() {
        let mut p = Problem::new(kinds::VALIDATION, "Invalid request", 422)
            .with_detail("The email is already taken");
        p.errors.push(FieldError {
            field: "email".into(),
            message: "already taken".into(),
        });
        assert_eq!(p.message(), "The email is already taken");
        assert_eq!(p.field_error("email"), Some("already taken"));
        assert_eq!(p.field_error("password"), None);
        // A problem from an older server without `errors` still parses.
        let parsed: Problem =
            serde_json::from_str(r#"{"type":"x","title":"T","status":400}"#).unwrap();
        assert_eq!(parsed.message(), "T");
    }
}
