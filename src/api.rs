//! The typed client of the Sparecloud API. Every non-2xx answer, and every
//! network failure, becomes a [`Problem`], so pages never look at HTTP.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use sparecloud_api::{API_PREFIX, Health, Problem};

pub type ApiResult<T> = Result<T, Problem>;

/// Problem types the client makes itself, for failures with no server answer.
pub mod client_kinds {
    pub const NETWORK: &str = "https://sparecloud.dev/problems/client/network";
    pub const UNEXPECTED_RESPONSE: &str =
        "https://sparecloud.dev/problems/client/unexpected-response";
}

pub async fn health() -> ApiResult<Health> {
    get("/health").await
}

fn url(path: &str) -> String {
    format!("{API_PREFIX}{path}")
}

async fn get<T: DeserializeOwned>(path: &str) -> ApiResult<T> {
    let response = Request::get(&url(path))
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(network_problem)?;
    decode(response).await
}

async fn decode<T: DeserializeOwned>(response: Response) -> ApiResult<T> {
    let status = response.status();
    if response.ok() {
        return response.json::<T>().await.map_err(|error| {
            Problem::new(
                client_kinds::UNEXPECTED_RESPONSE,
                "Unexpected response",
                status,
            )
            .with_detail(format!("The server's answer could not be read: {error}"))
        });
    }
    match response.json::<Problem>().await {
        Ok(problem) => Err(problem),
        // A proxy or an older server may answer without problem+json.
        Err(_) => Err(Problem::new(
            client_kinds::UNEXPECTED_RESPONSE,
            status_title(status),
            status,
        )),
    }
}

fn network_problem(error: gloo_net::Error) -> Problem {
    Problem::new(client_kinds::NETWORK, "Cannot reach Sparecloud", 0)
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
    fn bare_statuses_get_readable_titles() {
        assert_eq!(status_title(401), "Please sign in");
        assert!(status_title(502).contains("502"));
        assert!(status_title(418).contains("418"));
    }
}
