//! The page for a path no route matches.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

/// Shown for any path the router does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    let location = use_location();
    view! {
        <div class="container page stack">
            <h1>"Page not found"</h1>
            <p>
                "There is no page at "<code>{move || location.pathname.get()}</code>
                ". It may have moved, or the link may be mistyped."
            </p>
            <p>
                <A href="/" attr:class="button">"Go to the home page"</A>
            </p>
        </div>
    }
}
