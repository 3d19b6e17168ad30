//! `/orders/:id`: an order's progress until its instances run.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::checkout::OrderPayment;
use sparecloud_api::instances::InstanceStatus;
use stylers_macro::style;

use crate::api;
use crate::app::use_id;
use crate::components::loaded::loaded;
use crate::components::polling::use_ticker;
use crate::components::status_badge::StatusBadge;
use crate::resource::ApiResource;
use crate::session::use_session;

/// After "Place order": follows each instance of the order to "running".
/// What became of the order's card authorisation, for the buyer.
fn payment_text(payment: &OrderPayment) -> String {
    let held = crate::format::eur(payment.authorized_cents);
    match payment.status.as_str() {
        "authorized" => format!(
            "{held} is held on your card (not charged): your first invoice charges what you use."
        ),
        "captured" => format!(
            "Your first invoice took {} of the {held} held on your card; the rest was released.",
            crate::format::eur(payment.captured_cents.unwrap_or_default())
        ),
        "released" => format!("The {held} held on your card was released."),
        "refunded" => format!("The {held} held on your card was released: nothing was charged."),
        _ => String::new(),
    }
}

#[component]
pub fn OrderProgress() -> impl IntoView {
    let class = style! {
        ul {
            display: grid;
            gap: var(--space-3);
            padding: 0;
            list-style: none;
            margin-block: var(--space-4);
        }
        li {
            display: grid;
            gap: var(--space-2);
            padding: var(--space-3) var(--space-4);
            background: var(--color-surface);
            border: 1px solid var(--color-border);
            border-radius: var(--radius-lg);
        }
        .row {
            display: flex;
            justify-content: space-between;
            gap: var(--space-3);
        }
        progress {
            width: 100%;
        }
    };
    let session = use_session();
    let embedded = crate::embed::partner().is_some();
    let id = use_id();
    let tick = use_ticker(Duration::from_millis(1500));
    let order = ApiResource::new(move || {
        tick.track();
        let id = id.get();
        let token = session.token().unwrap_or_default();
        async move { api::order(&token, &id).await }
    });
    view! {
        <div class="container page">
            <h1>"Your order"</h1>
            {loaded(order, "Loading your order…", move |order| {
                let all_running = order.instances.iter().all(|i| i.status == InstanceStatus::Running);
                let count = order.instances.len();
                let refund = order.payment.as_ref().and_then(|p| p.refund_reason.clone());
                let payment = order.payment.as_ref().map(payment_text);
                view! {
                    {match refund {
                        Some(reason) => view! { <div class="alert alert-error" role="alert">{reason}</div> }.into_any(),
                        None => view! {
                            <p class="lead" role="status">
                                {if all_running {
                                    format!("All {count} instances are running.")
                                } else {
                                    format!("Starting {count} instances on the seller's hosts…")
                                }}
                            </p>
                        }.into_any(),
                    }}
                    {payment.map(|text| view! { <p class="field-hint">{text}</p> })}
                    <ul class=class>
                        {order.instances.into_iter().map(|instance| {
                            let step = match instance.status {
                                InstanceStatus::Pending => 1,
                                InstanceStatus::Provisioning => 2,
                                InstanceStatus::Running => 3,
                                _ => 0,
                            };
                            let status = instance.status;
                            view! {
                                <li class=class>
                                    <div class=format!("row {class}")>
                                        <strong>{instance.name.clone()}</strong>
                                        <span>{format!("in {}", instance.zone)}</span>
                                        <StatusBadge status=status />
                                    </div>
                                    <progress class=class max="3" value=step
                                        aria-label=format!("{} progress", instance.name)></progress>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    {if embedded {
                        // Instances are managed on Sparecloud itself, not in the embed.
                        view! { <a href="/instances" target="_blank" rel="noopener">"Manage your instances on Sparecloud"</a> }.into_any()
                    } else {
                        view! { <A href="/instances">"Go to your instances"</A> }.into_any()
                    }}
                }.into_any()
            })}
        </div>
    }
}
