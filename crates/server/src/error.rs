//! The one error type of the server. Client errors carry the problem to
//! show as it is (4xx, with a stable `type`); internal errors keep their
//! source chain so that `http::problem` can log it in full while the client
//! gets a generic 500 that leaks nothing. No axum here: the domain returns
//! these, and only `http` turns them into responses.

use http::StatusCode;
use sparecloud_api::problem::kinds;
use sparecloud_api::{FieldError, Problem};

pub type AppResult<T> = Result<T, AppError>;

/// Any error with its source chain, for [`AppError::Internal`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A problem to show the client as it is (4xx).
    #[error("{0}")]
    Client(Problem),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Something that should not happen: `context` says what was being
    /// done, `source` (when there is one) why it failed.
    #[error("{context}")]
    Internal {
        context: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl AppError {
    pub fn problem(kind: &str, title: &str, status: StatusCode, detail: impl Into<String>) -> Self {
        Self::Client(Problem::new(kind, title, status.as_u16()).with_detail(detail))
    }

    /// An internal error with nothing underneath.
    pub fn internal(context: impl Into<String>) -> Self {
        Self::Internal {
            context: context.into(),
            source: None,
        }
    }

    /// An internal error caused by `source`.
    pub fn internal_from(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal {
            context: context.into(),
            source: Some(Box::new(source)),
        }
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

    /// The whole chain, outermost first: what the log shows.
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(error) = source {
            text.push_str(": ");
            text.push_str(&error.to_string());
            source = error.source();
        }
        text
    }
}

/// One field's error.
pub fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

/// The failed checks among `(field, check)` pairs, in the order given.
pub fn field_errors<'a>(
    checks: impl IntoIterator<Item = (&'a str, Result<(), String>)>,
) -> Vec<FieldError> {
    checks
        .into_iter()
        .filter_map(|(name, result)| result.err().map(|message| field(name, message)))
        .collect()
}

/// The result of an INSERT, with a unique-constraint violation (the row
/// exists already) told apart: `Ok(false)`. The one place that knows how
/// a backend reports one.
pub fn inserted<T>(result: Result<T, sqlx::Error>) -> Result<bool, sqlx::Error> {
    match result {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_source_chain() {
        let io = std::io::Error::other("disk on fire");
        let error = AppError::internal_from("reading the index", io);
        assert_eq!(error.to_string(), "reading the index");
        assert_eq!(error.chain(), "reading the index: disk on fire");
        assert_eq!(AppError::internal("no source").chain(), "no source");
        let db = AppError::from(sqlx::Error::RowNotFound);
        assert!(db.chain().starts_with("database error: "), "{}", db.chain());
    }

    #[test]
    fn failed_checks_become_field_errors_in_order() {
        let errors = field_errors([
            ("a", Ok(())),
            ("b", Err("bad b".into())),
            ("c", Err("bad c".into())),
        ]);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["b", "c"]);
    }
}
