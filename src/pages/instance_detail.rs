//! `/instances/:id`: one instance with its SLA this month, past credits
//! and event log.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::checkout::Placement;
use stylers_macro::style;

use crate::api;
use crate::app::use_id;
use crate::components::loaded::loaded;
use crate::components::polling::use_ticker;
use crate::components::status_badge::StatusBadge;
use crate::format;
use crate::resource::ApiResource;
use crate::session::use_session;

/// One instance: its service level this month (measured availability and
/// any credit) and its event log.
#[component]
pub fn InstanceDetailPage() -> impl IntoView {
    let class = style! {
        .fact strong {
            display: block;
            font-size: var(--text-lg);
        }
        ol {
            display: grid;
            gap: var(--space-2);
            padding-left: var(--space-5);
        }
        time {
            color: var(--color-text-muted);
            font-size: var(--text-sm);
        }
    };
    let session = use_session();
    let id = use_id();
    let tick = use_ticker(Duration::from_secs(3));
    let detail = ApiResource::new(move || {
        tick.track();
        let id = id.get();
        let token = session.token().unwrap_or_default();
        async move { api::instance(&token, &id).await }
    });
    view! {
        <div class="container page">
            <p><A href="/instances">"← Instances"</A></p>
            {loaded(detail, "Loading the instance…", move |d| {
                let i = d.instance;
                view! {
                    <h1>{i.name.clone()}" "<StatusBadge status=i.status /></h1>
                    <p class="lead">{format!("{} · {} · {}", i.flavor_id, i.zone, i.sla_tier)}</p>
                    <p>{placement_text(i.placement, i.auto_recover)}</p>
                    {d.sla.map(|sla| view! {
                        <section aria-labelledby="sla-heading">
                            <h2 id="sla-heading">{format!("Service level, {}", sla.month)}</h2>
                            <div class=format!("facts {class}")>
                                <p class=format!("fact {class}")>"Measured availability"
                                    <strong>{format::percent_bp(sla.availability_bp)}</strong></p>
                                <p class=format!("fact {class}")>"Committed"
                                    <strong>{format::percent_bp(sla.target_bp)}</strong></p>
                                <p class=format!("fact {class}")>"Service credit"
                                    <strong>{if sla.credit_percent == 0 {
                                        "None: the commitment is met".to_owned()
                                    } else {
                                        format!("{} % · {}", sla.credit_percent, format::eur(sla.credit_cents))
                                    }}</strong></p>
                            </div>
                        </section>
                    })}
                    {(!d.credits.is_empty()).then(|| view! {
                        <section aria-labelledby="credits-heading">
                            <h2 id="credits-heading">"Service credits applied"</h2>
                            <ul>
                                {d.credits.into_iter().map(|c| view! {
                                    <li>{format!("{}: {} available against {} committed, {} % credit ({})",
                                        c.month, format::percent_bp(c.availability_bp), format::percent_bp(c.target_bp),
                                        c.credit_percent, format::eur(c.credit_cents))}</li>
                                }).collect_view()}
                            </ul>
                        </section>
                    })}
                    <section aria-labelledby="events-heading">
                        <h2 id="events-heading">"Event log"</h2>
                        <ol class=class>
                            {d.events.into_iter().map(|e| view! {
                                <li><time class=class>{e.at.replace('T', " ").trim_end_matches('Z').to_owned()}</time>" "{e.message}</li>
                            }).collect_view()}
                        </ol>
                    </section>
                }.into_any()
            })}
            <ConsoleOutput />
        </div>
    }
}

/// The end of the instance's serial console, as its host last sent it
/// (EC2's "Get system log"), reloaded on request.
#[component]
fn ConsoleOutput() -> impl IntoView {
    let class = style! {
        pre {
            max-height: 24rem;
            overflow: auto;
            padding: var(--space-3);
            background: var(--color-text);
            color: var(--color-surface);
            border-radius: var(--radius);
            font-size: var(--text-sm);
            line-height: 1.4;
            white-space: pre-wrap;
            overflow-wrap: anywhere;
        }
    };
    let session = use_session();
    let id = use_id();
    let console = ApiResource::new(move || {
        let id = id.get();
        let token = session.token().unwrap_or_default();
        async move { api::instance_console(&token, &id).await }
    });
    view! {
        <section aria-labelledby="console-heading">
            <h2 id="console-heading">"Console output"</h2>
            {loaded(console, "Loading the console…", move |console| {
                match console.updated_at {
                    Some(at) => view! {
                        <p class="field-hint">{format!("As the host sent it at {}.", at.replace('T', " ").trim_end_matches('Z'))}</p>
                        <pre class=class role="log" aria-label="Console output" tabindex="0">{console.output}</pre>
                    }.into_any(),
                    None => view! {
                        <p>"Nothing yet: the host sends the console once the machine starts (simulated hosts have none)."</p>
                    }.into_any(),
                }
            })}
            <button class="button button-secondary" type="button" on:click=move |_| console.refetch()>
                "Refresh"
            </button>
        </section>
    }
}

/// How the instance is kept apart from its order's others, and whether it
/// is recovered automatically.
fn placement_text(placement: Placement, auto_recover: bool) -> String {
    let spread = match placement {
        Placement::Any => "Placed anywhere the offer has room",
        Placement::DistinctHosts => "Kept on a different host from the rest of its order",
        Placement::DistinctZones => "Kept in a different zone from the rest of its order",
    };
    let recovery = if auto_recover {
        "auto-recovery on: if its host fails, it starts again on another"
    } else {
        "no auto-recovery"
    };
    format!("{spread} · {recovery}.")
}
