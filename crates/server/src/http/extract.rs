//! Every extractor, each for a kind of caller or input, with rejections
//! that are problem+json like every other error: `Json` and `Query`; the
//! caller's address; `AuthUser` (a session), `Seller` (a seller with a
//! profile), `HostAuth` (an agent's host credential), `PartnerAuth` (a
//! partner's API key); and the `Idempotency-Key` header.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use sparecloud_api::accounts::Role;
use sparecloud_api::api_keys::{API_KEY_PREFIX, ApiKeyScope};
use sparecloud_api::checkout::IDEMPOTENCY_KEY_HEADER;
use sparecloud_api::problem::kinds;

use crate::clock::rfc3339;
use crate::domain::agents::HostCredential;
use crate::domain::api_keys::{self, KeyCheck};
use crate::domain::{accounts, agents, partners, sellers};
use crate::error::{AppError, AppResult};
use crate::http::client_ip;
use crate::state::AppState;

/// `axum::Json`, with malformed bodies answered as problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let raw = match axum::Json::<Box<RawValue>>::from_request(req, state).await {
            Ok(axum::Json(raw)) => raw,
            Err(rejection) => return Err(json_rejection(rejection)),
        };
        // Every body of ours is an object; serde would also fill a struct
        // from an array (`[null, null]`), which no client means.
        if !raw.get().starts_with('{') {
            return Err(AppError::problem(
                kinds::MALFORMED_BODY,
                "Malformed request body",
                StatusCode::UNPROCESSABLE_ENTITY,
                "The body must be a JSON object.",
            ));
        }
        serde_json::from_str(raw.get()).map(Json).map_err(|error| {
            AppError::problem(
                kinds::MALFORMED_BODY,
                "Malformed request body",
                StatusCode::UNPROCESSABLE_ENTITY,
                without_values(&format!(
                    "Failed to deserialize the JSON body into the target type: {error}"
                )),
            )
        })
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    let status = rejection.status();
    let (kind, title) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (kinds::PAYLOAD_TOO_LARGE, "Request body too large"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (kinds::MALFORMED_BODY, "Send the body as application/json")
        }
        _ => (kinds::MALFORMED_BODY, "Malformed request body"),
    };
    AppError::problem(kind, title, status, without_values(&rejection.body_text()))
}

/// serde's message without the offending value (a card number sent where
/// a name belongs must not come back in the answer): it keeps the field's
/// path, the kind of value and what was expected.
fn without_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        // A value is shown as `integer `42``, `string "x"` or `char 'x'`.
        let next = ["`", "\"", "'"]
            .iter()
            .filter_map(|q| rest.find(q).map(|at| (at, *q)))
            .min();
        let Some((at, quote)) = next else {
            out.push_str(rest);
            break;
        };
        let before = &rest[..at];
        let Some(len) = rest[at + 1..].find(quote) else {
            out.push_str(rest);
            break;
        };
        let quoted = &rest[at..at + 1 + len + 1];
        // Field names and the expected values are ours; anything else is
        // the client's value.
        let keep =
            before.ends_with("field ") || out.contains("expected") || before.contains("expected");
        out.push_str(before);
        if keep {
            out.push_str(quoted);
        } else {
            out.push_str("(value not shown)");
        }
        rest = &rest[at + 1 + len + 1..];
    }
    out
}

/// `axum::extract::Query`, with bad query strings answered as problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> AppError {
    AppError::problem(
        kinds::VALIDATION,
        "Invalid query parameters",
        StatusCode::BAD_REQUEST,
        without_values(&rejection.body_text()),
    )
}

/// The client's address, for per-address limits: the TCP peer's, or, when
/// the peer is one of the `--trusted-proxy` networks, the address that
/// proxy put in `X-Forwarded-For`. `None` without connect info (tests that
/// call the router directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let forwarded = parts
            .headers
            .get_all(client_ip::X_FORWARDED_FOR)
            .iter()
            .filter_map(|value| value.to_str().ok());
        Ok(ClientIp(peer.map(|peer| {
            client_ip::behind_proxies(peer, forwarded, &state.settings.trusted_proxies)
        })))
    }
}

