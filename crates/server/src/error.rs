//! The one error type handlers return. Client errors become problem+json
//! responses with a stable `type`; internal errors are logged in full and
//! answered with a generic 500 that leaks nothing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sparecloud_api::problem::{PROBLEM_CONTENT_TYPE, kinds};
use sparecloud_api::{FieldError, Problem};

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A problem to show the client as it is (4xx).
    #[error("{0}")]
    Client(Problem),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn problem(kind: &str, title: &str, status: StatusCode, detail: impl Into<String>) -> Self {
        Self::Client(Problem::new(kind, title, status.as_u16()).with_detail(detail))
    }

    /// `what` names the resource: "instance", "offer", ...
    pub fn not_found(what: &str) -> Self {
        Self::problem(
            kinds::NOT_FOUND,
            "Not found",
            StatusCode::NOT_FOUND,
            format!("No {what} with that id exists, or it is not yours."),
        )
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid.", errors.len()),
        };
        let mut problem = Problem::new(
            kinds::VALIDATION,
            "Invalid request",
            StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
        )
        .with_detail(detail);
        problem.errors = errors;
        Self::Client(problem)
    }
}

/// The failed checks among `(field, check)` pairs, in the order given.
pub fn field_errors<'a>(
    checks: impl IntoIterator<Item = (&'a str, Result<(), String>)>,
) -> Vec<FieldError> {
    checks
        .into_iter()
        .filter_map(|(field, result)| {
            result.err().map(|message| FieldError {
                field: field.into(),
                message,
            })
        })
        .collect()
}

/// Writes `problem` as an `application/problem+json` response.
pub fn problem_response(problem: Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, axum::Json(problem)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
    );
    response
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Client(problem) => problem_response(problem),
            internal => {
                tracing::error!(error = %internal, "request failed");
                problem_response(
                    Problem::new(kinds::INTERNAL, "Internal server error", 500)
                        .with_detail("Something went wrong on our side. Please try again."),
                )
            }
        }
    }
}
