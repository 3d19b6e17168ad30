//! `/sign-up`: a buyer and/or seller account, signed in at once.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use sparecloud_api::accounts::{Role, SignUpRequest};
use sparecloud_api::validate;

use crate::api;
use crate::components::form::{
    EmailField, FormAlert, TextField, alert_message, field_error, field_message,
};
use crate::session::{start_session_action, use_next};

/// Create an account (buyer, seller or both) and sign in with it.
#[component]
pub fn SignUp() -> impl IntoView {
    let query = use_query_map();
    let prefix = crate::embed::prefix();
    let next = use_next();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let buyer = RwSignal::new(true);
    let seller =
        RwSignal::new(query.with_untracked(|q| q.get("role")).as_deref() == Some("seller"));
    let submitted = RwSignal::new(false);
    let sign_up =
        start_session_action(|request: SignUpRequest| async move { api::sign_up(&request).await });
    let problem = move || sign_up.value().and_then(Result::err);
    let email_error = field_error(problem, "email", submitted, email, validate::email);
    let password_error = field_error(problem, "password", submitted, password, validate::password);
    let name_error = field_error(
        problem,
        "display_name",
        submitted,
        name,
        validate::display_name,
    );
    let roles_error = Signal::derive(move || {
        problem()
            .and_then(|p| field_message(&p, "roles"))
            .or_else(|| {
                (submitted.get() && !buyer.get() && !seller.get())
                    .then(|| "Choose at least one: buy or sell.".to_owned())
            })
    });

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        let roles: Vec<Role> = [(buyer, Role::Buyer), (seller, Role::Seller)]
            .into_iter()
            .filter(|(on, _)| on.get_untracked())
            .map(|(_, role)| role)
            .collect();
        let valid = validate::email(&email.get_untracked()).is_ok()
            && validate::password(&password.get_untracked()).is_ok()
            && validate::display_name(&name.get_untracked()).is_ok()
            && !roles.is_empty();
        if valid {
            sign_up.dispatch(SignUpRequest {
                email: email.get_untracked().trim().to_owned(),
                password: password.get_untracked(),
                display_name: name.get_untracked().trim().to_owned(),
                roles,
            });
        }
    };
    let pending = sign_up.pending();

    view! {
        <div class="container page narrow">
            <h1>"Create your account"</h1>
            <p class="lead">"Rent spare capacity by the hour, or sell your own."</p>
            <form class="stack form-card" on:submit=on_submit novalidate>
                <FormAlert message=alert_message(problem) />
                <TextField id="display-name" label="Your name" value=name error=name_error autocomplete="name" />
                <EmailField value=email error=email_error />
                <TextField
                    id="password"
                    label="Password"
                    value=password
                    error=password_error
                    input_type="password"
                    autocomplete="new-password"
                    hint="At least 10 characters."
                />
                <fieldset class="field" aria-describedby=move || roles_error.with(Option::is_some).then_some("roles-error")>
                    <legend>"I want to"</legend>
                    <label class="check">
                        <input type="checkbox" prop:checked=move || buyer.get() on:change=move |ev| buyer.set(event_target_checked(&ev)) />
                        "Rent capacity"
                    </label>
                    <label class="check">
                        <input type="checkbox" prop:checked=move || seller.get() on:change=move |ev| seller.set(event_target_checked(&ev)) />
                        "Sell capacity"
                    </label>
                    {move || roles_error.get().map(|m| view! { <p class="field-error" id="roles-error">{m}</p> })}
                </fieldset>
                <button class="button" type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Creating your account…" } else { "Sign up" }}
                </button>
            </form>
            <p class="form-footer">
                "Already have an account? "
                <A href=move || format!("{prefix}/sign-in?next={}", api::encode(&next.get()))>"Sign in"</A>
            </p>
        </div>
    }
}
