//! The hosts table: capacity, status, availability; drain and revoking a
//! host's credential, each with a question first; a drain's progress.

use leptos::prelude::*;
use leptos_router::components::A;
use sparecloud_api::catalog::Capacity;
use sparecloud_api::seller::{DrainProgress, Host, HostStatus};

use super::dash_class;
use crate::api::{ApiResult, HostCommand};
use crate::components::confirm_dialog::ConfirmDialog;
use crate::components::form::problem_message;
use crate::format;
use crate::resource::ApiAction;

fn capacity_text(c: &Capacity) -> String {
    format::size(c.vcpu, c.ram_gib, c.disk_gib)
}

fn host_status(host: &Host) -> &'static str {
    if host.credential_revoked_at.is_some() {
        return "credential revoked";
    }
    match host.status {
        HostStatus::Online => "online",
        HostStatus::Offline => "offline",
        HostStatus::Draining => "draining",
    }
}

/// How moving a draining host's instances off is going.
fn drain_text(progress: &DrainProgress) -> String {
    if progress.is_done() {
        return match progress.moved {
            0 => "Drained: no instances here.".to_owned(),
            1 => "Drained: 1 instance moved to other hosts.".to_owned(),
            n => format!("Drained: {n} instances moved to other hosts."),
        };
    }
    let mut parts = vec![format!("{} moved", progress.moved)];
    if progress.migrating > 0 {
        parts.push(format!("{} stopping to move", progress.migrating));
    }
    if progress.waiting > 0 {
        parts.push(format!(
            "{} waiting for a host that keeps the service level and spread",
            progress.waiting
        ));
    }
    parts.join(" · ")
}

