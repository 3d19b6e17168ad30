//! Seller onboarding: Account → Company → Service level → Connect a host →
//! Pricing, a file per step. The step is in the URL; what is saved on the server (profile,
//! tokens, hosts) is read back, so a reload or a sign-in loses nothing.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use sparecloud_api::accounts::Role;

use crate::components::steps::StepIndicator;
use crate::session::use_session;

mod account_step;
mod connect_step;
mod pricing_step;
mod profile_steps;

use account_step::AccountStep;
use connect_step::ConnectStep;
use pricing_step::PricingStep;
use profile_steps::ProfileSteps;

pub const STEPS: [&str; 5] = [
    "Account",
    "Company",
    "Service level",
    "Connect a host",
    "Pricing",
];

/// "mm:ss" left until `expires_at_ms`, or "expired".
pub fn countdown(now_ms: f64, expires_at_ms: f64) -> String {
    let left = ((expires_at_ms - now_ms) / 1000.0).floor();
    if left <= 0.0 {
        return "expired".to_owned();
    }
    let left = left as u64;
    let (h, m, s) = (left / 3600, left / 60 % 60, left % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// Monthly earnings for one instance running all month, after commission.
pub fn monthly_net_cents(hourly_cents: u64, commission_bp: u32) -> u64 {
    hourly_cents * 730 * u64::from(10_000 - commission_bp.min(10_000)) / 10_000
}

#[component]
pub fn SellerOnboarding() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let step = Memo::new(move |_| {
        let wanted = query.with(|q| {
            q.get("step")
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or(1)
        });
        if session.has_role(Role::Seller) {
            wanted.clamp(2, 5)
        } else {
            1
        }
    });
    // Steps 2 and 3 are one form: moving between them keeps what was typed.
    let section = Memo::new(move |_| match step.get() {
        3 => 2,
        s => s,
    });
    let navigate = use_navigate();
    let go = StoredValue::new_local(move |to: usize| {
        navigate(&format!("/sell/start?step={to}"), Default::default())
    });
    let go = Callback::new(move |to: usize| go.with_value(|go| go(to)));
    view! {
        <div class="container page">
            <h1>"Start selling"</h1>
            <StepIndicator steps=&STEPS current=step label="Onboarding steps" />
            <div class="form-card">
                <h2>{move || STEPS[step.get() - 1]}</h2>
                {move || match section.get() {
                    1 => view! { <AccountStep go=go /> }.into_any(),
                    2 => view! { <ProfileSteps step=step go=go /> }.into_any(),
                    4 => view! { <ConnectStep go=go /> }.into_any(),
                    _ => view! { <PricingStep /> }.into_any(),
                }}
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_read_as_clocks() {
        assert_eq!(countdown(0.0, 61_500.0), "01:01");
        assert_eq!(countdown(0.0, 3_600_000.0 + 5_000.0), "1:00:05");
        assert_eq!(countdown(10.0, 5.0), "expired");
    }

    #[test]
    fn monthly_earnings_are_net_of_commission() {
        assert_eq!(monthly_net_cents(10, 1500), 6205);
        assert_eq!(monthly_net_cents(10, 0), 7300);
    }
}
