//! The marketplace: offers filtered, sorted and paged, with the filters in
//! the URL (`filters`) so links and Back/Forward work.

mod filters;

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use sparecloud_api::offers::Offer;
use stylers_macro::style;

use crate::api;
use crate::components::error_view::ErrorView;
use crate::components::loaded::loaded_or_default;
use crate::components::offer_card::OfferCard;
use crate::embed;
use crate::format;
use crate::resource::ApiResource;

use filters::{Filters, SORTS};

#[component]
pub fn Marketplace() -> impl IntoView {
    let class = style! {
        .layout {
            display: grid;
            gap: var(--space-5);
            align-items: start;
        }
        @media (min-width: 56rem) {
            .layout {
                grid-template-columns: 16rem 1fr;
            }
        }
        .filters {
            display: grid;
            gap: var(--space-3);
        }
        .toolbar {
            display: flex;
            flex-wrap: wrap;
            justify-content: space-between;
            align-items: center;
            gap: var(--space-3);
            margin-bottom: var(--space-4);
        }
        .results {
            display: grid;
            gap: var(--space-4);
            padding: 0;
            list-style: none;
        }
        @media (min-width: 40rem) {
            .results {
                grid-template-columns: repeat(auto-fill, minmax(18rem, 1fr));
            }
        }
        .skeleton {
            height: 12rem;
            border-radius: var(--radius-lg);
            background: linear-gradient(90deg, var(--color-surface-muted), var(--color-surface), var(--color-surface-muted));
            background-size: 200% 100%;
            animation: shimmer 1.2s ease-in-out infinite;
        }
        @keyframes shimmer {
            from { background-position: 200% 0; }
            to { background-position: -200% 0; }
        }
        .pager {
            display: flex;
            justify-content: space-between;
            align-items: center;
            gap: var(--space-3);
            margin-top: var(--space-5);
        }
        .notice {
            padding: var(--space-5);
            text-align: center;
            background: var(--color-surface);
            border: 1px dashed var(--color-border);
            border-radius: var(--radius-lg);
        }
    };

    let query = use_query_map();
    let filters = Memo::new(move |_| query.with(Filters::from_params));
    let offers = ApiResource::new(move || {
        let query = filters.with(Filters::to_query);
        async move { api::offers(&query).await }
    });
    // True while new results load: the old ones stay, marked busy.
    let loading = RwSignal::new(false);
    let zones = ApiResource::new(api::zones);
    let tiers = ApiResource::new(api::sla_tiers);
    let images = ApiResource::new(api::images);

    // Controls write the URL; the page reads it back (Back/Forward work).
    let prefix = embed::prefix();
    let clear_href = format!("{prefix}/marketplace");
    let embed_prefix = StoredValue::new(prefix.clone());
    let navigate = use_navigate();
    let apply = move |change: &dyn Fn(&mut Filters)| {
        let mut next = filters.get_untracked();
        change(&mut next);
        next.page = 1;
        navigate(&next.href(&prefix), Default::default());
    };
    let apply = StoredValue::new_local(apply);
    let set_text = move |key: &'static str| {
        move |ev: leptos::ev::Event| {
            let value = event_target_value(&ev);
            let value = (!value.is_empty()).then_some(value);
            apply.with_value(|apply| {
                apply(&|f: &mut Filters| match key {
                    "zone" => f.zone = value.clone(),
                    "sla" => f.sla = value.clone(),
                    "image" => f.image = value.clone(),
                    _ => f.sort = value.clone(),
                })
            });
        }
    };
    let set_number = move |key: &'static str| {
        move |ev: leptos::ev::Event| {
            let value: Option<u32> = event_target_value(&ev)
                .trim()
                .parse()
                .ok()
                .filter(|n| *n > 0);
            apply.with_value(|apply| {
                apply(&|f: &mut Filters| match key {
                    "min_vcpu" => f.min_vcpu = value,
                    _ => f.min_ram_gib = value,
                })
            });
        }
    };
    let price_error = RwSignal::new(None::<String>);
    let set_price = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        if text.trim().is_empty() {
            price_error.set(None);
            apply.with_value(|apply| apply(&|f: &mut Filters| f.max_price = None));
            return;
        }
        match format::parse_eur(&text) {
            Some(cents) => {
                price_error.set(None);
                apply.with_value(|apply| apply(&|f: &mut Filters| f.max_price = Some(cents)));
            }
            None => price_error.set(Some("Enter an amount in euros, such as 0.25.".into())),
        }
    };

    let options = move |selected: Option<String>, items: Vec<(String, String)>| {
        items
            .into_iter()
            .map(|(id, label)| {
                let is = selected.as_deref() == Some(id.as_str());
                view! { <option value=id selected=is>{label}</option> }
            })
            .collect_view()
    };

    let filters_open = RwSignal::new(false);
    view! {
        <div class="container page">
            <h1>"Marketplace"</h1>
            <p class="lead">"Spare capacity from independent sellers, billed by the second, with a service level you choose."</p>
            <div class=format!("layout {class}")>
                // On a phone the offers come first: the filters open from
                // a button that counts the active ones.
                <button type="button" class="button button-secondary market-filters-toggle"
                    aria-controls="market-filters" aria-expanded=move || filters_open.get().to_string()
                    on:click=move |_| filters_open.update(|open| *open = !*open)>
                    {move || match filters.with(Filters::active_count) {
                        0 => "Filters".to_owned(),
                        n => format!("Filters ({n})"),
                    }}
                </button>
                <form id="market-filters" class=move || format!("card-surface filters market-filters {class}{}", if filters_open.get() { " open" } else { "" })
                    aria-label="Filters" on:submit=|ev| ev.prevent_default()>
                    <div class="field">
                        <label for="f-zone">"Zone"</label>
                        <select id="f-zone" on:change=set_text("zone")>
                            <option value="" selected=move || filters.with(|f| f.zone.is_none())>"Any zone"</option>
                            {loaded_or_default(zones, "", move |zones| {
                                options(
                                    filters.with_untracked(|f| f.zone.clone()),
                                    zones.into_iter().map(|z| (z.id.clone(), z.id)).collect(),
                                ).into_any()
                            })}
                        </select>
                    </div>
                    <div class="field">
                        <label for="f-sla">"Service level"</label>
                        <select id="f-sla" on:change=set_text("sla")>
                            <option value="" selected=move || filters.with(|f| f.sla.is_none())>"Any service level"</option>
                            {loaded_or_default(tiers, "", move |tiers| {
                                options(
                                    filters.with_untracked(|f| f.sla.clone()),
                                    tiers
                                        .into_iter()
                                        .map(|t| {
                                            let label = format!("{} ({})", t.name, format::percent_bp(t.availability_bp));
                                            (t.id, label)
                                        })
                                        .collect(),
                                ).into_any()
                            })}
                        </select>
                    </div>
                    <div class="field">
                        <label for="f-vcpu">"Minimum vCPU"</label>
                        <input id="f-vcpu" type="number" min="1" inputmode="numeric"
                            prop:value=move || filters.with(|f| f.min_vcpu.map(|n| n.to_string()).unwrap_or_default())
                            on:change=set_number("min_vcpu") />
                    </div>
                    <div class="field">
                        <label for="f-ram">"Minimum RAM (GiB)"</label>
                        <input id="f-ram" type="number" min="1" inputmode="numeric"
                            prop:value=move || filters.with(|f| f.min_ram_gib.map(|n| n.to_string()).unwrap_or_default())
                            on:change=set_number("min_ram_gib") />
                    </div>
                    <div class="field">
                        <label for="f-price">"Max price per hour (EUR)"</label>
                        <input id="f-price" inputmode="decimal"
                            aria-invalid=move || price_error.with(Option::is_some).then_some("true")
                            aria-describedby=move || price_error.with(Option::is_some).then_some("f-price-error")
                            prop:value=move || filters.with(|f| f.max_price.map(format::cents_as_decimal).unwrap_or_default())
                            on:change=set_price />
                        {move || price_error.get().map(|m| view! { <p class="field-error" id="f-price-error">{m}</p> })}
                    </div>
                    <div class="field">
                        <label for="f-image">"Image"</label>
                        <select id="f-image" on:change=set_text("image")>
                            <option value="" selected=move || filters.with(|f| f.image.is_none())>"Any image"</option>
                            {loaded_or_default(images, "", move |images| {
                                options(
                                    filters.with_untracked(|f| f.image.clone()),
                                    images.into_iter().map(|i| (i.id, i.name)).collect(),
                                ).into_any()
                            })}
                        </select>
                    </div>
                    <A href=clear_href.clone()>"Clear filters"</A>
                </form>
                <section aria-label="Offers" aria-busy=move || loading.get().to_string()>
                    <div class=format!("toolbar {class}")>
                        <p aria-live="polite">
                            <Transition fallback=|| "Loading offers…">
                                {move || Suspend::new(async move {
                                    offers.await.map(|page| result_count(page.total)).unwrap_or_default()
                                })}
                            </Transition>
                        </p>
                        <div class="field inline">
                            <label for="f-sort">"Sort by"</label>
                            <select id="f-sort" on:change=set_text("sort")>
                                {SORTS
                                    .iter()
                                    .map(|(id, label)| {
                                        let id = *id;
                                        view! {
                                            <option value=id selected=move || filters.with(|f| f.sort.as_deref().unwrap_or("price_asc") == id)>
                                                {*label}
                                            </option>
                                        }
                                    })
                                    .collect_view()}
                            </select>
                        </div>
                    </div>
                    <Transition set_pending=loading fallback=move || view! {
                        <ul class=format!("results {class}") aria-busy="true" aria-label="Loading offers">
                            {(0..6).map(|_| view! { <li class=format!("skeleton {class}")></li> }).collect_view()}
                        </ul>
                    }>
                        <ErrorBoundary fallback=move |errors| view! {
                            <ErrorView errors title="We could not load offers"
                                retry=Callback::new(move |()| offers.refetch()) />
                        }>
                            {move || Suspend::new(async move {
                                let page = offers.await?;
                                let current = filters.get_untracked();
                                let embed_prefix = embed_prefix.get_value();
                                Ok::<_, sparecloud_api::Problem>(if page.items.is_empty() {
                                    empty_state(&current, &embed_prefix, class).into_any()
                                } else {
                                    let pages = page.total.div_ceil(u64::from(page.per_page)).max(1) as u32;
                                    view! {
                                        <OfferList items=page.items class=class />
                                        <Pager filters=current pages=pages prefix=embed_prefix class=class />
                                    }.into_any()
                                })
                            })}
                        </ErrorBoundary>
                    </Transition>
                </section>
            </div>
        </div>
    }
}

