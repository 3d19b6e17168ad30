//! The dashboard's sections: hosts, offers, install tokens and earnings,
//! each loaded on its own and reloaded by its actions.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::seller::UpdateOfferRequest;

use super::dash_class;
use super::hosts::HostTable;
use super::offers::OfferRow;
use super::tokens::TokenTable;
use crate::api::{self, HostCommand};
use crate::components::earnings_chart::EarningsChart;
use crate::components::loaded::loaded;
use crate::components::polling::use_ticker;
use crate::format;
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;

#[component]
pub(super) fn Dashboard() -> impl IntoView {
    let class = dash_class();
    let session = use_session();
    let tick = use_ticker(Duration::from_secs(5));
    let token = move || session.token().unwrap_or_default();
    // The actions live here, so that each list reloads by reading its
    // action's version (and the host list's 5-second reload keeps errors).
    let host_command = ApiAction::new(move |(id, command): &(String, HostCommand)| {
        let (id, command) = (id.clone(), *command);
        let token = token();
        async move { api::host_command(&token, &id, command).await }
    });
    let update = ApiAction::new(move |(id, request): &(String, UpdateOfferRequest)| {
        let (id, request) = (id.clone(), request.clone());
        let token = token();
        async move {
            let updated = api::update_offer(&token, &id, &request).await;
            (id, updated)
        }
    });
    let revoke = ApiAction::new(move |id: &String| {
        let id = id.clone();
        let token = token();
        async move { api::revoke_install_token(&token, &id).await }
    });
    let hosts = ApiResource::new(move || {
        tick.track();
        host_command.version().get();
        let token = token();
        async move { api::hosts(&token).await }
    });
    let offers = ApiResource::new(move || {
        update.version().get();
        let token = token();
        async move { api::seller_offers(&token).await }
    });
    let tokens = ApiResource::new(move || {
        tick.track();
        revoke.version().get();
        let token = token();
        async move { api::install_tokens(&token).await }
    });
    let earnings = ApiResource::new(move || {
        let token = token();
        async move { api::earnings(&token).await }
    });
    // Outside the table: the host list reloads every few seconds, and an
    // open "drain?" or "revoke?" question must survive that.
    let confirming = RwSignal::new(None::<(String, HostCommand)>);
    view! {
        <p class="actions-row"><A href="/sell/start?step=4" attr:class="button">"Connect a host"</A></p>
        <section class=class aria-labelledby="hosts-heading">
            <h2 id="hosts-heading">"Hosts"</h2>
            {loaded(hosts, "Loading hosts…", move |list| {
                view! { <HostTable hosts=list confirming command=host_command /> }.into_any()
            })}
        </section>
        <section class=class aria-labelledby="offers-heading">
            <h2 id="offers-heading">"Offers"</h2>
            {loaded(offers, "Loading offers…", move |list| {
                if list.is_empty() {
                    view! { <p>"No offers yet. "<A href="/sell/start?step=5">"Set your prices"</A></p> }.into_any()
                } else {
                    view! {
                        <For each=move || list.clone() key=|o| (o.id.clone(), o.updated_at.clone()) let:offer>
                            <OfferRow offer=offer update=update />
                        </For>
                    }.into_any()
                }
            })}
        </section>
        <section class=class aria-labelledby="tokens-heading">
            <h2 id="tokens-heading">"Install tokens"</h2>
            {loaded(tokens, "", move |list| {
                view! { <TokenTable tokens=list revoke=revoke /> }.into_any()
            })}
        </section>
        <section class=class aria-labelledby="earnings-heading">
            <h2 id="earnings-heading">"Earnings"</h2>
            {loaded(earnings, "", move |e| {
                view! {
                    <div class=format!("totals {class}")>
                        <p>"Gross"<strong class=class>{format::eur(e.gross_cents)}</strong></p>
                        <p>"Commission"<strong class=class>{format::eur(e.commission_cents)}</strong></p>
                        <p>"Service credits"<strong class=class>{format::eur(e.sla_credits_cents)}</strong></p>
                        <p>"Net"<strong class=class>{format::eur(e.net_cents)}</strong></p>
                    </div>
                    <EarningsChart days=e.days />
                }.into_any()
            })}
        </section>
    }
}
