use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use sparecloud_api::offers::Offer;
use stylers_macro::style;

use crate::api;
use crate::components::offer_card::OfferCard;
use crate::embed;
use crate::format;

/// The marketplace's filters, sort and page: what the URL query holds, so a
/// copied link shows the same offers and Back/Forward walk the history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub zone: Option<String>,
    pub sla: Option<String>,
    pub min_vcpu: Option<u32>,
    pub min_ram_gib: Option<u32>,
    /// Cents per hour.
    pub max_price: Option<u64>,
    pub image: Option<String>,
    pub sort: Option<String>,
    pub page: u32,
}

const SORTS: [(&str, &str); 4] = [
    ("price_asc", "Price: low to high"),
    ("price_desc", "Price: high to low"),
    ("newest", "Newest"),
    ("uptime", "Measured uptime"),
];

impl Filters {
    /// Reads what it knows from a query, ignoring what it cannot read.
    pub fn from_pairs<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Filters {
        let text = |k: &str| {
            get(k)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let number = |k: &str| get(k).and_then(|v| v.trim().parse().ok());
        Filters {
            zone: text("zone"),
            sla: text("sla"),
            min_vcpu: number("min_vcpu").filter(|&n: &u32| n > 0),
            min_ram_gib: number("min_ram_gib").filter(|&n: &u32| n > 0),
            max_price: get("max_price").and_then(|v| v.trim().parse().ok()),
            image: text("image"),
            sort: text("sort").filter(|s| SORTS.iter().any(|(id, _)| id == s)),
            page: number("page").filter(|&p: &u32| p > 0).unwrap_or(1),
        }
    }

    fn from_params(params: &ParamsMap) -> Filters {
        Filters::from_pairs(|k| params.get_str(k))
    }

    /// The query string, in a fixed order, without defaults.
    pub fn to_query(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        let mut push = |k, v: Option<String>| {
            if let Some(v) = v {
                pairs.push((k, v));
            }
        };
        push("zone", self.zone.clone());
        push("sla", self.sla.clone());
        push("min_vcpu", self.min_vcpu.map(|n| n.to_string()));
        push("min_ram_gib", self.min_ram_gib.map(|n| n.to_string()));
        push("max_price", self.max_price.map(|n| n.to_string()));
        push("image", self.image.clone());
        push("sort", self.sort.clone());
        push("page", (self.page > 1).then(|| self.page.to_string()));
        pairs
            .into_iter()
            .map(|(k, v)| format!("{k}={}", api::encode(&v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// This view's link; `prefix` is the embed's (see `embed::prefix`).
    pub fn href(&self, prefix: &str) -> String {
        match self.to_query() {
            q if q.is_empty() => format!("{prefix}/marketplace"),
            q => format!("{prefix}/marketplace?{q}"),
        }
    }

    pub fn is_filtered(&self) -> bool {
        Filters {
            sort: None,
            page: 1,
            ..self.clone()
        } != Filters {
            page: 1,
            ..Filters::default()
        }
    }
}

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
            padding: var(--space-4);
            background: var(--color-surface);
            border: 1px solid var(--color-border);
            border-radius: var(--radius-lg);
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
    let offers = LocalResource::new(move || {
        let query = filters.with(Filters::to_query);
        async move { api::offers(&query).await }
    });
    // True while new results load: the old ones stay, marked busy.
    let loading = RwSignal::new(false);
    let zones = LocalResource::new(api::zones);
    let tiers = LocalResource::new(api::sla_tiers);
    let images = LocalResource::new(api::images);

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

    view! {
        <div class="container page">
            <h1>"Marketplace"</h1>
            <p class="lead">"Spare capacity from independent sellers, billed by the second, with a service level you choose."</p>
            <div class=format!("layout {class}")>
                <form class=format!("filters {class}") aria-label="Filters" on:submit=|ev| ev.prevent_default()>
                    <div class="field">
                        <label for="f-zone">"Zone"</label>
                        <select id="f-zone" on:change=set_text("zone")>
                            <option value="" selected=move || filters.with(|f| f.zone.is_none())>"Any zone"</option>
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    let zones = zones.await.unwrap_or_default();
                                    options(
                                        filters.with_untracked(|f| f.zone.clone()),
                                        zones.into_iter().map(|z| (z.id.clone(), z.id)).collect(),
                                    )
                                })}
                            </Transition>
                        </select>
                    </div>
                    <div class="field">
                        <label for="f-sla">"Service level"</label>
                        <select id="f-sla" on:change=set_text("sla")>
                            <option value="" selected=move || filters.with(|f| f.sla.is_none())>"Any service level"</option>
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    let tiers = tiers.await.unwrap_or_default();
                                    options(
                                        filters.with_untracked(|f| f.sla.clone()),
                                        tiers
                                            .into_iter()
                                            .map(|t| {
                                                let label = format!("{} ({})", t.name, format::percent_bp(t.availability_bp));
                                                (t.id, label)
                                            })
                                            .collect(),
                                    )
                                })}
                            </Transition>
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
                            <Transition fallback=|| ()>
                                {move || Suspend::new(async move {
                                    let images = images.await.unwrap_or_default();
                                    options(
                                        filters.with_untracked(|f| f.image.clone()),
                                        images.into_iter().map(|i| (i.id, i.name)).collect(),
                                    )
                                })}
                            </Transition>
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
                            <div class=format!("notice {class}") role="alert">
                                <h2>"We could not load offers"</h2>
                                <p>{move || errors.with(|e| e.iter().next().map(|(_, e)| e.to_string()).unwrap_or_default())}</p>
                                <button class="button" type="button" on:click=move |_| offers.refetch()>"Retry"</button>
                            </div>
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Filters {
        let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|p| p.split_once('=')).collect();
        Filters::from_pairs(|k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v))
    }

    #[test]
    fn filters_round_trip_through_the_url() {
        let query = "zone=eu-west-1a&sla=gold&min_vcpu=4&min_ram_gib=8&max_price=25&image=lamp&sort=newest&page=3";
        let filters = parse(query);
        assert_eq!(filters.min_vcpu, Some(4));
        assert_eq!(filters.max_price, Some(25));
        assert_eq!(filters.to_query(), query);
        assert!(filters.is_filtered());
    }

    #[test]
    fn unreadable_values_and_defaults_are_dropped() {
        let filters = parse("min_vcpu=lots&page=0&sort=cheapest&zone=&max_price=-1");
        assert_eq!(
            filters,
            Filters {
                page: 1,
                ..Filters::default()
            }
        );
        assert_eq!(filters.href(""), "/marketplace");
        assert_eq!(filters.href("/embed/acme"), "/embed/acme/marketplace");
        assert!(!parse("sort=newest&page=2").is_filtered());
    }
}
