//! Step 4: an install token for one host, its command (shown once), and
//! the host appearing as the agent connects.

use std::time::Duration;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use sparecloud_api::seller::{CreatedInstallToken, Host, InstallTokenRequest, InstallTokenStatus};
use sparecloud_api::validate;
use stylers_macro::style;

use super::countdown;
use crate::api;
use crate::components::copy_button::CopyButton;
use crate::components::form::{FormAlert, TextField, alert_message, field_message};
use crate::components::loaded::loaded_or_default;
use crate::components::polling::use_ticker;
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;

#[component]
pub(super) fn ConnectStep(go: Callback<usize>) -> impl IntoView {
    let class = style! {
        pre {
            padding: var(--space-3);
            background: var(--color-text);
            color: var(--color-surface);
            border-radius: var(--radius);
            white-space: pre-wrap;
            overflow-wrap: anywhere;
        }
        .command {
            display: grid;
            gap: var(--space-2);
            margin-top: var(--space-4);
        }
        table {
            width: 100%;
            border-collapse: collapse;
            margin-top: var(--space-3);
        }
        th, td {
            padding: var(--space-2);
            text-align: left;
            border-bottom: 1px solid var(--color-border);
        }
        .connected {
            font-weight: 500;
        }
    };
    let session = use_session();
    let token = session.token().unwrap_or_default();
    let zone = RwSignal::new("eu-west-1a".to_owned());
    let label = RwSignal::new("my-server".to_owned());
    let hours = RwSignal::new(24u32);
    let created = RwSignal::new(None::<CreatedInstallToken>);
    let tick = use_ticker(Duration::from_secs(1));
    let every_2s = Memo::new(move |_| tick.get() / 2);
    let generate = {
        let token = token.clone();
        ApiAction::new(move |request: &InstallTokenRequest| {
            let request = request.clone();
            let token = token.clone();
            async move {
                let new = api::create_install_token(&token, &request).await;
                if let Ok(new) = &new {
                    // Shown until another is made: its secret is in this answer only.
                    created.set(Some(new.clone()));
                }
                new
            }
        })
    };
    let revoke = {
        let token = token.clone();
        ApiAction::new(move |id: &String| {
            let id = id.clone();
            let token = token.clone();
            async move { api::revoke_install_token(&token, &id).await }
        })
    };
    // Reloaded every 2 s, and at once when a token is made or revoked.
    let tokens = {
        let token = token.clone();
        ApiResource::new(move || {
            every_2s.track();
            generate.version().get();
            revoke.version().get();
            let token = token.clone();
            async move { api::install_tokens(&token).await }
        })
    };
    let hosts = {
        ApiResource::new(move || {
            every_2s.track();
            let token = token.clone();
            async move { api::hosts(&token).await }
        })
    };
    let problem = move || generate.value().and_then(Result::err);
    let zone_error = Signal::derive(move || {
        problem()
            .and_then(|p| field_message(&p, "zone"))
            .or_else(|| zone.with(|z| validate::zone(z).err()))
    });
    let label_error = Signal::derive(move || problem().and_then(|p| field_message(&p, "label")));
    let on_generate = move |ev: SubmitEvent| {
        ev.prevent_default();
        if validate::zone(&zone.get_untracked()).is_err() {
            return;
        }
        generate.dispatch(InstallTokenRequest {
            label: label.get_untracked().trim().to_owned(),
            zone: zone.get_untracked().trim().to_owned(),
            expires_in_hours: Some(hours.get_untracked()),
        });
    };
    // The host this token connected, once the agent has registered.
    let connected = move || -> Option<Host> {
        let created = created.get()?;
        let tokens = tokens.get()?.ok()?;
        let used = tokens
            .into_iter()
            .find(|t| t.id == created.install_token.id)?;
        let host_id = used.host_id?;
        hosts.get()?.ok()?.into_iter().find(|h| h.id == host_id)
    };
    let any_host = move || {
        hosts
            .get()
            .and_then(Result::ok)
            .is_some_and(|h| !h.is_empty())
    };
    view! {
        <p>"Generate an install token, then run the command it gives you on the server you want to sell. It registers the host and starts the agent."</p>
        <form class="stack" on:submit=on_generate novalidate>
            <FormAlert message=alert_message(problem) />
            <TextField id="token-zone" label="Zone" value=zone error=zone_error hint="Where the server is, such as eu-west-1a." />
            <TextField id="token-label" label="Label" value=label error=label_error hint="To recognise the token later." />
            <div class="field">
                <label for="token-expiry">"Expires in"</label>
                <select id="token-expiry" on:change=move |ev| hours.set(event_target_value(&ev).parse().unwrap_or(24))>
                    <option value="1">"1 hour"</option>
                    <option value="24" selected>"24 hours"</option>
                    <option value="168">"7 days"</option>
                </select>
            </div>
            <button class="button" type="submit" disabled=move || generate.pending().get()>"Generate install token"</button>
        </form>
        {move || created.get().map(|new| {
            let expires_ms = js_sys::Date::parse(&new.install_token.expires_at);
            let command = new.install_command.clone();
            view! {
                <div class=format!("command {class}")>
                    <p><strong>"Run this on your server."</strong>" It is shown only once."</p>
                    <pre class=class><code>{command.clone()}</code></pre>
                    <div class="actions-row">
                        <CopyButton text=command label="Copy the install command" />
                    </div>
                    <p>{move || { tick.track(); format!("Expires in {}", countdown(js_sys::Date::now(), expires_ms)) }}</p>
                    {move || match connected() {
                        Some(host) => view! {
                            <p class=format!("alert alert-success connected {class}") role="status">
                                <strong>"Connected"</strong>
                                {format!(": {} in {} with {} vCPU, {} GiB RAM and {} GiB disk to sell.",
                                    host.name, host.zone, host.capacity.vcpu, host.capacity.ram_gib, host.capacity.disk_gib)}
                            </p>
                        }.into_any(),
                        None => view! { <p role="status" aria-busy="true">"Waiting for your agent…"</p> }.into_any(),
                    }}
                </div>
            }
        })}
        <h3>"Install tokens"</h3>
        {loaded_or_default(tokens, "", move |list| {
            view! {
                <table class=class>
                    <thead><tr><th class=class>"Label"</th><th class=class>"Zone"</th><th class=class>"Status"</th><th class=class><span class="visually-hidden">"Actions"</span></th></tr></thead>
                    <tbody>
                        {list.into_iter().map(|t| {
                            let id = t.id.clone();
                            let unused = t.status == InstallTokenStatus::Unused;
                            let status = t.status.as_str();
                            let label = t.label.clone();
                            view! {
                                <tr>
                                    <td class=class>{t.label}</td>
                                    <td class=class>{t.zone}</td>
                                    <td class=class>{status}</td>
                                    <td class=class>
                                        {unused.then(|| view! {
                                            <button class="button button-secondary" type="button"
                                                aria-label=format!("Revoke {label}")
                                                on:click=move |_| { revoke.dispatch(id.clone()); }>"Revoke"</button>
                                        })}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        })}
        <div class="wizard-nav">
            <button class="button button-secondary" type="button" on:click=move |_| go.run(3)>"Back"</button>
            <button class="button" type="button" disabled=move || !any_host() on:click=move |_| go.run(5)>"Continue"</button>
        </div>
    }
}
