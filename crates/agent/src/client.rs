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

/// The largest answer the agent reads: a heartbeat's answer lists this
/// host's instances and images, far below this. A bigger one is refused
/// rather than filling the host's memory.
pub const MAX_RESPONSE_BYTES: usize = 8 << 20;

/// The warning for an API address that is not encrypted: plain `http://`
/// anywhere but this machine sends the host credential in the clear.
pub fn insecure_api_warning(api: &str) -> Option<String> {
    let url = reqwest::Url::parse(api).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!loopback).then(|| {
        format!(
            "WARNING: the API address {api} is plain http: the host credential and everything \
             this agent sends can be read and changed on the way. Use the https:// address."
        )
    })
}

/// Server text made safe to print: control characters (escape sequences
/// that could rewrite the terminal, carriage returns, newlines) and
/// bidirectional overrides become spaces, and it is cut to `max` chars.
pub fn printable(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| {
            let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi { ' ' } else { c }
        })
        .collect();
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

impl ApiClient {
    pub fn new(api: &str) -> Self {
        if let Some(warning) = insecure_api_warning(api) {
            eprintln!("sparecloud-agent: {warning}");
            tracing::warn!("{warning}");
        }
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
        let bytes = read_limited(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| match e {
                Limited::TooLarge => AgentError::Unexpected {
                    status: status.as_u16(),
                    body: format!("an answer larger than {MAX_RESPONSE_BYTES} bytes, not read"),
                },
                Limited::Failed(e) => AgentError::Unreachable {
                    api: self.api.clone(),
                    reason: error_chain(&e),
                },
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
                body: printable(&String::from_utf8_lossy(&bytes), 200),
            }),
        }
    }
}

enum Limited {
    TooLarge,
    Failed(reqwest::Error),
}

/// The body, chunk by chunk, refused as soon as it passes `max` bytes
/// (whatever Content-Length said).
async fn read_limited(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, Limited> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(Limited::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Limited::Failed)? {
        if body.len() + chunk.len() > max {
            return Err(Limited::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_fine_on_this_machine_only() {
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://[::1]:8080",
            "https://market.example",
        ] {
            assert_eq!(insecure_api_warning(local), None, "{local}");
        }
        for remote in ["http://market.example", "http://198.51.100.7:8080"] {
            let warning = insecure_api_warning(remote).unwrap();
            assert!(warning.contains("plain http"), "{warning}");
        }
    }

    #[test]
    fn server_text_cannot_drive_the_terminal() {
        assert_eq!(
            printable("revoked\u{1b}[2J\u{1b}]0;pwned\u{7}\r\nok", 100),
            "revoked [2J ]0;pwned   ok"
        );
        assert_eq!(printable("a\u{202E}b", 100), "a b");
        assert_eq!(printable("abcdef", 3), "abc…");
    }

    /// A server that answers with an endless body: the agent stops reading
    /// at the limit and says so.
    #[tokio::test]
    async fn an_oversized_answer_is_refused_not_read() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            // No Content-Length: the size shows only while reading.
            let head =
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n";
            stream.write_all(head.as_bytes()).await.unwrap();
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..(MAX_RESPONSE_BYTES / chunk.len() + 8) {
                if stream.write_all(&chunk).await.is_err() {
                    return; // the agent hung up: as it should
                }
            }
        });
        let client = ApiClient::new(&format!("http://{address}"));
        let error = client
            .register(&RegisterRequest {
                token: "sc_it_x".into(),
                name: "h".into(),
                zone: None,
                capacity: sparecloud_api::catalog::Capacity {
                    vcpu: 1,
                    ram_gib: 1,
                    disk_gib: 1,
                },
                agent_version: "test".into(),
            })
            .await
            .unwrap_err();
        assert!(error.to_string().contains("larger than"), "{error}");
        server.abort();
    }
}
