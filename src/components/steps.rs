//! The step indicator of the wizards (checkout, seller onboarding).

use leptos::prelude::*;
use stylers_macro::style;

/// A wizard's visible step indicator: numbered steps, the current one
/// marked with `aria-current="step"`, done ones ticked.
#[component]
pub fn StepIndicator(
    steps: &'static [&'static str],
    #[prop(into)] current: Signal<usize>,
    label: &'static str,
) -> impl IntoView {
    let class = style! {
        ol {
            display: flex;
            flex-wrap: wrap;
            gap: var(--space-2);
            margin-block: var(--space-4) var(--space-5);
            padding: 0;
            list-style: none;
        }
        li {
            display: flex;
            align-items: center;
            gap: var(--space-2);
            padding: var(--space-1) var(--space-3);
            border-radius: 999px;
            background: var(--color-surface-muted);
            color: var(--color-text-muted);
            font-size: var(--text-sm);
        }
        li[aria-current] {
            background: var(--color-accent);
            color: var(--color-accent-contrast);
            font-weight: 600;
        }
        .done {
            color: var(--color-success);
        }
    };
    view! {
        <ol class=class aria-label=label>
            {steps
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let n = i + 1;
                    view! {
                        <li class=class aria-current=move || (current.get() == n).then_some("step")>
                            <span class=format!("done {class}") aria-hidden="true">
                                {move || if current.get() > n { "✓" } else { "" }}
                            </span>
                            {format!("{n}. {name}")}
                            <span class="visually-hidden">
                                {move || if current.get() > n { " (done)" } else { "" }}
                            </span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}
