//! Steps 2 and 3: company, then the default service level; one profile
//! saved at the end of step 3.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use sparecloud_api::seller::SellerProfileRequest;
use sparecloud_api::validate;
use stylers_macro::style;

use crate::api;
use crate::components::form::{FormAlert, TextField, alert_message, field_error};
use crate::components::loaded::loaded_or_default;
use crate::format;
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;

/// Company (step 2) and service level (step 3): one profile, saved at the
/// end of step 3.
#[component]
pub(super) fn ProfileSteps(step: Memo<usize>, go: Callback<usize>) -> impl IntoView {
    let class = style! {
        fieldset {
            display: grid;
            gap: var(--space-3);
            border: 0;
            padding: 0;
        }
        label {
            display: grid;
            grid-template-columns: auto 1fr;
            gap: var(--space-1) var(--space-3);
            padding: var(--space-3);
            border: 2px solid var(--color-border);
            border-radius: var(--radius-lg);
            cursor: pointer;
        }
        label:has(input:checked) {
            border-color: var(--color-accent);
        }
        .detail {
            grid-column: 2;
            font-size: var(--text-sm);
            color: var(--color-text-muted);
        }
    };
    let session = use_session();
    let token = session.token().unwrap_or_default();
    let company = RwSignal::new(String::new());
    let country = RwSignal::new(String::new());
    let payout = RwSignal::new(String::new());
    let tier = RwSignal::new(String::new());
    // A profile saved earlier fills the form.
    {
        let token = token.clone();
        leptos::task::spawn_local(async move {
            if let Ok(profile) = api::seller_profile(&token).await {
                company.set(profile.company_name);
                country.set(profile.country);
                payout.set(profile.payout_reference);
                tier.set(profile.default_sla_tier);
            }
        });
    }
    let tiers = ApiResource::new(api::sla_tiers);
    let submitted = RwSignal::new(false);
    let save = ApiAction::new(move |request: &SellerProfileRequest| {
        let request = request.clone();
        let token = token.clone();
        async move {
            let saved = api::save_seller_profile(&token, &request).await;
            if saved.is_ok() {
                // Once the action has stored the result: step 4 unmounts this form.
                queue_microtask(move || go.run(4));
            }
            saved
        }
    });
    let problem = move || save.value().and_then(Result::err);
    let company_error = field_error(problem, "company_name", submitted, company, |v| {
        validate::short_text(v, 120, "your company's name")
    });
    let country_error = field_error(problem, "country", submitted, country, validate::country);
    let payout_error = field_error(problem, "payout_reference", submitted, payout, |v| {
        validate::short_text(v, 64, "where payouts go")
    });
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        submitted.set(true);
        let company_ok = validate::short_text(&company.get_untracked(), 120, "x").is_ok()
            && validate::country(&country.get_untracked()).is_ok()
            && validate::short_text(&payout.get_untracked(), 64, "x").is_ok();
        if step.get_untracked() == 2 {
            if company_ok {
                submitted.set(false);
                go.run(3);
            }
            return;
        }
        if !company_ok {
            go.run(2);
            return;
        }
        if tier.with_untracked(String::is_empty) {
            return;
        }
        save.dispatch(SellerProfileRequest {
            company_name: company.get_untracked().trim().to_owned(),
            country: country.get_untracked().trim().to_uppercase(),
            payout_reference: payout.get_untracked().trim().to_owned(),
            default_sla_tier: tier.get_untracked(),
        });
    };
    let pending = save.pending();
    view! {
        <form class="stack" on:submit=on_submit novalidate>
            <FormAlert message=alert_message(problem) />
            <Show when=move || step.get() == 2>
                <TextField id="company" label="Company name" value=company error=company_error autocomplete="organization" />
                <TextField id="country" label="Country" value=country error=country_error
                    hint="Two-letter code, such as DE or US." autocomplete="country" />
                <TextField id="payout" label="Payout account" value=payout error=payout_error
                    hint="The IBAN or account reference we pay your earnings to." />
            </Show>
            <Show when=move || step.get() == 3>
                <p>"Choose the availability you commit to. If a host's measured availability in a month falls below it, buyers are credited automatically from your earnings."</p>
                {loaded_or_default(tiers, "Loading service levels…", move |tiers| {
                    view! {
                        <fieldset class=class>
                            <legend class="visually-hidden">"Service level"</legend>
                            {tiers.into_iter().map(|t| {
                                let id = t.id.clone();
                                let checked = { let id = id.clone(); move || tier.with(|v| *v == id) };
                                let credits = t.credits.iter()
                                    .map(|c| format!("{} % credit below {}", c.credit_percent, format::percent_bp(c.below_bp)))
                                    .collect::<Vec<_>>().join(", ");
                                view! {
                                    <label class=class>
                                        <input type="radio" name="tier" prop:checked=checked on:change=move |_| tier.set(id.clone()) />
                                        <strong>{format!("{} · {}", t.name, format::percent_bp(t.availability_bp))}</strong>
                                        <span class=format!("detail {class}")>{credits}</span>
                                    </label>
                                }
                            }).collect_view()}
                        </fieldset>
                    }.into_any()
                })}
                {move || (submitted.get() && tier.with(String::is_empty)).then(|| view! {
                    <p class="field-error">"Choose a service level."</p>
                })}
            </Show>
            <div class="wizard-nav">
                <button class="button button-secondary" type="button" on:click=move |_| go.run(step.get_untracked() - 1)>"Back"</button>
                <button class="button" type="submit" disabled=move || pending.get()>"Continue"</button>
            </div>
        </form>
    }
}
