//! The typed client of the Sparecloud API. Every non-2xx answer, and every
//! network failure, becomes a [`Problem`], so pages never look at HTTP.

use gloo_net::http::{Request, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sparecloud_api::accounts::{Account, Session, SignInRequest, SignUpRequest};
use sparecloud_api::api_keys::{ApiKey, CreateApiKeyRequest, CreatedApiKey};
use sparecloud_api::catalog::{Image, SlaTier, Zone};
use sparecloud_api::checkout::{
    IDEMPOTENCY_KEY_HEADER, Order, OrderRequest, PaymentMethod, PaymentsConfig, Quote,
    QuoteRequest, SavePaymentMethod, SetupIntent,
};
use sparecloud_api::instances::{Instance, InstanceConsole, InstanceDetail};
use sparecloud_api::invoices::{Balance, Invoice, PayInvoiceRequest};
use sparecloud_api::offers::{Market, Offer, OfferPage};
use sparecloud_api::partners::EmbedConfig;
use sparecloud_api::problem::kinds;
use sparecloud_api::seller::{
    CreateOfferRequest, CreatedInstallToken, Earnings, Host, InstallToken, InstallTokenRequest,
    SellerOffer, SellerProfile, SellerProfileRequest, UpdateOfferRequest,
};
use sparecloud_api::{API_PREFIX, Health, Problem};

mod preloaded;

pub use preloaded::read as read_preloaded;

pub type ApiResult<T> = Result<T, Problem>;

pub async fn health() -> ApiResult<Health> {
    get("/health", None).await
}

pub async fn sign_up(request: &SignUpRequest) -> ApiResult<Session> {
    send(Request::post(&url("/accounts")), None, Some(request)).await
}

pub async fn sign_in(request: &SignInRequest) -> ApiResult<Session> {
    send(Request::post(&url("/sessions")), None, Some(request)).await
}

/// Ends the session on the server; the token is useless afterwards.
pub async fn sign_out(token: &str) -> ApiResult<()> {
    no_content(Request::delete(&url("/sessions/current")), token).await
}

/// Ends every session of the account, this one included.
pub async fn sign_out_everywhere(token: &str) -> ApiResult<()> {
    no_content(Request::delete(&url("/sessions")), token).await
}

/// Removes a saved card (detached at Stripe, never charged again).
pub async fn remove_card(token: &str, id: &str) -> ApiResult<()> {
    no_content(
        Request::delete(&url(&format!("/payment-methods/{}", encode(id)))),
        token,
    )
    .await
}

/// The account's API keys that still work.
pub async fn api_keys(token: &str) -> ApiResult<Vec<ApiKey>> {
    get("/api-keys", Some(token)).await
}

/// Makes an API key; the answer holds its secret, shown this once.
pub async fn create_api_key(
    token: &str,
    request: &CreateApiKeyRequest,
) -> ApiResult<CreatedApiKey> {
    send(Request::post(&url("/api-keys")), Some(token), Some(request)).await
}

/// Revokes an API key: the next request that sends it is refused.
pub async fn revoke_api_key(token: &str, id: &str) -> ApiResult<()> {
    no_content(
        Request::delete(&url(&format!("/api-keys/{}", encode(id)))),
        token,
    )
    .await
}

/// A request answered `204 No Content` when it succeeds.
async fn no_content(request: RequestBuilder, token: &str) -> ApiResult<()> {
    exchange(request, Some(token), None).await.map(|_| ())
}

pub async fn me(token: &str) -> ApiResult<Account> {
    get("/me", Some(token)).await
}

/// `query` is the marketplace page's own query string (filters, sort,
/// page), which the API takes as is.
pub async fn offers(query: &str) -> ApiResult<OfferPage> {
    if query.is_empty() {
        get("/offers", None).await
    } else {
        get(&format!("/offers?{query}"), None).await
    }
}

pub async fn offer(id: &str) -> ApiResult<Offer> {
    get(&format!("/offers/{}", encode(id)), None).await
}

pub async fn images() -> ApiResult<Vec<Image>> {
    get("/images", None).await
}

pub async fn sla_tiers() -> ApiResult<Vec<SlaTier>> {
    get("/sla-tiers", None).await
}

pub async fn zones() -> ApiResult<Vec<Zone>> {
    get("/zones", None).await
}

pub async fn quote(token: &str, request: &QuoteRequest) -> ApiResult<Quote> {
    send(Request::post(&url("/quotes")), Some(token), Some(request)).await
}

pub async fn payment_methods(token: &str) -> ApiResult<Vec<PaymentMethod>> {
    get("/payment-methods", Some(token)).await
}

/// Where Stripe.js is, and the publishable key.
pub async fn payments_config() -> ApiResult<PaymentsConfig> {
    get("/payments/config", None).await
}

/// A SetupIntent for Stripe.js to confirm with the card element.
pub async fn create_setup_intent(token: &str) -> ApiResult<SetupIntent> {
    send::<_, ()>(
        Request::post(&url("/payment-methods/setup-intents")),
        Some(token),
        None,
    )
    .await
}

/// Saves the card a confirmed SetupIntent set up: no card data, only
/// Stripe's id for it.
pub async fn save_card(token: &str, request: &SavePaymentMethod) -> ApiResult<PaymentMethod> {
    send(
        Request::post(&url("/payment-methods")),
        Some(token),
        Some(request),
    )
    .await
}

/// The buyer's invoices, newest first.
pub async fn invoices(token: &str) -> ApiResult<Vec<Invoice>> {
    get("/invoices", Some(token)).await
}

/// What the buyer owes now (the past-due banner).
pub async fn balance(token: &str) -> ApiResult<Balance> {
    get("/balance", Some(token)).await
}

pub async fn invoice(token: &str, id: &str) -> ApiResult<Invoice> {
    get(&format!("/invoices/{}", encode(id)), Some(token)).await
}

/// "Pay now" with a saved card.
pub async fn pay_invoice(token: &str, id: &str, payment_method_id: &str) -> ApiResult<Invoice> {
    send(
        Request::post(&url(&format!("/invoices/{}/pay", encode(id)))),
        Some(token),
        Some(&PayInvoiceRequest {
            payment_method_id: payment_method_id.to_owned(),
        }),
    )
    .await
}

/// Places an order. The same `idempotency_key` again returns the same order
/// and never charges twice.
pub async fn place_order(
    token: &str,
    idempotency_key: &str,
    request: &OrderRequest,
) -> ApiResult<Order> {
    send(
        Request::post(&url("/orders")).header(IDEMPOTENCY_KEY_HEADER, idempotency_key),
        Some(token),
        Some(request),
    )
    .await
}

pub async fn order(token: &str, id: &str) -> ApiResult<Order> {
    get(&format!("/orders/{}", encode(id)), Some(token)).await
}

pub async fn instances(token: &str) -> ApiResult<Vec<Instance>> {
    get("/instances", Some(token)).await
}

pub async fn instance(token: &str, id: &str) -> ApiResult<InstanceDetail> {
    get(&format!("/instances/{}", encode(id)), Some(token)).await
}

/// The end of the instance's serial console, as its host last sent it.
pub async fn instance_console(token: &str, id: &str) -> ApiResult<InstanceConsole> {
    get(&format!("/instances/{}/console", encode(id)), Some(token)).await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceAction {
    Stop,
    Start,
    Terminate,
}

pub async fn instance_action(token: &str, id: &str, action: InstanceAction) -> ApiResult<Instance> {
    let verb = match action {
        InstanceAction::Stop => "stop",
        InstanceAction::Start => "start",
        InstanceAction::Terminate => "terminate",
    };
    send::<Instance, ()>(
        Request::post(&url(&format!("/instances/{}/{verb}", encode(id)))),
        Some(token),
        None,
    )
    .await
}

/// The commission and going prices, optionally for a zone and service level.
pub async fn market(zone: &str, sla: &str) -> ApiResult<Market> {
    get(
        &format!("/market?zone={}&sla={}", encode(zone), encode(sla)),
        None,
    )
    .await
}

/// The seller's profile; a 404 problem when there is none yet.
pub async fn seller_profile(token: &str) -> ApiResult<SellerProfile> {
    get("/seller/profile", Some(token)).await
}

pub async fn save_seller_profile(
    token: &str,
    profile: &SellerProfileRequest,
) -> ApiResult<SellerProfile> {
    send(
        Request::post(&url("/seller/profile")),
        Some(token),
        Some(profile),
    )
    .await
}

/// The secret and the install command are in this answer only.
pub async fn create_install_token(
    token: &str,
    request: &InstallTokenRequest,
) -> ApiResult<CreatedInstallToken> {
    send(
        Request::post(&url("/seller/install-tokens")),
        Some(token),
        Some(request),
    )
    .await
}

pub async fn install_tokens(token: &str) -> ApiResult<Vec<InstallToken>> {
    get("/seller/install-tokens", Some(token)).await
}

pub async fn revoke_install_token(token: &str, id: &str) -> ApiResult<InstallToken> {
    send::<InstallToken, ()>(
        Request::delete(&url(&format!("/seller/install-tokens/{}", encode(id)))),
        Some(token),
        None,
    )
    .await
}

pub async fn hosts(token: &str) -> ApiResult<Vec<Host>> {
    get("/seller/hosts", Some(token)).await
}

/// What a seller can do to a host from the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostCommand {
    /// Stop placing on it and move its instances off.
    Drain,
    /// Take placements again.
    Resume,
    /// Refuse its agent from now on.
    RevokeCredential,
}

pub async fn host_command(token: &str, id: &str, command: HostCommand) -> ApiResult<Host> {
    let verb = match command {
        HostCommand::Drain => "drain",
        HostCommand::Resume => "resume",
        HostCommand::RevokeCredential => "revoke-credential",
    };
    send::<Host, ()>(
        Request::post(&url(&format!("/seller/hosts/{}/{verb}", encode(id)))),
        Some(token),
        None,
    )
    .await
}

pub async fn seller_offers(token: &str) -> ApiResult<Vec<SellerOffer>> {
    get("/seller/offers", Some(token)).await
}

pub async fn create_offer(token: &str, request: &CreateOfferRequest) -> ApiResult<SellerOffer> {
    send(
        Request::post(&url("/seller/offers")),
        Some(token),
        Some(request),
    )
    .await
}

pub async fn update_offer(
    token: &str,
    id: &str,
    request: &UpdateOfferRequest,
) -> ApiResult<SellerOffer> {
    send(
        Request::patch(&url(&format!("/seller/offers/{}", encode(id)))),
        Some(token),
        Some(request),
    )
    .await
}

pub async fn earnings(token: &str) -> ApiResult<Earnings> {
    get("/seller/earnings", Some(token)).await
}

/// A partner's public embed configuration.
pub async fn embed_config(partner: &str) -> ApiResult<EmbedConfig> {
    get(&format!("/partners/{}/embed-config", encode(partner)), None).await
}

/// Percent-encodes a path segment or query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn url(path: &str) -> String {
    format!("{API_PREFIX}{path}")
}

