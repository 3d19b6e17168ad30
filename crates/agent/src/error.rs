use std::path::PathBuf;

use sparecloud_api::Problem;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot reach the Sparecloud API at {api}: {reason}")]
    Unreachable { api: String, reason: String },
    /// The API refused the request; its problem says why (made printable:
    /// it is the server's text).
    #[error("{}", crate::client::printable(.0.message(), 1000))]
    Refused(Problem),
    #[error("unexpected answer from the API ({status}): {body}")]
    Unexpected { status: u16, body: String },
    #[error(
        "this host is not registered yet (no host.json in {0}): run `sparecloud-agent register` first"
    )]
    NotRegistered(PathBuf),
    #[error("agent state file {0}: {1}")]
    State(PathBuf, String),
    #[error("{0}")]
    Capacity(String),
    /// What the qemu driver needs and this host lacks, one line each.
    #[error("this host cannot run virtual machines yet:\n  {}", .0.join("\n  "))]
    NotReady(Vec<String>),
    #[error("cannot serve metrics on {0}: {1}")]
    Metrics(std::net::SocketAddr, String),
}

impl AgentError {
    /// Worth retrying later (the API is down or overloaded), as opposed to a
    /// refusal that will not change.
    pub fn is_transient(&self) -> bool {
        match self {
            AgentError::Unreachable { .. } => true,
            AgentError::Unexpected { status, .. } => *status >= 500 || *status == 429,
            AgentError::Refused(problem) => problem.status >= 500 || problem.status == 429,
            _ => false,
        }
    }
}
