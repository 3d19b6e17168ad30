//! Step 1: a seller account, made or signed in to (a buyer-only account is
//! told to make a seller account).

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api;
use crate::session::use_session;

#[component]
pub(super) fn AccountStep(go: Callback<usize>) -> impl IntoView {
    let session = use_session();
    let next = api::encode("/sell/start?step=2");
    view! {
        <Show
            when=move || session.signed_in()
            fallback=move || view! {
                <p>"Create a seller account, or sign in to the one you have."</p>
                <p class="actions-row">
                    <A href=format!("/sign-up?role=seller&next={next}") attr:class="button">"Create a seller account"</A>
                    " "
                    <A href=format!("/sign-in?next={next}")>"Sign in"</A>
                </p>
            }
        >
            <p>"This account can only buy. Sellers have their own accounts: sign out and create a seller account."</p>
            <button class="button button-secondary" type="button" on:click=move |_| go.run(1)>"Check again"</button>
        </Show>
    }
}
