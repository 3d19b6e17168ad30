//! `/invoices`: the buyer's invoices (status, amount, "Pay now" for those
//! past due), and `/invoices/:id`: one invoice as a printable page.

use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::invoices::{Invoice, InvoiceKind, InvoiceLineKind, InvoiceStatus};
use sparecloud_api::problem::kinds;
use stylers_macro::style;

use crate::api::{self, ApiResult};
use crate::app::use_id;
use crate::components::error_view::ErrorView;
use crate::components::form::problem_message;
use crate::components::loaded::{loaded, loaded_or_default, loaded_or_else};
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;
use crate::stripe_js;

fn status_label(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Open => "Open",
        InvoiceStatus::Charging => "Being charged",
        InvoiceStatus::PastDue => "Past due",
        InvoiceStatus::Paid => "Paid",
    }
}

fn status_class(status: InvoiceStatus) -> &'static str {
    match status {
        InvoiceStatus::Paid => "badge badge-success",
        InvoiceStatus::PastDue => "badge badge-danger",
        _ => "badge",
    }
}

/// Cents, negative ones too.
fn money(cents: i64) -> String {
    let amount = crate::format::eur(cents.unsigned_abs());
    if cents < 0 {
        format!("−{amount}")
    } else {
        amount
    }
}

fn title(invoice: &Invoice) -> String {
    match invoice.kind {
        InvoiceKind::Monthly => format!("Usage in {}", invoice.period),
        InvoiceKind::Final => format!("Final usage of a terminated instance, {}", invoice.period),
    }
}

/// Seconds as "12 h 05 min 07 s".
fn duration(seconds: u64) -> String {
    format!(
        "{} h {:02} min {:02} s",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

#[component]
pub fn Invoices() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="container page">
            <h1>"Invoices"</h1>
            <Show when=move || session.signed_in() fallback=|| view! {
                <p class="lead">"Sign in to see your invoices."</p>
                <p><A href="/sign-in?next=/invoices">"Sign in"</A></p>
            }>
                <InvoiceList />
            </Show>
        </div>
    }
}

