//! Problems as responses: every `AppError` becomes
//! `application/problem+json`. Client problems go out as they are;
//! internal errors are logged with their whole source chain and answered
//! with a generic 500 that leaks nothing.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sparecloud_api::Problem;
use sparecloud_api::problem::{PROBLEM_CONTENT_TYPE, kinds};

use crate::error::AppError;

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
                tracing::error!(error = %internal.chain(), "request failed");
                problem_response(
                    Problem::new(kinds::INTERNAL, "Internal server error", 500)
                        .with_detail("Something went wrong on our side. Please try again."),
                )
            }
        }
    }
}
