//! The site footer, with the API's health.

use leptos::prelude::*;
use stylers_macro::style;

use crate::api;
use crate::resource::ApiResource;

/// The site footer, with the API's live status.
#[component]
pub fn SiteFooter() -> impl IntoView {
    let class = style! {
        footer {
            margin-top: auto;
            padding-block: var(--space-5);
            border-top: 1px solid var(--color-border);
            color: var(--color-text-muted);
            font-size: var(--text-sm);
        }
        div {
            display: flex;
            flex-wrap: wrap;
            justify-content: space-between;
            gap: var(--space-2);
        }
        .dot {
            display: inline-block;
            width: 0.6rem;
            height: 0.6rem;
            margin-right: var(--space-2);
            border-radius: 50%;
            background: var(--color-success);
        }
        .dot.down {
            background: var(--color-danger);
        }
    };
    let health = ApiResource::new(api::health);

    view! {
        <footer class=class>
            <div class=format!("container {class}")>
                <span>"© Sparecloud · spare compute, by the hour"</span>
                <Transition fallback=|| view! { <span>"Checking service status…"</span> }>
                    <ErrorBoundary fallback=move |_| {
                        view! {
                            <span>
                                <span class=format!("dot down {class}") aria-hidden="true"></span>
                                "Service unreachable"
                            </span>
                        }
                    }>
                        {move || Suspend::new(async move {
                            health
                                .await
                                .map(|h| {
                                    view! {
                                        <span>
                                            <span class=format!("dot {class}") aria-hidden="true"></span>
                                            "All systems operational · v"{h.version}
                                        </span>
                                    }
                                })
                        })}
                    </ErrorBoundary>
                </Transition>
            </div>
        </footer>
    }
}
