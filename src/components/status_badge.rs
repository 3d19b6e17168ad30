//! An instance's status as a coloured badge with its name.

use leptos::prelude::*;
use sparecloud_api::instances::InstanceStatus;
use stylers_macro::style;

/// An instance's status as a coloured label (the word is always shown, so
/// colour is never the only signal).
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<InstanceStatus>) -> impl IntoView {
    let class = style! {
        span {
            display: inline-block;
            padding: 0 var(--space-2);
            border-radius: 999px;
            font-size: var(--text-sm);
            font-weight: 600;
            text-transform: capitalize;
            background: var(--color-surface-muted);
            color: var(--color-text-muted);
        }
        .running {
            background: var(--color-success-bg);
            color: var(--color-success);
        }
        .busy {
            background: var(--color-warning-bg);
            color: var(--color-warning);
        }
        .failed {
            background: var(--color-danger-bg);
            color: var(--color-danger);
        }
    };
    let tone = move || match status.get() {
        InstanceStatus::Running => "running",
        InstanceStatus::Pending | InstanceStatus::Provisioning | InstanceStatus::Stopping => "busy",
        InstanceStatus::Failed => "failed",
        InstanceStatus::Stopped | InstanceStatus::Terminated => "",
    };
    view! {
        <span class=move || format!("{} {class}", tone())>{move || status.get().as_str()}</span>
    }
}