fn result_count(total: u64) -> String {
    match total {
        0 => "No offers".to_owned(),
        1 => "1 offer".to_owned(),
        n => format!("{n} offers"),
    }
}

fn empty_state(filters: &Filters, prefix: &str, class: &'static str) -> impl IntoView {
    let clear = format!("{prefix}/marketplace");
    let filtered = filters.is_filtered();
    view! {
        <div class=format!("notice {class}")>
            <h2>"No offers match"</h2>
            {if filtered {
                view! {
                    <p>"Try a higher maximum price, fewer vCPU or less RAM, or any zone."</p>
                    <A href=clear>"Clear all filters"</A>
                }.into_any()
            } else {
                view! { <p>"No seller has capacity listed right now. Check back soon."</p> }.into_any()
            }}
        </div>
    }
}

#[component]
fn OfferList(items: Vec<Offer>, class: &'static str) -> impl IntoView {
    view! {
        <ul class=format!("results {class}")>
            <For each=move || items.clone() key=|offer| offer.id.clone() let:offer>
                <li>
                    <OfferCard offer=offer />
                </li>
            </For>
        </ul>
    }
}

#[component]
fn Pager(filters: Filters, pages: u32, prefix: String, class: &'static str) -> impl IntoView {
    let page = filters.page;
    let at = |page: u32| {
        Filters {
            page,
            ..filters.clone()
        }
        .href(&prefix)
    };
    let previous = (page > 1).then(|| at(page - 1));
    let next = (page < pages).then(|| at(page + 1));
    view! {
        <nav class=format!("pager {class}") aria-label="Pages">
            {previous.map(|href| view! { <A href=href>"← Previous"</A> })}
            <span>{format!("Page {page} of {pages}")}</span>
            {next.map(|href| view! { <A href=href>"Next →"</A> })}
        </nav>
    }
}
