//! Each command: its API calls and what it prints.

use std::io::{BufRead, IsTerminal, Write};
use std::time::{Duration, Instant};

use serde_json::Value;
use sparecloud_api::Problem;
use sparecloud_api::accounts::Account;
use sparecloud_api::checkout::{Order, OrderRequest, PaymentMethod, Quote, QuoteRequest};
use sparecloud_api::instances::{Instance, InstanceConsole, InstanceDetail, InstanceStatus};
use sparecloud_api::offers::OfferPage;
use sparecloud_api::problem::kinds;
use sparecloud_api::seller::{Earnings, Host, SellerOffer};

use crate::client::Client;
use crate::output::{json, money, table};
use crate::{Cli, Command, HostsCommand, OfferFilters, config};

pub async fn run(cli: Cli) -> Result<(), Problem> {
    let saved = config::load();
    let api = cli
        .api
        .clone()
        .or(saved.api.clone())
        .unwrap_or_else(|| config::DEFAULT_API.to_owned());
    let key = cli.key.clone().or(saved.api_key.clone());
    let as_json = cli.json;
    let client = Client::new(&api, key.clone());
    match cli.command {
        Command::Login => login(&api, key, as_json).await,
        Command::Offers { mine: Some(_), .. } => {
            let offers: Vec<SellerOffer> = client.get("/seller/offers").await?;
            if as_json {
                json(&offers);
            } else {
                let rows = offers
                    .iter()
                    .map(|o| {
                        let prices: Vec<String> = o
                            .prices
                            .iter()
                            .map(|p| format!("{} {}", p.flavor_id, money(p.hourly_cents)))
                            .collect();
                        vec![
                            o.id.clone(),
                            o.zone.clone(),
                            o.sla_tier.clone(),
                            if o.listed { "listed" } else { "not listed" }.into(),
                            prices.join(", "),
                        ]
                    })
                    .collect::<Vec<_>>();
                table(&["ID", "ZONE", "SLA", "STATUS", "PRICES /h"], &rows);
            }
            Ok(())
        }
        Command::Offers {
            mine: None,
            filters,
        } => offers(&client, &filters, as_json).await,
        Command::Quote {
            offer,
            image,
            flavor,
            count,
            placement,
            auto_recover,
        } => {
            // The quote is for the offer's own service level.
            let listed: Value = client.get(&format!("/offers/{offer}")).await?;
            let tier = listed["sla_tier"].as_str().unwrap_or_default().to_owned();
            let request = QuoteRequest {
                offer_id: offer,
                image_id: image,
                sla_tier: tier,
                flavor_id: flavor,
                count,
                placement: placement.into(),
                auto_recover,
            };
            let quote: Quote = client.post("/quotes", &request, None).await?;
            if as_json {
                json(&quote);
            } else {
                println!(
                    "Quote {}: {} × {} of {} at {}/hour ({} a month), held until {}.",
                    quote.id,
                    quote.count,
                    quote.flavor_id,
                    quote.image_id,
                    money(quote.hourly_total_cents),
                    money(quote.estimated_month_cents),
                    quote.expires_at
                );
                println!(
                    "Order it with: sparecloud order {} --ssh-key ~/.ssh/id_ed25519.pub",
                    quote.id
                );
            }
            Ok(())
        }
        Command::Order {
            quote,
            card,
            ssh_key,
            no_wait,
            timeout_secs,
        } => {
            let card = choose_card(&client, &api, card.as_deref()).await?;
            let ssh_public_key = std::fs::read_to_string(&ssh_key).map_err(|error| {
                usage_problem(&format!("cannot read {}: {error}", ssh_key.display()))
            })?;
            let request = OrderRequest {
                quote_id: quote.clone(),
                payment_method_id: card.id,
                ssh_public_key: ssh_public_key.trim().to_owned(),
                embed_session: None,
            };
            // A quote is ordered at most once, so its id makes the key: the
            // same command run again after a failure gets the same order.
            let key = format!("cli-order-{quote}");
            let order: Order = client.post("/orders", &request, Some(&key)).await?;
            let order = if no_wait {
                order
            } else {
                wait_running(&client, order, Duration::from_secs(timeout_secs), as_json).await?
            };
            if as_json {
                json(&order);
            } else {
                println!(
                    "Order {} for {}/hour.",
                    order.id,
                    money(order.quote.hourly_total_cents)
                );
                instance_table(&order.instances);
            }
            Ok(())
        }
        Command::Instances => {
            let instances: Vec<Instance> = client.get("/instances").await?;
            if as_json {
                json(&instances);
            } else if instances.is_empty() {
                println!("No instances yet: find an offer with `sparecloud offers`.");
            } else {
                instance_table(&instances);
            }
            Ok(())
        }
        Command::Instance { id } => {
            let detail: InstanceDetail = client.get(&format!("/instances/{id}")).await?;
            if as_json {
                json(&detail);
            } else {
                instance_table(std::slice::from_ref(&detail.instance));
                if let Some(ssh) = ssh_args(&detail.instance) {
                    println!("\nssh {}", ssh.join(" "));
                }
                println!();
                let rows: Vec<Vec<String>> = detail
                    .events
                    .iter()
                    .map(|e| vec![e.at.clone(), e.kind.clone(), e.message.clone()])
                    .collect();
                table(&["AT", "EVENT", "MESSAGE"], &rows);
            }
            Ok(())
        }
        Command::Stop { id } => instance_action(&client, &id, "stop", as_json).await,
        Command::Start { id } => instance_action(&client, &id, "start", as_json).await,
        Command::Terminate { id, yes } => {
            if !yes && !confirm(&format!("Terminate {id}? Its disk is deleted. [y/N] ")) {
                return Err(usage_problem(
                    "not terminated (answer y, or pass --yes in scripts)",
                ));
            }
            instance_action(&client, &id, "terminate", as_json).await
        }
        Command::Ssh { id, args } => {
            let detail: InstanceDetail = client.get(&format!("/instances/{id}")).await?;
            let mut ssh = ssh_args(&detail.instance).ok_or_else(|| {
                Problem::new(kinds::CONFLICT, "No address yet", 409).with_detail(format!(
                    "{id} is {}: wait until it runs.",
                    detail.instance.status.as_str()
                ))
            })?;
            ssh.extend(args);
            exec_ssh(&ssh)
        }
        Command::Console { id } => {
            let console: InstanceConsole = client.get(&format!("/instances/{id}/console")).await?;
            if as_json {
                json(&console);
            } else {
                print!("{}", console.output);
            }
            Ok(())
        }
        Command::Hosts { action: None } => {
            let hosts: Vec<Host> = client.get("/seller/hosts").await?;
            if as_json {
                json(&hosts);
            } else {
                let rows: Vec<Vec<String>> = hosts
                    .iter()
                    .map(|h| {
                        vec![
                            h.id.clone(),
                            h.name.clone(),
                            h.zone.clone(),
                            format!("{:?}", h.status).to_lowercase(),
                            format!("{}/{}", h.allocated.vcpu, h.capacity.vcpu),
                            h.instances.to_string(),
                        ]
                    })
                    .collect();
                table(
                    &["ID", "NAME", "ZONE", "STATUS", "VCPU USED", "INSTANCES"],
                    &rows,
                );
            }
            Ok(())
        }
        Command::Hosts {
            action: Some(HostsCommand::Drain { id }),
        } => {
            let host: Value = client
                .post(
                    &format!("/seller/hosts/{id}/drain"),
                    &serde_json::json!({}),
                    None,
                )
                .await?;
            if as_json {
                json(&host);
            } else {
                println!("Draining {id}: its instances move to other hosts; it takes no new ones.");
            }
            Ok(())
        }
        Command::Earnings { month } => {
            let mut earnings: Earnings = client.get("/seller/earnings").await?;
            if let Some(month) = &month {
                earnings.days.retain(|d| d.date.starts_with(month.as_str()));
            }
            if as_json {
                json(&earnings);
            } else {
                let rows: Vec<Vec<String>> = earnings
                    .days
                    .iter()
                    .map(|d| {
                        vec![
                            d.date.clone(),
                            money(d.gross_cents),
                            money(d.commission_cents),
                            money(d.net_cents),
                        ]
                    })
                    .collect();
                table(&["DAY", "GROSS", "COMMISSION", "NET"], &rows);
                let net: u64 = earnings.days.iter().map(|d| d.net_cents).sum();
                println!(
                    "Net {}: {}",
                    month.as_deref().unwrap_or("in all"),
                    money(net)
                );
            }
            Ok(())
        }
        Command::Completions { .. } => unreachable!("handled before any API call"),
    }
}

