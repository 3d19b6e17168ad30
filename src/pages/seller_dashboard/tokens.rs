//! The install tokens table, with revoke for unused ones.

use leptos::prelude::*;
use sparecloud_api::seller::{InstallToken, InstallTokenStatus};

use super::dash_class;
use crate::api::ApiResult;
use crate::resource::ApiAction;

fn token_status(t: &InstallToken) -> &'static str {
    match t.status {
        InstallTokenStatus::Unused => "unused",
        InstallTokenStatus::Used => "used",
        InstallTokenStatus::Expired => "expired",
        InstallTokenStatus::Revoked => "revoked",
    }
}

#[component]
pub(super) fn TokenTable(
    tokens: Vec<InstallToken>,
    revoke: ApiAction<String, ApiResult<InstallToken>>,
) -> impl IntoView {
    let class = dash_class();
    if tokens.is_empty() {
        return view! { <p>"No install tokens yet."</p> }.into_any();
    }
    view! {
        <table class=format!("data-table {class}")>
            <thead><tr>
                <th class=class scope="col">"Label"</th><th class=class scope="col">"Zone"</th><th class=class scope="col">"Status"</th>
                <th class=class scope="col">"Expires"</th><th class=class scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {tokens.into_iter().map(|t| {
                    let id = t.id.clone();
                    let unused = t.status == InstallTokenStatus::Unused;
                    let label = t.label.clone();
                    view! {
                        <tr>
                            <th class=class scope="row">{t.label.clone()}</th>
                            <td class=class>{t.zone.clone()}</td>
                            <td class=class>{token_status(&t)}</td>
                            <td class=class>{t.expires_at.replace('T', " ").trim_end_matches('Z').to_owned()}</td>
                            <td class=class>{unused.then(|| view! {
                                <button class="button button-secondary" type="button" aria-label=format!("Revoke {label}")
                                    on:click=move |_| { revoke.dispatch(id.clone()); }>"Revoke"</button>
                            })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
