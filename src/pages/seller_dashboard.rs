use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::Problem;
use sparecloud_api::accounts::Role;
use sparecloud_api::catalog::Capacity;
use sparecloud_api::seller::{
    DrainProgress, FlavorPrice, Host, HostStatus, InstallToken, InstallTokenStatus, OfferStatus,
    SellerOffer, UpdateOfferRequest,
};
use stylers_macro::style;

use crate::api;
use crate::components::earnings_chart::EarningsChart;
use crate::components::form::problem_message;
use crate::components::polling::use_ticker;
use crate::format;
use crate::session::use_session;

/// The seller's hosts, offers, install tokens and earnings.
#[component]
pub fn SellerDashboard() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="container page">
            <h1>"Seller dashboard"</h1>
            <Show when=move || session.has_role(Role::Seller) fallback=|| view! {
                <p class="lead">"Sign in with a seller account to see your hosts, offers and earnings."</p>
                <p><A href="/sign-in?next=/seller">"Sign in"</A>" · "<A href="/sell">"Start selling"</A></p>
            }>
                <Dashboard />
            </Show>
        </div>
    }
}

fn dash_class() -> &'static str {
    #[allow(clippy::let_and_return)]
    let class = style! {
        section {
            margin-top: var(--space-6);
            overflow-x: auto;
        }
        table {
            width: 100%;
            border-collapse: collapse;
            background: var(--color-surface);
        }
        th, td {
            padding: var(--space-2) var(--space-3);
            text-align: left;
            border-bottom: 1px solid var(--color-border);
        }
        th {
            white-space: nowrap;
        }
        td.migration {
            color: var(--color-text-muted);
            background: var(--color-surface-muted);
        }
        .totals {
            display: flex;
            flex-wrap: wrap;
            gap: var(--space-5);
            margin-block: var(--space-3);
        }
        .totals strong {
            display: block;
            font-size: var(--text-xl);
        }
        input {
            width: 6rem;
            padding: var(--space-1) var(--space-2);
            border: 1px solid var(--color-border);
            border-radius: var(--radius-sm);
        }
    };
    class
}