async fn login(api: &str, key: Option<String>, as_json: bool) -> Result<(), Problem> {
    let key = match key {
        Some(key) => key,
        None => {
            eprint!("API key (from your account page): ");
            std::io::stderr().flush().ok();
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).ok();
            line.trim().to_owned()
        }
    };
    let account: Account = Client::new(api, Some(key.clone())).get("/me").await?;
    let path = config::save(&config::Config {
        api: Some(api.to_owned()),
        api_key: Some(key),
    })
    .map_err(|error| usage_problem(&format!("cannot save the key: {error}")))?;
    if as_json {
        json(&account);
    } else {
        println!(
            "Logged in to {api} as {}; the key is saved in {}.",
            account.email,
            path.display()
        );
    }
    Ok(())
}

async fn offers(client: &Client, filters: &OfferFilters, as_json: bool) -> Result<(), Problem> {
    let query = [
        ("zone", filters.zone.clone()),
        ("sla", filters.sla.clone()),
        ("min_vcpu", filters.min_vcpu.map(|n| n.to_string())),
        ("min_ram_gib", filters.min_ram.map(|n| n.to_string())),
        ("max_price", filters.max_price.map(|n| n.to_string())),
        ("image", filters.image.clone()),
        ("sort", filters.sort.clone()),
        ("per_page", Some("100".into())),
    ];
    let query: Vec<(&str, String)> = query
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
    let page: OfferPage = client.get_query("/offers", &query).await?;
    if as_json {
        json(&page);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = page
        .items
        .iter()
        .map(|o| {
            let sizes: Vec<&str> = o.prices.iter().map(|p| p.flavor.id.as_str()).collect();
            vec![
                o.id.clone(),
                o.seller_name.clone(),
                o.zone.clone(),
                o.sla_tier.clone(),
                format!("{}/h", money(o.from_hourly_cents)),
                sizes.join(","),
            ]
        })
        .collect();
    table(&["ID", "SELLER", "ZONE", "SLA", "FROM", "SIZES"], &rows);
    println!("{} of {} offers.", page.items.len(), page.total);
    Ok(())
}

async fn choose_card(
    client: &Client,
    api: &str,
    wanted: Option<&str>,
) -> Result<PaymentMethod, Problem> {
    let cards: Vec<PaymentMethod> = client.get("/payment-methods").await?;
    let add_one = format!(
        "Add a card in the web app ({}/account or at checkout): the command line never takes card numbers.",
        api.trim_end_matches('/')
    );
    let found = match wanted {
        Some(wanted) => cards
            .into_iter()
            .find(|c| c.id == wanted || c.last4 == wanted),
        None => cards.into_iter().next(),
    };
    found.ok_or_else(|| {
        Problem::new(kinds::VALIDATION, "No such saved card", 422).with_detail(add_one)
    })
}

/// Follows the order until every instance runs (progress on stderr).
async fn wait_running(
    client: &Client,
    mut order: Order,
    limit: Duration,
    quiet: bool,
) -> Result<Order, Problem> {
    let started = Instant::now();
    loop {
        let running = order
            .instances
            .iter()
            .filter(|i| i.status == InstanceStatus::Running)
            .count();
        let failed = order
            .instances
            .iter()
            .any(|i| i.status == InstanceStatus::Failed);
        if !quiet {
            eprint!("\r{running}/{} running…", order.instances.len());
        }
        if running == order.instances.len() || failed {
            if !quiet {
                eprintln!();
            }
            if failed {
                return Err(Problem::new(kinds::CONFLICT, "An instance failed", 409)
                    .with_detail(format!("See `sparecloud instances`; order {}.", order.id)));
            }
            return Ok(order);
        }
        if started.elapsed() > limit {
            return Err(Problem::new(kinds::CONFLICT, "Still starting", 409).with_detail(format!(
                "Order {} is placed but not all its instances run yet: see `sparecloud instances`.",
                order.id
            )));
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        order = client.get(&format!("/orders/{}", order.id)).await?;
    }
}

async fn instance_action(
    client: &Client,
    id: &str,
    action: &str,
    as_json: bool,
) -> Result<(), Problem> {
    let instance: Instance = client
        .post(
            &format!("/instances/{id}/{action}"),
            &serde_json::json!({}),
            None,
        )
        .await?;
    if as_json {
        json(&instance);
    } else {
        println!("{} is {}.", instance.id, instance.status.as_str());
    }
    Ok(())
}

fn instance_table(instances: &[Instance]) {
    let rows: Vec<Vec<String>> = instances
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.status.as_str().to_owned(),
                i.image_id.clone(),
                i.flavor_id.clone(),
                i.zone.clone(),
                i.address.clone().unwrap_or_else(|| "-".into()),
                format!("{}/h", money(i.hourly_cents)),
            ]
        })
        .collect();
    table(
        &["ID", "STATUS", "IMAGE", "SIZE", "ZONE", "ADDRESS", "PRICE"],
        &rows,
    );
}

