//! The one `ErrorBoundary` fallback: what went wrong (the first error's
//! message, which for API errors is the problem's detail), under an
//! optional heading, with what to do next (a link or a Retry button).

use leptos::prelude::*;

/// The message of the first error caught, for people.
pub fn first_message(errors: &Errors) -> String {
    errors
        .iter()
        .next()
        .map(|(_, e)| e.to_string())
        .unwrap_or_default()
}

#[component]
pub fn ErrorView(
    errors: ArcRwSignal<Errors>,
    /// A heading above the message: a page's own `h1` when the whole page
    /// failed to load, else an `h2`.
    #[prop(optional)]
    title: Option<&'static str>,
    #[prop(optional)] page_title: bool,
    /// Offers a Retry button that calls this.
    #[prop(optional, into)]
    retry: Option<Callback<()>>,
    /// What else to offer (a link back).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let heading = title.map(|t| {
        if page_title {
            view! { <h1>{t}</h1> }.into_any()
        } else {
            view! { <h2>{t}</h2> }.into_any()
        }
    });
    view! {
        <div class="alert alert-error" role="alert">
            {heading}
            <p>{move || errors.with(first_message)}</p>
            {children.map(|c| c())}
            {retry.map(|retry| view! {
                <button class="button button-secondary" type="button" on:click=move |_| retry.run(())>
                    "Try again"
                </button>
            })}
        </div>
    }
}