#[component]
fn Dashboard() -> impl IntoView {
    let class = dash_class();
    let session = use_session();
    let tick = use_ticker(Duration::from_secs(5));
    let token = move || session.token().unwrap_or_default();
    let hosts = LocalResource::new(move || {
        tick.track();
        let token = token();
        async move { api::hosts(&token).await }
    });
    let offers = LocalResource::new(move || {
        let token = token();
        async move { api::seller_offers(&token).await }
    });
    let tokens = LocalResource::new(move || {
        tick.track();
        let token = token();
        async move { api::install_tokens(&token).await }
    });
    let earnings = LocalResource::new(move || {
        let token = token();
        async move { api::earnings(&token).await }
    });
    // Outside the table: the host list reloads every few seconds, and an
    // open "drain?" question must survive that.
    let confirming_drain = RwSignal::new(None::<String>);
    let problem_view = |errors: ArcRwSignal<Errors>| {
        view! {
            <p class="alert alert-error" role="alert">
                {move || errors.with(|e| e.iter().next().map(|(_, e)| e.to_string()).unwrap_or_default())}
            </p>
        }
    };
    view! {
        <p class="actions-row"><A href="/sell/start?step=4" attr:class="button">"Connect a host"</A></p>
        <section class=class aria-labelledby="hosts-heading">
            <h2 id="hosts-heading">"Hosts"</h2>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading hosts…"</p> }>
                <ErrorBoundary fallback=move |e| problem_view(e)>
                    {move || Suspend::new(async move {
                        let list = hosts.await?;
                        Ok::<_, Problem>(view! { <HostTable hosts=list confirming=confirming_drain on_change=Callback::new(move |()| hosts.refetch()) /> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
        <section class=class aria-labelledby="offers-heading">
            <h2 id="offers-heading">"Offers"</h2>
            <Transition fallback=|| view! { <p aria-busy="true">"Loading offers…"</p> }>
                <ErrorBoundary fallback=move |e| problem_view(e)>
                    {move || Suspend::new(async move {
                        let list = offers.await?;
                        Ok::<_, Problem>(if list.is_empty() {
                            view! { <p>"No offers yet. "<A href="/sell/start?step=5">"Set your prices"</A></p> }.into_any()
                        } else {
                            view! {
                                <For each=move || list.clone() key=|o| (o.id.clone(), o.updated_at.clone()) let:offer>
                                    <OfferRow offer=offer on_change=Callback::new(move |()| offers.refetch()) />
                                </For>
                            }.into_any()
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
        <section class=class aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"Install tokens"</h2>
            <Transition fallback=|| ()>
                <ErrorBoundary fallback=move |e| problem_view(e)>
                    {move || Suspend::new(async move {
                        let list = tokens.await?;
                        Ok::<_, Problem>(view! { <TokenTable tokens=list on_change=Callback::new(move |()| tokens.refetch()) /> })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
        <section class=class aria-labelledby="earnings-heading">
            <h2 id="earnings-heading">"Earnings"</h2>
            <Transition fallback=|| ()>
                <ErrorBoundary fallback=move |e| problem_view(e)>
                    {move || Suspend::new(async move {
                        let e = earnings.await?;
                        Ok::<_, Problem>(view! {
                            <div class=format!("totals {class}")>
                                <p>"Gross"<strong class=class>{format::eur(e.gross_cents)}</strong></p>
                                <p>"Commission"<strong class=class>{format::eur(e.commission_cents)}</strong></p>
                                <p>"Service credits"<strong class=class>{format::eur(e.sla_credits_cents)}</strong></p>
                                <p>"Net"<strong class=class>{format::eur(e.net_cents)}</strong></p>
                            </div>
                            <EarningsChart days=e.days />
                        })
                    })}
                </ErrorBoundary>
            </Transition>
        </section>
    }
}

fn capacity_text(c: &Capacity) -> String {
    format::size(c.vcpu, c.ram_gib, c.disk_gib)
}

fn host_status(host: &Host) -> &'static str {
    match host.status {
        HostStatus::Online => "online",
        HostStatus::Offline => "offline",
        HostStatus::Draining => "draining",
    }
}

/// How moving a draining host's instances off is going.
fn drain_text(progress: &DrainProgress) -> String {
    if progress.is_done() {
        return match progress.moved {
            0 => "Drained: no instances here.".to_owned(),
            1 => "Drained: 1 instance moved to other hosts.".to_owned(),
            n => format!("Drained: {n} instances moved to other hosts."),
        };
    }
    let mut parts = vec![format!("{} moved", progress.moved)];
    if progress.migrating > 0 {
        parts.push(format!("{} stopping to move", progress.migrating));
    }
    if progress.waiting > 0 {
        parts.push(format!(
            "{} waiting for a host that keeps the service level and spread",
            progress.waiting
        ));
    }
    parts.join(" · ")
}

#[component]
fn HostTable(
    hosts: Vec<Host>,
    /// The host whose drain is being confirmed.
    confirming: RwSignal<Option<String>>,
    on_change: Callback<()>,
) -> impl IntoView {
    let class = dash_class();
    let session = use_session();
    let drain = Action::new_local(move |(id, on): &(String, bool)| {
        let (id, on) = (id.clone(), *on);
        let token = session.token().unwrap_or_default();
        async move { api::set_draining(&token, &id, on).await }
    });
    Effect::new(move |_| {
        if drain.value().with(|v| matches!(v, Some(Ok(_)))) {
            on_change.run(());
        }
    });
    let problem = move || {
        drain
            .value()
            .get()
            .and_then(Result::err)
            .map(|p| problem_message(&p))
    };
    if hosts.is_empty() {
        return view! { <p>"No hosts yet. "<A href="/sell/start?step=4">"Connect your first host"</A></p> }.into_any();
    }
    view! {
        {move || problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
        <table class=class>
            <thead><tr>
                <th class=class scope="col">"Host"</th><th class=class scope="col">"Status"</th><th class=class scope="col">"Zone"</th>
                <th class=class scope="col">"Used"</th><th class=class scope="col">"Free"</th>
                <th class=class scope="col">"Last heartbeat"</th><th class=class scope="col">"Uptime (30 days)"</th><th class=class scope="col">"This month"</th>
                <th class=class scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {hosts.into_iter().map(|h| {
                    let id = h.id.clone();
                    let draining = h.status == HostStatus::Draining;
                    let name = h.name.clone();
                    // Draining a host with instances stops and moves them: ask first.
                    let asks_first = !draining && h.instances > 0;
                    let is_confirming = {
                        let id = id.clone();
                        move || confirming.with(|c| c.as_deref() == Some(id.as_str()))
                    };
                    let instances = h.instances;
                    let confirm_id = id.clone();
                    let confirm_name = name.clone();
                    view! {
                        <tr>
                            <th class=class scope="row">{h.name.clone()}</th>
                            <td class=class><span>{host_status(&h)}</span></td>
                            <td class=class>{h.zone.clone()}</td>
                            <td class=class>{capacity_text(&h.allocated)}</td>
                            <td class=class>{capacity_text(&h.free)}</td>
                            <td class=class>{h.last_heartbeat_at.replace('T', " ").trim_end_matches('Z').to_owned()}</td>
                            <td class=class>{format::percent_bp(h.uptime_bp)}</td>
                            <td class=class>{format::percent_bp(h.month_availability_bp)}</td>
                            <td class=class>
                                <button class="button button-secondary" type="button"
                                    aria-label=format!("{} {name}", if draining { "Resume" } else { "Drain" })
                                    on:click=move |_| {
                                        if asks_first {
                                            confirming.set(Some(id.clone()));
                                        } else {
                                            drain.dispatch((id.clone(), !draining));
                                        }
                                    }>
                                    {if draining { "Resume" } else { "Drain" }}
                                </button>
                            </td>
                        </tr>
                        {move || is_confirming().then(|| {
                            let id = confirm_id.clone();
                            view! {
                                <tr>
                                    <td class=format!("migration {class}") colspan="9">
                                        <div role="alertdialog" aria-label=format!("Confirm draining {confirm_name}")>
                                            <p>{format!(
                                                "Drain {confirm_name}? No new instances are placed on it, and its {instances} instance(s) are stopped and started again, with the same ids, on other hosts that keep their service level and spread. Buyers see the move in their event logs."
                                            )}</p>
                                            <button class="button" type="button"
                                                on:click=move |_| { confirming.set(None); drain.dispatch((id.clone(), true)); }>
                                                "Drain and migrate"
                                            </button>
                                            " "
                                            <button class="button button-secondary" type="button" on:click=move |_| confirming.set(None)>
                                                "Cancel"
                                            </button>
                                        </div>
                                    </td>
                                </tr>
                            }
                        })}
                        {h.drain.map(|progress| {
                            let total = progress.moved + progress.migrating + progress.waiting;
                            view! {
                                <tr>
                                    <td class=format!("migration {class}") colspan="9">
                                        <progress max=total.max(1) value=if total == 0 { 1 } else { progress.moved }
                                            aria-label=format!("Migration off {}", h.name)></progress>
                                        " "
                                        <span role="status">{drain_text(&progress)}</span>
                                    </td>
                                </tr>
                            }
                        })}
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn OfferRow(offer: SellerOffer, on_change: Callback<()>) -> impl IntoView {
    let class = dash_class();
    let session = use_session();
    let id = offer.id.clone();
    let update = Action::new_local(move |request: &UpdateOfferRequest| {
        let request = request.clone();
        let id = id.clone();
        let token = session.token().unwrap_or_default();
        async move { api::update_offer(&token, &id, &request).await }
    });
    Effect::new(move |_| {
        if update.value().with(|v| matches!(v, Some(Ok(_)))) {
            on_change.run(());
        }
    });
    let problem = move || {
        update
            .value()
            .get()
            .and_then(Result::err)
            .map(|p| problem_message(&p))
    };
    let prices: Vec<(String, RwSignal<String>)> = offer
        .prices
        .iter()
        .map(|p| {
            (
                p.flavor_id.clone(),
                RwSignal::new(format::cents_as_decimal(p.hourly_cents)),
            )
        })
        .collect();
    let error = RwSignal::new(None::<String>);
    let prices_for_save = prices.clone();
    let save = move |_| {
        let mut out = Vec::new();
        for (flavor, value) in &prices_for_save {
            match format::parse_eur(&value.get_untracked()).filter(|c| *c > 0) {
                Some(cents) => out.push(FlavorPrice {
                    flavor_id: flavor.clone(),
                    hourly_cents: cents,
                }),
                None => {
                    error.set(Some(format!(
                        "The price for {flavor} is not an amount in euros."
                    )));
                    return;
                }
            }
        }
        error.set(None);
        update.dispatch(UpdateOfferRequest {
            sla_tier: None,
            prices: Some(out),
            status: None,
        });
    };
    let paused = offer.status == OfferStatus::Paused;
    let title = format!(
        "{} · {} · {}",
        offer.zone,
        offer.sla_tier,
        if paused {
            "paused"
        } else if offer.listed {
            "listed"
        } else {
            "not listed (no room)"
        }
    );
    view! {
        <article aria-label=format!("Offer in {}", offer.zone)>
            <h3>{title}</h3>
            {move || problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
            {move || error.get().map(|m| view! { <p class="field-error" role="alert">{m}</p> })}
            <table class=class>
                <thead><tr><th class=class scope="col">"Size"</th><th class=class scope="col">"Price per hour (EUR)"</th></tr></thead>
                <tbody>
                    {prices.into_iter().map(|(flavor, value)| {
                        let id = format!("{}-{}", offer.id, flavor.replace('.', "-"));
                        view! {
                            <tr>
                                <th class=class scope="row"><label for=id.clone()>{format!("{flavor} price")}</label></th>
                                <td class=class><input class=class id=id inputmode="decimal" prop:value=move || value.get()
                                    on:input=move |ev| value.set(event_target_value(&ev)) /></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="actions-row">
                <button class="button" type="button" on:click=save disabled=move || update.pending().get()>"Save prices"</button>
                " "
                <button class="button button-secondary" type="button"
                    on:click=move |_| { update.dispatch(UpdateOfferRequest { sla_tier: None, prices: None, status: Some(if paused { OfferStatus::Active } else { OfferStatus::Paused }) }); }>
                    {if paused { "Resume" } else { "Pause" }}
                </button>
            </p>
        </article>
    }
}

fn token_status(t: &InstallToken) -> &'static str {
    match t.status {
        InstallTokenStatus::Unused => "unused",
        InstallTokenStatus::Used => "used",
        InstallTokenStatus::Expired => "expired",
        InstallTokenStatus::Revoked => "revoked",
    }
}

#[component]
fn TokenTable(tokens: Vec<InstallToken>, on_change: Callback<()>) -> impl IntoView {
    let class = dash_class();
    let session = use_session();
    let revoke = Action::new_local(move |id: &String| {
        let id = id.clone();
        let token = session.token().unwrap_or_default();
        async move { api::revoke_install_token(&token, &id).await }
    });
    Effect::new(move |_| {
        if revoke.value().with(|v| matches!(v, Some(Ok(_)))) {
            on_change.run(());
        }
    });
    if tokens.is_empty() {
        return view! { <p>"No install tokens yet."</p> }.into_any();
    }
    view! {
        <table class=class>
            <thead><tr>
                <th class=class scope="col">"Label"</th><th class=class scope="col">"Zone"</th><th class=class scope="col">"Status"</th>
                <th class=class scope="col">"Expires"</th><th class=class scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {tokens.into_iter().map(|t| {
                    let id = t.id.clone();
                    let unused = t.status == InstallTokenStatus::Unused;
                    let label = t.label.clone();
                    view! {
                        <tr>
                            <th class=class scope="row">{t.label.clone()}</th>
                            <td class=class>{t.zone.clone()}</td>
                            <td class=class>{token_status(&t)}</td>
                            <td class=class>{t.expires_at.replace('T', " ").trim_end_matches('Z').to_owned()}</td>
                            <td class=class>{unused.then(|| view! {
                                <button class="button button-secondary" type="button" aria-label=format!("Revoke {label}")
                                    on:click=move |_| { revoke.dispatch(id.clone()); }>"Revoke"</button>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_progress_reads_as_a_sentence() {
        let progress = |moved, migrating, waiting| DrainProgress {
            moved,
            migrating,
            waiting,
        };
        assert_eq!(
            drain_text(&progress(0, 0, 0)),
            "Drained: no instances here."
        );
        assert_eq!(
            drain_text(&progress(1, 0, 0)),
            "Drained: 1 instance moved to other hosts."
        );
        assert_eq!(
            drain_text(&progress(2, 1, 3)),
            "2 moved · 1 stopping to move · 3 waiting for a host that keeps the service level and spread"
        );
    }
}
