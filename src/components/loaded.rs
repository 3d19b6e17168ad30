//! The one way a page shows API data: a `Transition` (a loading line at
//! first, the last view while it reloads) around an `ErrorBoundary` (the
//! shared error view) around a `Suspend` that awaits the resources and
//! renders them.
//!
//! Why functions, not that markup in each page: each `Transition`,
//! `ErrorBoundary` and `Suspend` written in a page compiled its own copy of
//! their machinery into the wasm. Here they are compiled once, over the
//! erased values of `crate::resource`; a page adds only its render closure.

use std::sync::Arc;

use leptos::prelude::*;
use sparecloud_api::Problem;

use crate::components::error_view::ErrorView;
use crate::resource::{ApiResource, Erased, Loadable, Shared, erased_answer};

type Render = Arc<dyn Fn(Result<&[Shared], Problem>) -> Result<AnyView, Problem> + Send + Sync>;
type OnError = Arc<dyn Fn(ArcRwSignal<Errors>) -> AnyView + Send + Sync>;

/// Shows `render(value)` once `resources` (one `ApiResource` or a tuple)
/// have loaded; `loading` (if not empty) until then; the shared error view
/// if one fails.
pub fn loaded<R: Loadable>(
    resources: R,
    loading: &'static str,
    render: impl Fn(R::Value) -> AnyView + Send + Sync + 'static,
) -> AnyView {
    loaded_or_else(resources, loading, shared_error_view, render)
}

/// `loaded`, with the page's own view of a failure.
pub fn loaded_or_else<R: Loadable>(
    resources: R,
    loading: &'static str,
    on_error: impl Fn(ArcRwSignal<Errors>) -> AnyView + Send + Sync + 'static,
    render: impl Fn(R::Value) -> AnyView + Send + Sync + 'static,
) -> AnyView {
    let render: Render = Arc::new(move |answers| answers.map(|a| render(R::typed(a))));
    erased_loaded(resources.erased(), loading, Arc::new(on_error), render)
}

/// For data a page can do without: `render(T::default())` if it fails.
pub fn loaded_or_default<T>(
    resource: ApiResource<T>,
    loading: &'static str,
    render: impl Fn(T) -> AnyView + Send + Sync + 'static,
) -> AnyView
where
    T: Default + Clone + Send + Sync + 'static,
{
    let render: Render = Arc::new(move |answers| {
        let value = answers.map(ApiResource::<T>::typed).unwrap_or_default();
        Ok(render(value))
    });
    erased_loaded(
        resource.erased(),
        loading,
        Arc::new(shared_error_view),
        render,
    )
}

fn shared_error_view(errors: ArcRwSignal<Errors>) -> AnyView {
    view! { <ErrorView errors /> }.into_any()
}

fn loading_view(loading: &'static str) -> AnyView {
    (!loading.is_empty())
        .then(|| view! { <p aria-busy="true">{loading}</p> })
        .into_any()
}

/// The one instantiation of the markup above.
fn erased_loaded(
    resources: Vec<LocalResource<Erased>>,
    loading: &'static str,
    on_error: OnError,
    render: Render,
) -> AnyView {
    view! {
        <Transition fallback=move || loading_view(loading)>
            <ErrorBoundary fallback=move |errors| on_error(errors)>
                {
                    let resources = resources.clone();
                    let render = render.clone();
                    move || {
                        let resources = resources.clone();
                        let render = render.clone();
                        Suspend::new(async move {
                            let mut answers = Vec::with_capacity(resources.len());
                            for resource in resources {
                                match erased_answer(resource).await {
                                    Ok(answer) => answers.push(answer),
                                    Err(problem) => return render(Err(problem)),
                                }
                            }
                            render(Ok(&answers))
                        })
                    }
                }
            </ErrorBoundary>
        </Transition>
    }
    .into_any()
}
