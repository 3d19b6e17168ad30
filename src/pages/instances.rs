//! `/instances`: the buyer's instances with live status, the SSH command,
//! cost so far, and stop/start/terminate.

use std::time::Duration;

use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::instances::{Instance, InstanceStatus};
use stylers_macro::style;

use crate::api::{self, ApiResult, InstanceAction};
use crate::components::copy_button::CopyButton;
use crate::components::form::problem_message;
use crate::components::loaded::loaded;
use crate::components::polling::use_ticker;
use crate::components::status_badge::StatusBadge;
use crate::format;
use crate::resource::{ApiAction, ApiResource};
use crate::session::use_session;

/// The SSH command for `user` at an instance's address: `host` (port 22)
/// or `host:port` (a port the seller's host forwards to the instance).
pub fn ssh_command(user: &str, address: &str) -> String {
    match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => {
            format!("ssh -p {port} {user}@{host}")
        }
        _ => format!("ssh {user}@{address}"),
    }
}

/// The buyer's instances with live status, cost so far and actions.
#[component]
pub fn Instances() -> impl IntoView {
    let session = use_session();
    view! {
        <div class="container page">
            <h1>"Instances"</h1>
            <Show when=move || session.signed_in() fallback=|| view! {
                <p class="lead">"Sign in to see your instances."</p>
                <p><A href="/sign-in?next=/instances">"Sign in"</A></p>
            }>
                <InstanceList />
            </Show>
        </div>
    }
}

#[component]
fn InstanceList() -> impl IntoView {
    let class = style! {
        ul {
            display: grid;
            gap: var(--space-4);
            padding: 0;
            margin-top: var(--space-5);
            list-style: none;
        }
        .empty {
            margin-top: var(--space-5);
            padding: var(--space-5);
            text-align: center;
            border: 1px dashed var(--color-border);
            border-radius: var(--radius-lg);
        }
    };
    let session = use_session();
    let tick = use_ticker(Duration::from_secs(2));
    // Stop, start or terminate one instance; answers with the id it was for.
    let act = ApiAction::new(move |(id, action): &(String, InstanceAction)| {
        let (id, action) = (id.clone(), *action);
        let token = session.token().unwrap_or_default();
        async move {
            let done = api::instance_action(&token, &id, action).await;
            (id, done)
        }
    });
    let instances = ApiResource::new(move || {
        tick.track();
        act.version().get();
        let token = session.token().unwrap_or_default();
        async move { api::instances(&token).await }
    });
    view! {
        {loaded(instances, "Loading your instances…", move |list| {
            if list.is_empty() {
                view! {
                    <div class=format!("empty {class}")>
                        <p>"You have no instances yet."</p>
                        <A href="/marketplace">"Find capacity in the marketplace"</A>
                    </div>
                }.into_any()
            } else {
                view! {
                    <ul class=class>
                        <For each=move || list.clone() key=|i| (i.id.clone(), i.updated_at.clone(), i.cost_so_far_cents) let:instance>
                            <li><InstanceCard instance=instance act=act /></li>
                        </For>
                    </ul>
                }.into_any()
            }
        })}
    }
}

