//! `/sign-in`, returning to the same-origin path in `?next=`.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::accounts::SignInRequest;
use sparecloud_api::validate;

use crate::api;
use crate::components::form::{EmailField, FormAlert, TextField, alert_message, field_error};
use crate::session::{start_session_action, use_next};

/// Sign in, then go back to where the visitor came from (`?next=`).
#[component]
pub fn SignIn() -> impl IntoView {
    let prefix = crate::embed::prefix();
    let next = use_next();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submitted = RwSignal::new(false);
    let sign_in =
        start_session_action(|request: SignInRequest| async move { api::sign_in(&request).await });
    let problem = move || sign_in.value().and_then(Result::err);

    let email_error = field_error(problem, "email", submitted, email, validate::email);
    let password_error = Signal::derive(move || {
        (submitted.get() && password.with(String::is_empty))
            .then(|| "Enter your password.".to_owned())
    });

    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        if validate::email(&email.get_untracked()).is_err()
            || password.with_untracked(String::is_empty)
        {
            return;
        }
        sign_in.dispatch(SignInRequest {
            email: email.get_untracked().trim().to_owned(),
            password: password.get_untracked(),
        });
    };
    let pending = sign_in.pending();

    view! {
        <div class="container page narrow">
            <h1>"Sign in"</h1>
            <p class="lead">"Welcome back. Sign in to rent capacity or manage your hosts."</p>
            <form class="stack form-card" on:submit=on_submit novalidate>
                <FormAlert message=alert_message(problem) />
                <EmailField value=email error=email_error />
                <TextField
                    id="password"
                    label="Password"
                    value=password
                    error=password_error
                    input_type="password"
                    autocomplete="current-password"
                />
                <button class="button" type="submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
            <p class="form-footer">
                "New to Sparecloud? "
                <A href=move || format!("{prefix}/sign-up?next={}", api::encode(&next.get()))>
                    "Create an account"
                </A>
            </p>
        </div>
    }
}
