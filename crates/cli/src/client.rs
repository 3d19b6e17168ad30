//! A small typed client of the Sparecloud API: every answer that is not 2xx
//! becomes the API's problem (or one made up for a network failure), which
//! `main` turns into a message and an exit code.

use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sparecloud_api::Problem;
use sparecloud_api::problem::kinds;

pub struct Client {
    http: reqwest::Client,
    api: String,
    key: Option<String>,
}

impl Client {
    pub fn new(api: &str, key: Option<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            api: format!("{}/api/v1", api.trim_end_matches('/')),
            key,
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Problem> {
        self.send(self.request(Method::GET, path)).await
    }

    pub async fn get_query<T: DeserializeOwned, Q: Serialize>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T, Problem> {
        self.send(self.request(Method::GET, path).query(query))
            .await
    }

    pub async fn post<T: DeserializeOwned, B: Serialize>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: Option<&str>,
    ) -> Result<T, Problem> {
        let mut request = self.request(Method::POST, path).json(body);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        self.send(request).await
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.api));
        match &self.key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    async fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, Problem> {
        let response = request.send().await.map_err(|error| {
            Problem::new(kinds::CLIENT_NETWORK, "Cannot reach the API", 0).with_detail(format!(
                "{} did not answer ({error}). Check --api or SPARECLOUD_API.",
                self.api
            ))
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|error| {
            Problem::new(kinds::CLIENT_NETWORK, "The answer was cut off", 0)
                .with_detail(error.to_string())
        })?;
        if status.is_success() {
            let body: &[u8] = if body.is_empty() { b"null" } else { &body };
            return serde_json::from_slice(body)
                .map_err(|error| unexpected(status.as_u16(), &error.to_string()));
        }
        Err(serde_json::from_slice::<Problem>(&body)
            .unwrap_or_else(|_| unexpected(status.as_u16(), "not a problem document")))
    }
}

fn unexpected(status: u16, why: &str) -> Problem {
    Problem::new(
        kinds::CLIENT_UNEXPECTED_RESPONSE,
        "Unexpected answer from the API",
        status,
    )
    .with_detail(format!("HTTP {status}: {why}"))
}
