//! The OpenAPI document, assembled from every module's annotated routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Sparecloud API",
        description = "The marketplace for spare compute capacity. Errors are application/problem+json (RFC 9457).",
    ),
    servers((url = "/api/v1")),
    modifiers(&BearerAuth),
    tags(
        (name = "health", description = "Service status"),
        (name = "accounts", description = "Sign up, sign in, sessions"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from `POST /sessions`, or an API key (`sck_…`, \
                         from `POST /api-keys`): a `read` key may only GET; keys and \
                         sessions are managed with a session only.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Documents the answers any operation may give besides its own: a
/// malformed request (400), for one with a body a body too large (413), not
/// JSON (415) or with invalid fields (422), and for one that needs a
/// credential a missing or invalid one (401) or the wrong kind of account
/// (403), and for a seller route an incomplete seller profile (409). Each
/// is a problem document. Run on the whole document, once the
/// routes are merged.
pub fn add_common_responses(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        // Seller routes need a completed seller profile first.
        let seller = path.starts_with("/seller/");
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let has_body = operation.request_body.is_some();
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let responses = &mut operation.responses.responses;
            let mut add = |code: &str, description: &str| {
                responses
                    .entry(code.to_owned())
                    .or_insert_with(|| problem(description));
            };
            add("400", "Malformed request: unreadable JSON, query or header");
            if has_body {
                add("413", "The body is too large");
                add("415", "The body is not application/json");
                add("422", "Invalid fields");
            }
            if secured {
                add("401", "No credential, or one that is not valid");
                add("403", "Not allowed for this account");
            }
            if seller {
                add("409", "The seller profile is not complete yet");
            }
            if path.contains('{') {
                add("404", "No such resource, or not one of yours");
            }
        }
    }
}

fn problem(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
        .into()
}
