//! Seller onboarding: Account → Company → Service level → Connect a host →
//! Pricing. The step is in the URL; what is saved on the server (profile,
//! tokens, hosts) is read back, so a reload or a sign-in loses nothing.

use std::time::Duration;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use sparecloud_api::accounts::Role;
use sparecloud_api::catalog::SlaTier;
use sparecloud_api::seller::{
    CreateOfferRequest, CreatedInstallToken, FlavorPrice, Host, InstallTokenRequest,
    InstallTokenStatus, SellerProfileRequest,
};
use sparecloud_api::{Problem, validate};
use stylers_macro::style;

use crate::api;
use crate::components::copy_button::CopyButton;
use crate::components::form::{
    FormAlert, TextField, alert_message, field_error, field_message, problem_message,
};
use crate::components::polling::use_ticker;
use crate::components::steps::StepIndicator;
use crate::format;
use crate::session::use_session;

pub const STEPS: [&str; 5] = [
    "Account",
    "Company",
    "Service level",
    "Connect a host",
    "Pricing",
];

/// "mm:ss" left until `expires_at_ms`, or "expired".
pub fn countdown(now_ms: f64, expires_at_ms: f64) -> String {
    let left = ((expires_at_ms - now_ms) / 1000.0).floor();
    if left <= 0.0 {
        return "expired".to_owned();
    }
    let left = left as u64;
    let (h, m, s) = (left / 3600, left / 60 % 60, left % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// Monthly earnings for one instance running all month, after commission.
pub fn monthly_net_cents(hourly_cents: u64, commission_bp: u32) -> u64 {
    hourly_cents * 730 * u64::from(10_000 - commission_bp.min(10_000)) / 10_000
}

#[component]
pub fn SellerOnboarding() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let step = Memo::new(move |_| {
        let wanted = query.with(|q| {
            q.get("step")
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(1)
        });
        if session.has_role(Role::Seller) {
            wanted.clamp(2, 5)
        } else {
            1
        }
    });
    // Steps 2 and 3 are one form: moving between them keeps what was typed.
    let section = Memo::new(move |_| match step.get() {
        3 => 2,
        s => s,
    });
    let navigate = use_navigate();
    let go = StoredValue::new_local(move |to: usize| {
        navigate(&format!("/sell/start?step={to}"), Default::default())
    });
    let go = Callback::new(move |to: usize| go.with_value(|go| go(to)));
    view! {
        <div class="container page">
            <h1>"Start selling"</h1>
            <StepIndicator steps=&STEPS current=step label="Onboarding steps" />
            <div class="form-card">
                <h2>{move || STEPS[step.get() - 1]}</h2>
                {move || match section.get() {
                    1 => view! { <AccountStep go=go /> }.into_any(),
                    2 => view! { <ProfileSteps step=step go=go /> }.into_any(),
                    4 => view! { <ConnectStep go=go /> }.into_any(),
                    _ => view! { <PricingStep /> }.into_any(),
                }}
            </div>
        </div>
    }
}

#[component]
fn AccountStep(go: Callback<usize>) -> impl IntoView {
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

/// Company (step 2) and service level (step 3): one profile, saved at the
/// end of step 3.
#[component]
fn ProfileSteps(step: Memo<usize>, go: Callback<usize>) -> impl IntoView {
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
    let tiers = LocalResource::new(api::sla_tiers);
    let submitted = RwSignal::new(false);
    let save = Action::new_local(move |request: &SellerProfileRequest| {
        let request = request.clone();
        let token = token.clone();
        async move { api::save_seller_profile(&token, &request).await }
    });
    let problem = move || save.value().get().and_then(Result::err);
    let company_error = field_error(problem, "company_name", submitted, company, |v| {
        validate::short_text(v, 120, "your company's name")
    });
    let country_error = field_error(problem, "country", submitted, country, validate::country);
    let payout_error = field_error(problem, "payout_reference", submitted, payout, |v| {
        validate::short_text(v, 64, "where payouts go")
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            go.run(4);
        }
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
                <Transition fallback=|| view! { <p>"Loading service levels…"</p> }>
                    {move || Suspend::new(async move {
                        let tiers: Vec<SlaTier> = tiers.await.unwrap_or_default();
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
                        }
                    })}
                </Transition>
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

#[component]
fn ConnectStep(go: Callback<usize>) -> impl IntoView {
    let class = style! {
        pre {
            padding: var(--space-3);
            background: var(--color-text);
            color: var(--color-surface);
            border-radius: var(--radius);
            white-space: pre-wrap;
            overflow-wrap: anywhere;
        }
        .command {
            display: grid;
            gap: var(--space-2);
            margin-top: var(--space-4);
        }
        table {
            width: 100%;
            border-collapse: collapse;
            margin-top: var(--space-3);
        }
        th, td {
            padding: var(--space-2);
            text-align: left;
            border-bottom: 1px solid var(--color-border);
        }
        .connected {
            font-weight: 500;
            padding: var(--space-3);
            background: var(--color-success-bg);
            color: var(--color-success);
            border-radius: var(--radius);
        }
    };
    let session = use_session();
    let token = session.token().unwrap_or_default();
    let zone = RwSignal::new("eu-west-1a".to_owned());
    let label = RwSignal::new("my-server".to_owned());
    let hours = RwSignal::new(24u32);
    let created = RwSignal::new(None::<CreatedInstallToken>);
    let tick = use_ticker(Duration::from_secs(1));
    let every_2s = Memo::new(move |_| tick.get() / 2);
    let tokens = {
        let token = token.clone();
        LocalResource::new(move || {
            every_2s.track();
            let token = token.clone();
            async move { api::install_tokens(&token).await }
        })
    };
    let hosts = {
        let token = token.clone();
        LocalResource::new(move || {
            every_2s.track();
            let token = token.clone();
            async move { api::hosts(&token).await }
        })
    };
    let generate = {
        let token = token.clone();
        Action::new_local(move |request: &InstallTokenRequest| {
            let request = request.clone();
            let token = token.clone();
            async move { api::create_install_token(&token, &request).await }
        })
    };
    Effect::new(move |_| {
        if let Some(Ok(new)) = generate.value().get() {
            created.set(Some(new));
            tokens.refetch();
        }
    });
    let revoke = Action::new_local(move |id: &String| {
        let id = id.clone();
        let token = token.clone();
        async move { api::revoke_install_token(&token, &id).await }
    });
    Effect::new(move |_| {
        if revoke.value().with(|v| matches!(v, Some(Ok(_)))) {
            tokens.refetch();
        }
    });
    let problem = move || generate.value().get().and_then(Result::err);
    let zone_error = Signal::derive(move || {
        problem()
            .and_then(|p| field_message(&p, "zone"))
            .or_else(|| zone.with(|z| validate::zone(z).err()))
    });
    let label_error = Signal::derive(move || problem().and_then(|p| field_message(&p, "label")));
    let on_generate = move |ev: SubmitEvent| {
        ev.prevent_default();
        if validate::zone(&zone.get_untracked()).is_err() {
            return;
        }
        generate.dispatch(InstallTokenRequest {
            label: label.get_untracked().trim().to_owned(),
            zone: zone.get_untracked().trim().to_owned(),
            expires_in_hours: Some(hours.get_untracked()),
        });
    };
    // The host this token connected, once the agent has registered.
    let connected = move || -> Option<Host> {
        let created = created.get()?;
        let tokens = tokens.get()?.ok()?;
        let used = tokens
            .into_iter()
            .find(|t| t.id == created.install_token.id)?;
        let host_id = used.host_id?;
        hosts.get()?.ok()?.into_iter().find(|h| h.id == host_id)
    };
    let any_host = move || {
        hosts
            .get()
            .and_then(Result::ok)
            .is_some_and(|h| !h.is_empty())
    };
    view! {
        <p>"Generate an install token, then run the command it gives you on the server you want to sell. It registers the host and starts the agent."</p>
        <form class="stack" on:submit=on_generate novalidate>
            <FormAlert message=alert_message(problem) />
            <TextField id="token-zone" label="Zone" value=zone error=zone_error hint="Where the server is, such as eu-west-1a." />
            <TextField id="token-label" label="Label" value=label error=label_error hint="To recognise the token later." />
            <div class="field">
                <label for="token-expiry">"Expires in"</label>
                <select id="token-expiry" on:change=move |ev| hours.set(event_target_value(&ev).parse().unwrap_or(24))>
                    <option value="1">"1 hour"</option>
                    <option value="24" selected>"24 hours"</option>
                    <option value="168">"7 days"</option>
                </select>
            </div>
            <button class="button" type="submit" disabled=move || generate.pending().get()>"Generate install token"</button>
        </form>
        {move || created.get().map(|new| {
            let expires_ms = js_sys::Date::parse(&new.install_token.expires_at);
            let command = new.install_command.clone();
            view! {
                <div class=format!("command {class}")>
                    <p><strong>"Run this on your server."</strong>" It is shown only once."</p>
                    <pre class=class><code>{command.clone()}</code></pre>
                    <div class="actions-row">
                        <CopyButton text=command label="Copy the install command" />
                    </div>
                    <p>{move || { tick.track(); format!("Expires in {}", countdown(js_sys::Date::now(), expires_ms)) }}</p>
                    {move || match connected() {
                        Some(host) => view! {
                            <p class=format!("connected {class}") role="status">
                                <strong>"Connected"</strong>
                                {format!(": {} in {} with {} vCPU, {} GiB RAM and {} GiB disk to sell.",
                                    host.name, host.zone, host.capacity.vcpu, host.capacity.ram_gib, host.capacity.disk_gib)}
                            </p>
                        }.into_any(),
                        None => view! { <p role="status" aria-busy="true">"Waiting for your agent…"</p> }.into_any(),
                    }}
                </div>
            }
        })}
        <h3>"Install tokens"</h3>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = tokens.await.unwrap_or_default();
                view! {
                    <table class=class>
                        <thead><tr><th class=class>"Label"</th><th class=class>"Zone"</th><th class=class>"Status"</th><th class=class><span class="visually-hidden">"Actions"</span></th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|t| {
                                let id = t.id.clone();
                                let unused = t.status == InstallTokenStatus::Unused;
                                let status = format!("{:?}", t.status).to_lowercase();
                                let label = t.label.clone();
                                view! {
                                    <tr>
                                        <td class=class>{t.label}</td>
                                        <td class=class>{t.zone}</td>
                                        <td class=class>{status}</td>
                                        <td class=class>
                                            {unused.then(|| view! {
                                                <button class="button button-secondary" type="button"
                                                    aria-label=format!("Revoke {label}")
                                                    on:click=move |_| { revoke.dispatch(id.clone()); }>"Revoke"</button>
                                            })}
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }
            })}
        </Transition>
        <div class="wizard-nav">
            <button class="button button-secondary" type="button" on:click=move |_| go.run(3)>"Back"</button>
            <button class="button" type="button" disabled=move || !any_host() on:click=move |_| go.run(5)>"Continue"</button>
        </div>
    }
}

#[component]
fn PricingStep() -> impl IntoView {
    let class = style! {
        table {
            width: 100%;
            border-collapse: collapse;
        }
        th, td {
            padding: var(--space-2);
            text-align: left;
            border-bottom: 1px solid var(--color-border);
            vertical-align: top;
        }
        input {
            width: 7rem;
            min-height: 2.5rem;
            padding: var(--space-1) var(--space-2);
            border: 1px solid var(--color-border);
            border-radius: var(--radius);
        }
        .live {
            padding: var(--space-3);
            background: var(--color-success-bg);
            color: var(--color-success);
            border-radius: var(--radius);
        }
    };
    let session = use_session();
    let token = session.token().unwrap_or_default();
    // Priced for the zone of the seller's first host and the profile's tier.
    let context = {
        let token = token.clone();
        LocalResource::new(move || {
            let token = token.clone();
            async move {
                let profile = api::seller_profile(&token).await?;
                let hosts = api::hosts(&token).await?;
                let zone = hosts
                    .first()
                    .map(|h| h.zone.clone())
                    .unwrap_or_else(|| "eu-west-1a".into());
                let market = api::market(&zone, &profile.default_sla_tier).await?;
                Ok::<_, Problem>((zone, profile.default_sla_tier, market))
            }
        })
    };
    let publish = Action::new_local(move |request: &CreateOfferRequest| {
        let request = request.clone();
        let token = token.clone();
        async move { api::create_offer(&token, &request).await }
    });
    let pending = publish.pending();
    view! {
        <Transition fallback=|| view! { <p aria-busy="true">"Loading current prices…"</p> }>
            <ErrorBoundary fallback=|errors| view! {
                <p class="alert alert-error" role="alert">{move || errors.with(|e| e.iter().next().map(|(_, e)| e.to_string()).unwrap_or_default())}</p>
            }>
                {move || Suspend::new(async move {
                    let (zone, tier, market) = context.await?;
                    let commission = market.commission_bp;
                    let rows: Vec<(String, String, RwSignal<String>)> = market.prices.iter().map(|p| {
                        let f = &p.flavor;
                        (f.id.clone(), format::size(f.vcpu, f.ram_gib, f.disk_gib),
                         RwSignal::new(p.median_hourly_cents.map(format::cents_as_decimal).unwrap_or_default()))
                    }).collect();
                    let medians: Vec<Option<u64>> = market.prices.iter().map(|p| p.median_hourly_cents).collect();
                    let error = RwSignal::new(None::<String>);
                    let rows_for_submit = rows.clone();
                    let zone_for_submit = zone.clone();
                    let tier_for_submit = tier.clone();
                    let on_publish = move |ev: SubmitEvent| {
                        ev.prevent_default();
                        let mut prices = Vec::new();
                        for (flavor, _, value) in &rows_for_submit {
                            let text = value.get_untracked();
                            if text.trim().is_empty() { continue; }
                            match format::parse_eur(&text).filter(|c| *c > 0) {
                                Some(cents) => prices.push(FlavorPrice { flavor_id: flavor.clone(), hourly_cents: cents }),
                                None => { error.set(Some(format!("The price for {flavor} is not an amount in euros, such as 0.12."))); return; }
                            }
                        }
                        if prices.is_empty() {
                            error.set(Some("Set a price for at least one size.".into()));
                            return;
                        }
                        error.set(None);
                        publish.dispatch(CreateOfferRequest { zone: zone_for_submit.clone(), sla_tier: tier_for_submit.clone(), prices });
                    };
                    let published = move || publish.value().get().and_then(Result::ok);
                    let problem = move || publish.value().get().and_then(Result::err).map(|p| problem_message(&p));
                    let zone_link = zone.clone();
                    Ok::<_, Problem>(view! {
                        <p>{format!("Prices per hour for {zone}, {tier} service level. Prefilled with the median of current offers there; leave a size empty not to sell it. You keep {} after our {} commission.",
                            format::percent_bp(10_000 - commission), format::percent_bp(commission))}</p>
                        <form on:submit=on_publish novalidate>
                            <table class=class>
                                <thead><tr>
                                    <th class=class scope="col">"Size"</th>
                                    <th class=class scope="col">"Price per hour (EUR)"</th>
                                    <th class=class scope="col">"You earn per month"</th>
                                </tr></thead>
                                <tbody>
                                    {rows.into_iter().zip(medians).map(|((flavor, detail, value), median)| {
                                        let id = format!("price-{}", flavor.replace('.', "-"));
                                        let earn = move || value.with(|v| format::parse_eur(v))
                                            .map(|c| format::eur(monthly_net_cents(c, commission)))
                                            .unwrap_or_else(|| "—".into());
                                        let hint = median.map_or("No one sells this here yet.".to_owned(), |m| format!("Median {}", format::eur(m)));
                                        view! {
                                            <tr>
                                                <th class=class scope="row"><label for=id.clone()>{format!("{flavor} price per hour")}</label><br/><small>{detail}</small></th>
                                                <td class=class>
                                                    <input class=class id=id inputmode="decimal" prop:value=move || value.get()
                                                        on:input=move |ev| value.set(event_target_value(&ev)) />
                                                    <br/><small>{hint}</small>
                                                </td>
                                                <td class=class>{earn}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            {move || error.get().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
                            {move || problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
                            <p class="actions-row">
                                <button class="button" type="submit" disabled=move || pending.get() || published().is_some()>"Publish offer"</button>
                            </p>
                        </form>
                        {move || published().map(|offer| view! {
                            <div class=format!("live {class}") role="status">
                                <p><strong>"Your offer is live."</strong>
                                    {if offer.listed { " Buyers can rent it now." } else { " It will be listed as soon as a host has room for one of its sizes." }}
                                </p>
                                <p>
                                    <A href=format!("/marketplace?zone={}", api::encode(&zone_link))>"See it in the marketplace"</A>
                                    " · "
                                    <A href="/seller">"Go to your dashboard"</A>
                                </p>
                            </div>
                        })}
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_read_as_clocks() {
        assert_eq!(countdown(0.0, 61_500.0), "01:01");
        assert_eq!(countdown(0.0, 3_600_000.0 + 5_000.0), "1:00:05");
        assert_eq!(countdown(10.0, 5.0), "expired");
    }

    #[test]
    fn monthly_earnings_are_net_of_commission() {
        assert_eq!(monthly_net_cents(10, 1500), 6205);
        assert_eq!(monthly_net_cents(10, 0), 7300);
    }
}
