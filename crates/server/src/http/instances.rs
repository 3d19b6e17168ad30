//! `/instances`: the buyer's instances and their actions.

use axum::extract::{Path, State};
use sparecloud_api::Problem;
use sparecloud_api::instances::{Instance, InstanceConsole, InstanceDetail};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::consoles;
use crate::domain::instances::{self, Action};
use crate::error::AppResult;
use crate::http::extract::{AuthUser, Json};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_instances))
        .routes(routes!(get_instance))
        .routes(routes!(get_console))
        .routes(routes!(stop_instance))
        .routes(routes!(start_instance))
        .routes(routes!(terminate_instance))
}

/// The signed-in buyer's instances, newest first.
#[utoipa::path(get, path = "/instances", tag = "instances", security(("bearer" = [])),
    responses((status = 200, body = Vec<Instance>)))]
async fn list_instances(
    State(state): State<AppState>,
    user: AuthUser,
) -> AppResult<Json<Vec<Instance>>> {
    Ok(Json(
        instances::load_instances(&state, &user.account_id, None).await?,
    ))
}

/// One instance with its event log.
#[utoipa::path(get, path = "/instances/{id}", tag = "instances", security(("bearer" = [])),
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, body = InstanceDetail),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_instance(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<InstanceDetail>> {
    Ok(Json(
        instances::detail(&state, &user.account_id, &id).await?,
    ))
}

/// The end (64 KiB) of the instance's serial console output, as its host
/// last sent it: what the machine printed while booting, and since.
#[utoipa::path(get, path = "/instances/{id}/console", tag = "instances", security(("bearer" = [])),
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, body = InstanceConsole),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn get_console(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<InstanceConsole>> {
    Ok(Json(consoles::read(&state, &user.account_id, &id).await?))
}

/// Asks the host to stop the instance; billing stops when it has.
#[utoipa::path(post, path = "/instances/{id}/stop", tag = "instances", security(("bearer" = [])),
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, body = Instance),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn stop_instance(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Instance>> {
    Ok(Json(
        instances::act(&state, &user.account_id, &id, Action::Stop).await?,
    ))
}

/// Asks the host to start a stopped instance again.
#[utoipa::path(post, path = "/instances/{id}/start", tag = "instances", security(("bearer" = [])),
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, body = Instance),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn start_instance(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Instance>> {
    Ok(Json(
        instances::act(&state, &user.account_id, &id, Action::Start).await?,
    ))
}

/// Destroys the instance for good and frees its capacity.
#[utoipa::path(post, path = "/instances/{id}/terminate", tag = "instances", security(("bearer" = [])),
    params(("id" = String, Path, description = "Instance id")),
    responses(
        (status = 200, body = Instance),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
    ))]
async fn terminate_instance(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> AppResult<Json<Instance>> {
    Ok(Json(
        instances::act(&state, &user.account_id, &id, Action::Terminate).await?,
    ))
}