#[component]
fn InvoiceList() -> impl IntoView {
    let class = style! {
        .empty {
            margin-top: var(--space-5);
            padding: var(--space-5);
            text-align: center;
            border: 1px dashed var(--color-border);
            border-radius: var(--radius-lg);
        }
    };
    let session = use_session();
    let pay = use_pay_action();
    let invoices = ApiResource::new(move || {
        pay.version().get();
        let token = session.token().unwrap_or_default();
        async move { api::invoices(&token).await }
    });
    view! {
        <p class="lead">"Usage is invoiced when a month ends (UTC) and when an instance is terminated, and charged to your newest card."</p>
        {loaded(invoices, "Loading your invoices…", move |list| {
            if list.is_empty() {
                view! {
                    <div class=format!("empty {class}")>
                        <p>"No invoices yet: the first comes at the end of the month you start renting."</p>
                    </div>
                }.into_any()
            } else {
                let past_due: Vec<Invoice> = list.iter().filter(|i| i.status == InvoiceStatus::PastDue).cloned().collect();
                view! {
                    {past_due.into_iter().map(|invoice| view! { <PayNow invoice=invoice pay=pay /> }).collect_view()}
                    <div class="table-scroll">
                        <table class="data-table">
                            <caption class="visually-hidden">"Your invoices"</caption>
                            <thead><tr>
                                <th scope="col">"Invoice"</th>
                                <th scope="col">"Period"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col" class="amount">"Amount"</th>
                            </tr></thead>
                            <tbody>
                                {list.into_iter().map(|invoice| {
                                    let (href, period) = (format!("/invoices/{}", api::encode(&invoice.id)), title(&invoice));
                                    view! {
                                    <tr>
                                        <td><A href=href>{invoice.number.clone()}</A></td>
                                        <td>{period}</td>
                                        <td><span class=status_class(invoice.status)>{status_label(invoice.status)}</span></td>
                                        <td class="amount">{money(invoice.total_cents as i64)}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }
        })}
    }
}

type PayAction = ApiAction<(String, String), (String, ApiResult<Invoice>)>;

/// Pays an invoice with a card; when the bank asks, Stripe.js lets the
/// buyer authenticate, and the invoice is read again.
fn use_pay_action() -> PayAction {
    let session = use_session();
    ApiAction::new(move |(invoice, card): &(String, String)| {
        let (invoice, card) = (invoice.clone(), card.clone());
        let token = session.token().unwrap_or_default();
        async move {
            let paid = pay(&token, &invoice, &card).await;
            (invoice, paid)
        }
    })
}

async fn pay(token: &str, invoice: &str, card: &str) -> ApiResult<Invoice> {
    match api::pay_invoice(token, invoice, card).await {
        Err(problem) if problem.is(kinds::PAYMENT_ACTION_REQUIRED) => {
            stripe_js::confirm_asked_payment(&problem).await?;
            api::invoice(token, invoice).await
        }
        other => other,
    }
}

/// The banner of one past-due invoice with its "Pay now" form.
#[component]
fn PayNow(invoice: Invoice, pay: PayAction) -> impl IntoView {
    let session = use_session();
    let cards = ApiResource::new(move || {
        let token = session.token().unwrap_or_default();
        async move { api::payment_methods(&token).await }
    });
    let chosen = RwSignal::new(None::<String>);
    let id = StoredValue::new(invoice.id.clone());
    let select_id = StoredValue::new(format!("card-for-{}", invoice.id));
    let problem = move || {
        pay.value()
            .filter(|(paid, _)| *paid == id.get_value())
            .and_then(|(_, outcome)| outcome.err())
    };
    let pending = pay.pending();
    let heading = format!(
        "Invoice {} of {} is past due",
        invoice.number,
        money(invoice.total_cents as i64)
    );
    let why = invoice.failure_message.clone().unwrap_or_default();
    let next = match &invoice.next_attempt_at {
        Some(at) => format!("We will try your card again on {}.", &at[..10]),
        None => "Your instances are stopped until it is paid; paying starts them again.".into(),
    };
    view! {
        <section class="alert alert-error" aria-label=heading.clone()>
            <h2>{heading.clone()}</h2>
            <p>{why}" "{next}</p>
            {loaded_or_default(cards, "Loading your cards…", move |saved| {
                if chosen.get_untracked().is_none() {
                    chosen.set(saved.first().map(|c| c.id.clone()));
                }
                let select_id = select_id.get_value();
                view! {
                    <form class="stack" on:submit=move |ev| {
                        ev.prevent_default();
                        if let Some(card) = chosen.get_untracked() {
                            pay.dispatch((id.get_value(), card));
                        }
                    }>
                        <div class="field">
                            <label for=select_id.clone()>"Pay with"</label>
                            <select id=select_id on:change=move |ev| chosen.set(Some(event_target_value(&ev)))>
                                {saved.into_iter().map(|card| {
                                    let selected = chosen.get_untracked().as_deref() == Some(card.id.as_str());
                                    view! {
                                        <option value=card.id.clone() selected=selected>
                                            {format!("{} ending in {}", card.brand, card.last4)}
                                        </option>
                                    }
                                }).collect_view()}
                            </select>
                            <p class="field-hint">"To use a new card, add it in a checkout first."</p>
                        </div>
                        {move || problem().map(|p| view! { <p class="field-error" role="alert">{problem_message(&p)}</p> })}
                        <button class="button" type="submit" disabled=move || pending.get()>
                            {move || if pending.get() { "Paying…" } else { "Pay now" }}
                        </button>
                    </form>
                }.into_any()
            })}
        </section>
    }
}

/// `/invoices/:id`: one invoice, laid out to print.
#[component]
pub fn InvoicePage() -> impl IntoView {
    let class = style! {
        dl {
            display: grid;
            grid-template-columns: auto 1fr;
            gap: var(--space-1) var(--space-4);
        }
        dt {
            color: var(--color-text-muted);
        }
    };
    let session = use_session();
    let id = use_id();
    let invoice = ApiResource::new(move || {
        let id = id.get();
        let token = session.token().unwrap_or_default();
        async move { api::invoice(&token, &id).await }
    });
    view! {
        <div class="container page invoice">
            <p class="no-print"><A href="/invoices">"← Invoices"</A></p>
            {loaded_or_else(
                invoice,
                "Loading the invoice…",
                |errors| view! { <ErrorView errors title="Invoice not available" page_title=true /> }.into_any(),
                move |invoice| {
                    view! {
                        <h1>{format!("Invoice {}", invoice.number)}</h1>
                        <dl class=class>
                            <dt>"From"</dt><dd>"Sparecloud"</dd>
                            <dt>"For"</dt><dd>{title(&invoice)}</dd>
                            <dt>"Issued"</dt><dd>{invoice.created_at[..10].to_owned()}</dd>
                            <dt>"Status"</dt><dd><span class=status_class(invoice.status)>{status_label(invoice.status)}</span>
                                {invoice.paid_at.as_ref().map(|at| format!(" on {}", &at[..10]))}</dd>
                        </dl>
                        <table class="data-table">
                            <caption class="visually-hidden">"Lines"</caption>
                            <thead><tr>
                                <th scope="col">"Description"</th>
                                <th scope="col">"Time"</th>
                                <th scope="col" class="amount">"Rate"</th>
                                <th scope="col" class="amount">"Amount"</th>
                            </tr></thead>
                            <tbody>
                                {invoice.lines.iter().map(|line| {
                                    let usage = line.kind == InvoiceLineKind::Usage;
                                    view! {
                                        <tr>
                                            <td>{line.description.clone()}<br /><small>{line.instance_id.clone()}</small></td>
                                            <td>{usage.then(|| duration(line.used_seconds))}</td>
                                            <td class="amount">{usage.then(|| format!("{} / hour", crate::format::eur(line.hourly_cents)))}</td>
                                            <td class="amount">{money(line.amount_cents)}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                                <tr class="total">
                                    <td colspan="3">"Total (EUR)"</td>
                                    <td class="amount">{money(invoice.total_cents as i64)}</td>
                                </tr>
                            </tbody>
                        </table>
                        <p class="field-hint">"Billed per second of running time. Service credits are for months an instance's availability fell below its service level."</p>
                        <button class="button button-secondary no-print" type="button"
                            on:click=|_| { let _ = web_sys::window().map(|w| w.print()); }>"Print"</button>
                    }.into_any()
                },
            )}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_negative_amounts_read_well() {
        assert_eq!(duration(3_723), "1 h 02 min 03 s");
        assert_eq!(money(-125), "−€1.25");
        assert_eq!(money(125), "€1.25");
    }
}
