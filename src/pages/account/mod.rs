//! `/account`: who is signed in, the saved cards (each removable), API
//! keys for scripts (`api_keys.rs`), and signing out everywhere.

mod api_keys;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;
use sparecloud_api::accounts::Role;
use sparecloud_api::checkout::PaymentMethod;

use crate::api;
use crate::components::confirm_dialog::AskFirst;
use crate::components::form::problem_message;
use crate::components::loaded::loaded;
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;

#[component]
pub fn AccountPage() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="container page">
            <h1>"Your account"</h1>
            <Show when=move || session.signed_in() fallback=|| view! {
                <p class="lead">"Sign in to see your account."</p>
                <p><A href="/sign-in?next=/account">"Sign in"</A></p>
            }>
                <div class="page-sections">
                    <Profile />
                    <SavedCards />
                    <api_keys::ApiKeys />
                    <Sessions />
                </div>
            </Show>
        </div>
    }
}

#[component]
fn Profile() -> impl IntoView {
    let session = use_session();
    let account = move || session.account();
    let roles = move || {
        account().map_or_else(String::new, |a| {
            let names: Vec<_> = a
                .roles
                .iter()
                .map(|r| match r {
                    Role::Buyer => "buying",
                    Role::Seller => "selling",
                })
                .collect();
            names.join(" and ")
        })
    };
    view! {
        <section aria-labelledby="profile-heading" class="stack">
            <h2 id="profile-heading">"Profile"</h2>
            <dl class="facts">
                <div class="fact"><dt>"Name"</dt><dd>{move || account().map(|a| a.display_name).unwrap_or_default()}</dd></div>
                <div class="fact"><dt>"Email"</dt><dd>{move || account().map(|a| a.email).unwrap_or_default()}</dd></div>
                <div class="fact"><dt>"Uses Sparecloud for"</dt><dd>{roles}</dd></div>
            </dl>
        </section>
    }
}

/// "Visa ending in 4242, expires 12/2030 (Ada Lovelace)".
fn card_text(card: &PaymentMethod) -> String {
    format!(
        "{} ending in {}, expires {:02}/{} ({})",
        card.brand, card.last4, card.exp_month, card.exp_year, card.holder_name
    )
}

#[component]
fn SavedCards() -> impl IntoView {
    let session = use_session();
    let token = move || session.token().unwrap_or_default();
    let remove = ApiAction::new(move |id: &String| {
        let id = id.clone();
        let token = token();
        async move { api::remove_card(&token, &id).await }
    });
    let cards = ApiResource::new(move || {
        remove.version().get();
        let token = token();
        async move { api::payment_methods(&token).await }
    });
    // The card whose removal is being confirmed.
    let confirming = RwSignal::new(None::<String>);
    let problem = move || {
        remove
            .value()
            .and_then(Result::err)
            .map(|p| problem_message(&p))
    };
    view! {
        <section aria-labelledby="cards-heading" class="stack">
            <h2 id="cards-heading">"Saved cards"</h2>
            {move || problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
            {loaded(cards, "Loading cards…", move |list| {
                if list.is_empty() {
                    view! { <p>"No saved cards. You add one when you check out."</p> }.into_any()
                } else {
                    view! {
                        <ul class="card-list stack">
                            {list.into_iter().map(|card| {
                                let text = card_text(&card);
                                let short = format!("{} ending in {}", card.brand, card.last4);
                                let id = card.id.clone();
                                view! {
                                    <li>
                                        <span>{text}</span>" "
                                        <AskFirst asking=confirming id=id.clone() text="Remove" name=format!("Remove {short}")
                                            label=format!("Confirm removing {short}")
                                            question=format!("Remove {short}? It is never charged again; invoices still to pay go to your other cards.")
                                            action="Remove card"
                                            on_confirm=Callback::new(move |()| { remove.dispatch(id.clone()); }) />
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            })}
        </section>
    }
}

#[component]
fn Sessions() -> impl IntoView {
    let session = use_session();
    let navigate = StoredValue::new_local(use_navigate());
    let sign_out_everywhere = ApiAction::new(move |(): &()| {
        let token = session.token().unwrap_or_default();
        async move {
            let ended = api::sign_out_everywhere(&token).await;
            if ended.is_ok() {
                session.clear();
                navigate.with_value(|go| go("/sign-in", Default::default()));
            }
            ended
        }
    });
    let problem = move || {
        sign_out_everywhere
            .value()
            .and_then(Result::err)
            .map(|p| problem_message(&p))
    };
    view! {
        <section aria-labelledby="sessions-heading" class="stack">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p>"Signed in on a computer you no longer have, or one you shared? Sign out everywhere ends every session of this account, this one too."</p>
            {move || problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
            <p>
                <button class="button button-secondary" type="button"
                    disabled=move || sign_out_everywhere.pending().get()
                    on:click=move |_| { sign_out_everywhere.dispatch(()); }>
                    "Sign out everywhere"
                </button>
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_reads_with_its_expiry_and_holder() {
        let card = PaymentMethod {
            id: "pm_1".into(),
            brand: "Visa".into(),
            last4: "4242".into(),
            exp_month: 3,
            exp_year: 2030,
            holder_name: "Ada Lovelace".into(),
        };
        assert_eq!(
            card_text(&card),
            "Visa ending in 4242, expires 03/2030 (Ada Lovelace)"
        );
    }
}