async fn get<T: DeserializeOwned>(path: &str, token: Option<&str>) -> ApiResult<T> {
    decode(get_answer(url(path), token).await?)
}

/// A GET's answer: the preloaded one if the page came with it (taken once),
/// else from the network. Not generic, like [`exchange`].
async fn get_answer(url: String, token: Option<&str>) -> ApiResult<Answer> {
    if token.is_none()
        && let Some(answer) = preloaded::take(&url)
    {
        return Ok(answer);
    }
    exchange(Request::get(&url), token, None).await
}

async fn send<T: DeserializeOwned, B: Serialize>(
    builder: RequestBuilder,
    token: Option<&str>,
    body: Option<&B>,
) -> ApiResult<T> {
    let body = match body {
        Some(body) => Some(serde_json::to_string(body).map_err(|error| {
            Problem::new(kinds::CLIENT_UNEXPECTED_RESPONSE, "Request not sent", 0)
                .with_detail(format!("The request could not be written: {error}"))
        })?),
        None => None,
    };
    decode(exchange(builder, token, body).await?)
}

/// A successful answer: its status and body, not yet decoded.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    body: String,
}

/// Sends one request and reads its answer; a non-2xx answer becomes its
/// problem here. The one asynchronous path of every call, and not generic:
/// its futures are in the wasm once, not once per response type (only
/// [`decode`] is).
async fn exchange(
    builder: RequestBuilder,
    token: Option<&str>,
    body: Option<String>,
) -> ApiResult<Answer> {
    let builder = with_token(builder, token).header("Accept", "application/json");
    let request = match body {
        Some(body) => builder
            .header("Content-Type", "application/json")
            .body(body),
        None => builder.build(),
    }
    .map_err(network_problem)?;
    let response = request.send().await.map_err(network_problem)?;
    let status = response.status();
    let body = response.text().await.map_err(network_problem)?;
    if response.ok() {
        return Ok(Answer { status, body });
    }
    Err(serde_json::from_str::<Problem>(&body).unwrap_or_else(|_| {
        // A proxy or an older server may answer without problem+json.
        Problem::new(
            kinds::CLIENT_UNEXPECTED_RESPONSE,
            status_title(status),
            status,
        )
    }))
}