#[component]
fn InstanceCard(
    instance: Instance,
    act: ApiAction<(String, InstanceAction), (String, ApiResult<Instance>)>,
) -> impl IntoView {
    let class = style! {
        article {
            display: grid;
            gap: var(--space-3);
        }
        .head {
            display: flex;
            flex-wrap: wrap;
            justify-content: space-between;
            align-items: center;
            gap: var(--space-2);
        }
        h2 {
            font-size: var(--text-lg);
        }
        dl {
            display: grid;
            grid-template-columns: auto 1fr;
            gap: var(--space-1) var(--space-3);
            font-size: var(--text-sm);
        }
        dt {
            color: var(--color-text-muted);
        }
        .ssh {
            display: flex;
            flex-wrap: wrap;
            align-items: center;
            gap: var(--space-2);
        }
        code {
            padding: var(--space-1) var(--space-2);
            background: var(--color-surface-muted);
            border-radius: var(--radius-sm);
            overflow-wrap: anywhere;
        }
        .actions {
            display: flex;
            flex-wrap: wrap;
            gap: var(--space-2);
        }
        .confirm {
            padding: var(--space-3);
            border: 1px solid var(--color-danger);
            border-radius: var(--radius);
        }
        .danger {
            background: var(--color-danger);
        }
    };
    let id = StoredValue::new(instance.id.clone());
    let confirming = RwSignal::new(false);
    // This instance's last failed action, if the last action was its.
    let problem = move || match act.value() {
        Some((for_id, Err(p))) if id.with_value(|id| *id == for_id) => Some(problem_message(&p)),
        _ => None,
    };
    let status = instance.status;
    let name = instance.name.clone();
    let title = name.clone();
    let detail_href = format!("/instances/{}", api::encode(&instance.id));
    let ssh = instance
        .address
        .as_deref()
        .map(|address| ssh_command(&instance.ssh_user, address));
    let pending = Signal::derive(move || {
        act.input()
            .is_some_and(|(for_id, _)| id.with_value(|id| *id == for_id))
    });
    view! {
        <article class=format!("card-surface {class}") aria-label=name.clone()>
            <div class=format!("head {class}")>
                <h2 class=class><A href=detail_href>{title}</A></h2>
                <StatusBadge status=status />
            </div>
            <dl class=class>
                <dt class=class>"Size"</dt>
                <dd>{format!("{} · {}", instance.flavor_id, format::size(instance.vcpu, instance.ram_gib, instance.disk_gib))}</dd>
                <dt class=class>"Image"</dt><dd>{instance.image_id.clone()}</dd>
                <dt class=class>"Zone"</dt><dd>{instance.zone.clone()}</dd>
                <dt class=class>"Address"</dt><dd>{instance.address.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt class=class>"Price"</dt><dd>{format!("{} / hour", format::eur(instance.hourly_cents))}</dd>
                <dt class=class>"Cost so far"</dt><dd>{format::eur(instance.cost_so_far_cents)}</dd>
            </dl>
            {instance.recovering.then(|| view! {
                <p class="alert alert-warning" role="status">
                    "Its host failed. Auto-recovery starts it again, with the same id, as soon as another host that keeps its service level and spread has room."
                </p>
            })}
            {ssh.clone().map(|command| view! {
                <div class=format!("ssh {class}")>
                    <code class=class>{command.clone()}</code>
                    <CopyButton text=command.clone() label=format!("Copy the SSH command for {name}") />
                </div>
            })}
            {move || problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
            <div class=format!("actions {class}")>
                {(status == InstanceStatus::Running).then(|| view! {
                    <button class="button button-secondary" type="button" disabled=move || pending.get()
                        on:click=move |_| { act.dispatch((id.get_value(), InstanceAction::Stop)); }>"Stop"</button>
                })}
                {(status == InstanceStatus::Stopped).then(|| view! {
                    <button class="button button-secondary" type="button" disabled=move || pending.get()
                        on:click=move |_| { act.dispatch((id.get_value(), InstanceAction::Start)); }>"Start"</button>
                })}
                {(!status.is_final() || instance.recovering).then(|| view! {
                    <button class="button button-secondary" type="button" disabled=move || pending.get()
                        on:click=move |_| confirming.set(true)>"Terminate"</button>
                })}
            </div>
            {move || confirming.get().then(|| view! {
                <div class=format!("confirm {class}") role="alertdialog" aria-label="Confirm termination">
                    <p>"Terminate this instance? Its disk is deleted and billing stops. This cannot be undone."</p>
                    <div class=format!("actions {class}")>
                        <button class=format!("button danger {class}") type="button"
                            on:click=move |_| { confirming.set(false); act.dispatch((id.get_value(), InstanceAction::Terminate)); }>
                            "Terminate instance"
                        </button>
                        <button class="button button-secondary" type="button" on:click=move |_| confirming.set(false)>
                            "Cancel"
                        </button>
                    </div>
                </div>
            })}
        </article>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ssh_command_logs_in_as_the_image_s_user() {
        assert_eq!(
            super::ssh_command("debian", "198.51.100.7"),
            "ssh debian@198.51.100.7"
        );
        assert_eq!(
            super::ssh_command("root", "seller.example:22017"),
            "ssh -p 22017 root@seller.example"
        );
    }
}