/// `-p PORT user@host` for a running instance's address (`host:port`).
fn ssh_args(instance: &Instance) -> Option<Vec<String>> {
    let address = instance.address.as_deref()?;
    let user = &instance.ssh_user;
    Some(match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => {
            vec!["-p".into(), port.into(), format!("{user}@{host}")]
        }
        _ => vec![format!("{user}@{address}")],
    })
}

fn exec_ssh(args: &[String]) -> Result<(), Problem> {
    use std::os::unix::process::CommandExt;
    let error = std::process::Command::new("ssh").args(args).exec();
    Err(usage_problem(&format!("cannot run ssh: {error}")))
}

fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    eprint!("{question}");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).ok();
    matches!(answer.trim(), "y" | "Y" | "yes")
}

/// A failure of the command itself, not of the API.
fn usage_problem(detail: &str) -> Problem {
    Problem::new(kinds::VALIDATION, "Cannot do that", 422).with_detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_takes_the_port_apart_from_the_host() {
        let mut instance: Instance = serde_json::from_value(serde_json::json!({
            "id": "ins_1", "order_id": "ord_1", "name": "n", "status": "running", "image_id": "debian-12",
            "flavor_id": "s1.small", "sla_tier": "gold", "zone": "z", "vcpu": 1, "ram_gib": 2, "disk_gib": 20,
            "address": "198.51.100.7:22001", "ssh_user": "debian", "hourly_cents": 5, "cost_so_far_cents": 0,
            "currency": "EUR", "created_at": "t", "updated_at": "t"
        }))
        .unwrap();
        assert_eq!(
            ssh_args(&instance).unwrap(),
            ["-p", "22001", "debian@198.51.100.7"]
        );
        instance.address = Some("2001:db8::1".into());
        assert_eq!(ssh_args(&instance).unwrap(), ["debian@2001:db8::1"]);
        instance.address = None;
        assert!(ssh_args(&instance).is_none());
    }
}
