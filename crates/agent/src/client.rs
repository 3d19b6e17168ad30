//! The API calls the agent makes. It only ever dials out.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use sparecloud_api::agent::{
    HeartbeatRequest, HeartbeatResponse, RegisterRequest, RegisterResponse,
};
use sparecloud_api::{API_PREFIX, Problem};

use crate::error::AgentError;

pub struct ApiClient {
    http: reqwest::Client,
    api: String,
}

impl ApiClient {
    pub fn new(api: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("sparecloud-agent/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("an HTTP client");
        Self {
            http,
            api: api.trim_end_matches('/').to_owned(),
        }
    }

    pub async fn register(
        &self,
        request: &RegisterRequest,
    ) -> Result<RegisterResponse, AgentError> {
        self.post("/agent/register", None, request).await
    }

    pub async fn heartbeat(
        &self,
        credential: &str,
        request: &HeartbeatRequest,
    ) -> Result<HeartbeatResponse, AgentError> {
        self.post("/agent/heartbeat", Some(credential), request)
            .await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        bearer: Option<&str>,
        body: &B,
    ) -> Result<T, AgentError> {
        let url = format!("{}{API_PREFIX}{path}", self.api);
        let mut request = self.http.post(&url).json(body);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(|e| AgentError::Unreachable {
            api: self.api.clone(),
            reason: error_chain(&e),
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| AgentError::Unreachable {
                api: self.api.clone(),
                reason: error_chain(&e),
            })?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| AgentError::Unexpected {
                status: status.as_u16(),
                body: e.to_string(),
            });
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => Err(AgentError::Refused(problem)),
            Err(_) => Err(AgentError::Unexpected {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
            }),
        }
    }
}

/// "connection refused" is in the innermost source, not reqwest's own text.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