/// The bearer token of a request, if it has one.
fn bearer_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn unauthorized(detail: &str) -> AppError {
    AppError::problem(
        kinds::UNAUTHORIZED,
        "Please sign in",
        StatusCode::UNAUTHORIZED,
        detail,
    )
}

/// The signed-in account, from a valid, unexpired session token, or an
/// account's API key (`sck_…`) within its scope.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub account_id: String,
    /// Empty when an API key made the request.
    pub session_id: String,
    pub is_buyer: bool,
    pub is_seller: bool,
    pub api_key_id: Option<String>,
}

impl AuthUser {
    /// For what only a person signed in may do: sessions and API keys.
    pub fn require_session(&self) -> AppResult<()> {
        if self.api_key_id.is_none() {
            return Ok(());
        }
        Err(AppError::problem(
            kinds::API_KEY_SCOPE,
            "Not with an API key",
            StatusCode::FORBIDDEN,
            "Sessions and API keys are managed signed in, on the account page, not with an API key.",
        ))
    }

    pub fn require(&self, role: Role) -> AppResult<()> {
        let (has, what) = match role {
            Role::Buyer => (self.is_buyer, "a buyer"),
            Role::Seller => (self.is_seller, "a seller"),
        };
        if has {
            Ok(())
        } else {
            Err(AppError::problem(
                kinds::FORBIDDEN,
                "Not allowed",
                StatusCode::FORBIDDEN,
                format!("This needs an account that is {what}."),
            ))
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let token = bearer_token(parts)
            .ok_or_else(|| unauthorized("Sign in to do this (no bearer token was sent)."))?;
        if token.starts_with(API_KEY_PREFIX) {
            return api_key_user(state, token, &parts.method).await;
        }
        let account = accounts::by_session_token(state, token)
            .await?
            .ok_or_else(|| unauthorized("Your session has expired or was ended: sign in again."))?;
        // The request's log line names who made it.
        tracing::Span::current().record("user_id", account.account_id.as_str());
        Ok(AuthUser {
            account_id: account.account_id,
            session_id: account.session_id,
            is_buyer: account.is_buyer,
            is_seller: account.is_seller,
            api_key_id: None,
        })
    }
}

async fn api_key_user(state: &AppState, key: &str, method: &Method) -> AppResult<AuthUser> {
    let refused = |kind: &str, title: &str, detail: &str| {
        AppError::problem(kind, title, StatusCode::UNAUTHORIZED, detail)
    };
    let (account_id, key_id, scope, is_buyer, is_seller) = match api_keys::check(state, key).await?
    {
        KeyCheck::Valid {
            account_id,
            key_id,
            scope,
            is_buyer,
            is_seller,
        } => (account_id, key_id, scope, is_buyer, is_seller),
        KeyCheck::Revoked => {
            return Err(refused(
                kinds::API_KEY_REVOKED,
                "API key revoked",
                "This API key was revoked: make a new one on your account page.",
            ));
        }
        KeyCheck::Expired => {
            return Err(refused(
                kinds::API_KEY_EXPIRED,
                "API key expired",
                "This API key has expired: make a new one on your account page.",
            ));
        }
        KeyCheck::Unknown => {
            return Err(unauthorized(
                "This API key is not valid: copy it again, or make a new one on your account page.",
            ));
        }
    };
    if scope == ApiKeyScope::Read && !matches!(*method, Method::GET | Method::HEAD) {
        return Err(AppError::problem(
            kinds::API_KEY_SCOPE,
            "Read-only API key",
            StatusCode::FORBIDDEN,
            "This API key can only read: use a key with full access to change anything.",
        ));
    }
    tracing::Span::current().record("user_id", account_id.as_str());
    Ok(AuthUser {
        is_buyer,
        is_seller,
        account_id,
        session_id: String::new(),
        api_key_id: Some(key_id),
    })
}

/// A signed-in seller who has completed a profile.
#[derive(Debug, Clone)]
pub struct Seller {
    pub account_id: String,
}

impl FromRequestParts<AppState> for Seller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        user.require(Role::Seller)?;
        if !sellers::has_profile(state, &user.account_id).await? {
            return Err(AppError::problem(
                kinds::CONFLICT,
                "Seller profile missing",
                StatusCode::CONFLICT,
                "Complete your seller profile (company and country) first.",
            ));
        }
        Ok(Seller {
            account_id: user.account_id,
        })
    }
}