fn with_token(builder: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(token) => builder.header("Authorization", &format!("Bearer {token}")),
        None => builder,
    }
}

fn decode<T: DeserializeOwned>(answer: Answer) -> ApiResult<T> {
    serde_json::from_str(&answer.body).map_err(|error| {
        Problem::new(
            kinds::CLIENT_UNEXPECTED_RESPONSE,
            "Unexpected response",
            answer.status,
        )
        .with_detail(format!("The server's answer could not be read: {error}"))
    })
}

fn network_problem(error: gloo_net::Error) -> Problem {
    Problem::new(kinds::CLIENT_NETWORK, "Cannot reach Sparecloud", 0)
        .with_detail(format!("Check your connection and try again. ({error})"))
}

/// A readable title for a status code that came without a problem body.
pub fn status_title(status: u16) -> String {
    match status {
        400 => "Bad request".into(),
        401 => "Please sign in".into(),
        403 => "Not allowed".into(),
        404 => "Not found".into(),
        409 => "Conflict".into(),
        413 => "Request too large".into(),
        422 => "Invalid request".into(),
        429 => "Too many requests: wait a moment and try again".into(),
        500..=599 => format!("The server had a problem ({status}): please try again"),
        _ => format!("Unexpected answer from the server ({status})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_live_under_the_api_prefix() {
        assert_eq!(url("/health"), "/api/v1/health");
    }

    #[test]
    fn values_are_percent_encoded() {
        assert_eq!(encode("off_01-9a"), "off_01-9a");
        assert_eq!(encode("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn bare_statuses_get_readable_titles() {
        assert_eq!(status_title(401), "Please sign in");
        assert!(status_title(502).contains("502"));
        assert!(status_title(418).contains("418"));
    }
}