#[component]
pub(super) fn HostTable(
    hosts: Vec<Host>,
    /// The host and command being confirmed.
    confirming: RwSignal<Option<(String, HostCommand)>>,
    /// Drains, resumes or revokes a host.
    command: ApiAction<(String, HostCommand), ApiResult<Host>>,
) -> impl IntoView {
    let class = dash_class();
    let problem = move || {
        command
            .value()
            .and_then(Result::err)
            .map(|p| problem_message(&p))
    };
    if hosts.is_empty() {
        return view! { <p>"No hosts yet. "<A href="/sell/start?step=4">"Connect your first host"</A></p> }.into_any();
    }
    view! {
        {move || problem().map(|m| view! { <p class="alert alert-error" role="alert">{m}</p> })}
        <table class=format!("data-table {class}")>
            <thead><tr>
                <th class=class scope="col">"Host"</th><th class=class scope="col">"Status"</th><th class=class scope="col">"Zone"</th>
                <th class=class scope="col">"Used"</th><th class=class scope="col">"Free"</th><th class=class scope="col">"Disk in use"</th>
                <th class=class scope="col">"Last heartbeat"</th><th class=class scope="col">"Uptime (30 days)"</th><th class=class scope="col">"This month"</th><th class=class scope="col">"Runs"</th>
                <th class=class scope="col"><span class="visually-hidden">"Actions"</span></th>
            </tr></thead>
            <tbody>
                {hosts.into_iter().map(|h| {
                    let id = h.id.clone();
                    let draining = h.status == HostStatus::Draining;
                    let name = h.name.clone();
                    // Draining a host with instances stops and moves them: ask first.
                    let asks_first = !draining && h.instances > 0;
                    let asked = {
                        let id = id.clone();
                        move || confirming.with(|c| c.as_ref().filter(|(c, _)| *c == id).map(|(_, command)| *command))
                    };
                    let instances = h.instances;
                    let revoked = h.credential_revoked_at.is_some();
                    let confirm_id = id.clone();
                    let confirm_name = name.clone();
                    let revoke_id = id.clone();
                    view! {
                        <tr>
                            <th class=class scope="row">{h.name.clone()}</th>
                            <td class=class><span>{host_status(&h)}</span></td>
                            <td class=class>{h.zone.clone()}</td>
                            <td class=class>{capacity_text(&h.allocated)}</td>
                            <td class=class>{capacity_text(&h.free)}</td>
                            <td class=class>{h.disk_used_bytes.map_or_else(|| "—".to_owned(), format::bytes)}</td>
                            <td class=class>{h.last_heartbeat_at.replace('T', " ").trim_end_matches('Z').to_owned()}</td>
                            <td class=class>{format::percent_bp(h.uptime_bp)}</td>
                            <td class=class>{format::percent_bp(h.month_availability_bp)}</td>
                            <td class=class>{h.hypervisor.map_or("—", |v| v.describe())}</td>
                            <td class=class>
                                <button class="button button-secondary" type="button"
                                    aria-label=format!("{} {name}", if draining { "Resume" } else { "Drain" })
                                    disabled=revoked
                                    on:click=move |_| {
                                        if asks_first {
                                            confirming.set(Some((id.clone(), HostCommand::Drain)));
                                        } else {
                                            let next = if draining { HostCommand::Resume } else { HostCommand::Drain };
                                            command.dispatch((id.clone(), next));
                                        }
                                    }>
                                    {if draining { "Resume" } else { "Drain" }}
                                </button>
                                " "
                                <button class="button button-secondary" type="button" disabled=revoked
                                    aria-label=format!("Revoke the credential of {name}")
                                    on:click=move |_| confirming.set(Some((revoke_id.clone(), HostCommand::RevokeCredential)))>
                                    "Revoke"
                                </button>
                            </td>
                        </tr>
                        {move || asked().map(|asked| {
                            let id = confirm_id.clone();
                            let (label, question, act) = match asked {
                                HostCommand::RevokeCredential => (
                                    format!("Confirm revoking the credential of {confirm_name}"),
                                    format!(
                                        "Revoke the credential of {confirm_name}? Its agent is refused from now on and the host goes offline; its {instances} instance(s) are handled as on a failed host. To sell this machine again, register it with a new install token."
                                    ),
                                    "Revoke credential",
                                ),
                                _ => (
                                    format!("Confirm draining {confirm_name}"),
                                    format!(
                                        "Drain {confirm_name}? No new instances are placed on it, and its {instances} instance(s) are stopped and started again, with the same ids, on other hosts that keep their service level and spread. Buyers see the move in their event logs."
                                    ),
                                    "Drain and migrate",
                                ),
                            };
                            view! {
                                <tr>
                                    <td class=format!("migration {class}") colspan="11">
                                        <ConfirmDialog label question action=act
                                            on_confirm=Callback::new(move |()| { confirming.set(None); command.dispatch((id.clone(), asked)); })
                                            on_cancel=Callback::new(move |()| confirming.set(None)) />
                                    </td>
                                </tr>
                            }
                        })}
                        {h.drain.map(|progress| {
                            let total = progress.moved + progress.migrating + progress.waiting;
                            view! {
                                <tr>
                                    <td class=format!("migration {class}") colspan="11">
                                        <progress max=total.max(1) value=if total == 0 { 1 } else { progress.moved }
                                            aria-label=format!("Migration off {}", h.name)></progress>
                                        " "
                                        <span role="status">{drain_text(&progress)}</span>
                                    </td>
                                </tr>
                            }
                        })}
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_progress_reads_as_a_sentence() {
        let progress = |moved, migrating, waiting| DrainProgress {
            moved,
            migrating,
            waiting,
        };
        assert_eq!(
            drain_text(&progress(0, 0, 0)),
            "Drained: no instances here."
        );
        assert_eq!(
            drain_text(&progress(1, 0, 0)),
            "Drained: 1 instance moved to other hosts."
        );
        assert_eq!(
            drain_text(&progress(2, 1, 3)),
            "2 moved · 1 stopping to move · 3 waiting for a host that keeps the service level and spread"
        );
    }
}