/// A host, authenticated by its credential.
pub struct HostAuth {
    pub host_id: String,
}

impl FromRequestParts<AppState> for HostAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let refused = || {
            AppError::problem(
                kinds::HOST_CREDENTIAL_INVALID,
                "Unknown host credential",
                StatusCode::UNAUTHORIZED,
                "This host credential is not valid: register the agent again with a new install token.",
            )
        };
        let credential = bearer_token(parts).ok_or_else(refused)?;
        match agents::host_by_credential(state, credential).await? {
            HostCredential::Valid(host_id) => {
                tracing::Span::current().record("host_id", host_id.as_str());
                Ok(HostAuth { host_id })
            }
            HostCredential::Revoked { at_ms } => Err(AppError::problem(
                kinds::HOST_CREDENTIAL_REVOKED,
                "Host credential revoked",
                StatusCode::UNAUTHORIZED,
                format!(
                    "The seller revoked this host's credential on {}, so the API no longer \
                     accepts this agent. To sell this machine again, register it with a new \
                     install token from the seller dashboard.",
                    rfc3339(at_ms)
                ),
            )),
            HostCredential::Unknown => Err(refused()),
        }
    }
}

/// A request made with a partner's API key.
pub struct PartnerAuth {
    pub partner_id: String,
    pub share_bp: i64,
}

impl FromRequestParts<AppState> for PartnerAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let key = bearer_token(parts)
            .ok_or_else(|| unauthorized("Send the partner API key as a bearer token."))?;
        let (partner_id, share_bp) = partners::by_api_key(&state.db, key)
            .await?
            .ok_or_else(|| unauthorized("This partner API key is not valid."))?;
        Ok(PartnerAuth {
            partner_id,
            share_bp,
        })
    }
}

/// The `Idempotency-Key` header: 1 to 255 characters, new for each attempt.
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> AppResult<Self> {
        parts
            .headers
            .get(IDEMPOTENCY_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| (1..=255).contains(&k.len()))
            .map(|k| IdempotencyKey(k.to_owned()))
            .ok_or_else(|| {
                AppError::problem(
                    kinds::IDEMPOTENCY_KEY,
                    "Idempotency-Key required",
                    StatusCode::BAD_REQUEST,
                    "Send an Idempotency-Key header (1 to 255 characters), new for each order attempt.",
                )
            })
    }
}

#[cfg(test)]
mod value_tests {
    use super::without_values;

    #[test]
    fn serde_messages_keep_fields_and_expectations_but_not_values() {
        let text = "Failed to deserialize the JSON body into the target type: holder_name: invalid type: integer `4242424242424242`, expected a string at line 1 column 34";
        let shown = without_values(text);
        assert!(!shown.contains("4242"), "{shown}");
        assert!(
            shown.contains(
                "holder_name: invalid type: integer (value not shown), expected a string"
            ),
            "{shown}"
        );
        let shown = without_values(
            "count: invalid type: string \"4242 4242 4242 4242\", expected u32 at line 1 column 9",
        );
        assert!(!shown.contains("4242"), "{shown}");
        let shown = without_values("missing field `quote_id` at line 1 column 2");
        assert!(shown.contains("`quote_id`"), "{shown}");
        let shown = without_values(
            "placement: unknown variant `rm -rf`, expected one of `any`, `distinct_hosts`",
        );
        assert!(
            !shown.contains("rm -rf") && shown.contains("`distinct_hosts`"),
            "{shown}"
        );
    }
}
