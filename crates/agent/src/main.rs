//! `sparecloud-agent`: the seller's host agent. It registers the host with an
//! install token, then heartbeats with the host's capacity and the observed
//! state of its instances, and runs the instances the marketplace places on
//! it through a `Driver`: `qemu` (real virtual machines) or `sim` (a
//! simulation, for demos).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use sparecloud_api::agent::{HeartbeatRequest, RegisterRequest};
use sparecloud_api::catalog::Capacity;

use sparecloud_agent::capacity;
use sparecloud_agent::client::{ApiClient, printable};
use sparecloud_agent::driver::qemu::command::Accel;
use sparecloud_agent::driver::qemu::{QemuConfig, QemuDriver, choose_accel, isolation, preflight};
use sparecloud_agent::driver::{Driver, SimDriver, UnixMillis, reconcile};
use sparecloud_agent::error::AgentError;
use sparecloud_agent::metrics;
use sparecloud_agent::state::{HostState, StateDir, Status};

#[derive(Debug, Parser)]
#[command(
    name = "sparecloud-agent",
    version,
    about = "The Sparecloud seller agent"
)]
struct Cli {
    /// Where the agent keeps its credential and its instances' state.
    #[arg(long, global = true, env = "SPARECLOUD_AGENT_STATE_DIR", default_value_os_t = default_state_dir())]
    state_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Trade an install token for this host's credential.
    Register {
        /// The Sparecloud API, e.g. https://sparecloud.example.
        #[arg(long)]
        api: String,
        /// The install token from the seller dashboard.
        #[arg(long, env = "SPARECLOUD_INSTALL_TOKEN")]
        token: String,
        /// The zone the host is in (defaults to the token's).
        #[arg(long)]
        zone: Option<String>,
        /// The host's name (defaults to its hostname).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        capacity: CapacityArgs,
        #[command(flatten)]
        driver: DriverArgs,
    },
    /// Heartbeat and run the instances the marketplace places here, until
    /// SIGTERM or Ctrl-C.
    Run {
        /// Seconds a simulated instance takes to boot.
        #[arg(long, env = "SPARECLOUD_SIM_BOOT_SECS", default_value_t = 3)]
        sim_boot_secs: u64,
        /// Where to serve Prometheus metrics (`GET /metrics`), e.g.
        /// `127.0.0.1:9101`; off when absent.
        #[arg(long, env = "SPARECLOUD_AGENT_METRICS_BIND")]
        metrics_bind: Option<std::net::SocketAddr>,
        #[command(flatten)]
        capacity: CapacityArgs,
        #[command(flatten)]
        driver: DriverArgs,
    },
    /// Show what the agent knows: host, API, last heartbeat, instances.
    Status,
}

/// Which hypervisor runs the instances, and how.
#[derive(Debug, Clone, clap::Args)]
struct DriverArgs {
    /// `qemu` runs real virtual machines (what `register` chooses unless
    /// told otherwise, after checking the host can); `sim` simulates them
    /// (demos). `run` uses the driver `register` chose.
    #[arg(long, env = "SPARECLOUD_AGENT_DRIVER", value_enum)]
    driver: Option<DriverKind>,
    /// The image cache (each catalog image fetched once, by checksum);
    /// defaults to `images/` in the state dir.
    #[arg(long, env = "SPARECLOUD_AGENT_IMAGES_DIR")]
    images_dir: Option<PathBuf>,
    /// The ports buyers' SSH connections are forwarded from, FIRST-LAST.
    #[arg(long, env = "SPARECLOUD_AGENT_SSH_PORTS", default_value = "22000-22999", value_parser = parse_port_range)]
    ssh_ports: std::ops::RangeInclusive<u16>,
    /// The address those ports listen on.
    #[arg(long, env = "SPARECLOUD_AGENT_SSH_BIND", default_value = "0.0.0.0")]
    ssh_bind: String,
    /// The host name or address buyers reach this host at (its hostname
    /// by default).
    #[arg(long, env = "SPARECLOUD_AGENT_SSH_HOST")]
    ssh_host: Option<String>,
    /// Hardware virtualisation (`kvm`), software emulation (`tcg`), or
    /// `auto`: KVM when a test boot with it works, else software emulation.
    #[arg(long, env = "SPARECLOUD_AGENT_ACCEL", value_enum, default_value_t = AccelArg::Auto)]
    accel: AccelArg,
    /// The unprivileged user QEMU runs as when the agent runs as root.
    #[arg(
        long,
        env = "SPARECLOUD_AGENT_VM_USER",
        default_value = "sparecloud-vm"
    )]
    vm_user: String,
    /// `internet`: guests reach the internet, but not this host nor private
    /// networks (an nftables table confines the VM user; needs root);
    /// `isolated`: guests reach nothing.
    #[arg(long, env = "SPARECLOUD_AGENT_GUEST_NETWORK", value_enum, default_value_t = GuestNetwork::Internet)]
    guest_network: GuestNetwork,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GuestNetwork {
    Internet,
    Isolated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DriverKind {
    Sim,
    Qemu,
}

impl DriverKind {
    fn as_str(self) -> &'static str {
        match self {
            DriverKind::Sim => "sim",
            DriverKind::Qemu => "qemu",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum AccelArg {
    Auto,
    Kvm,
    Tcg,
}

fn parse_port_range(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let (first, last) = text
        .split_once('-')
        .ok_or_else(|| "give the ports as FIRST-LAST, e.g. 22000-22999".to_owned())?;
    let first: u16 = first
        .trim()
        .parse()
        .map_err(|_| format!("{first:?} is not a port"))?;
    let last: u16 = last
        .trim()
        .parse()
        .map_err(|_| format!("{last:?} is not a port"))?;
    if first == 0 || first > last {
        return Err("the range must be FIRST-LAST with 0 < FIRST <= LAST".into());
    }
    Ok(first..=last)
}

impl DriverArgs {
    /// The driver, after checking that the host has what it needs.
    fn open(
        &self,
        kind: DriverKind,
        state_dir: &std::path::Path,
        api: &str,
        credential: &str,
        sim_boot_ms: UnixMillis,
    ) -> Result<Box<dyn Driver>, AgentError> {
        let state_error =
            |e: std::io::Error| AgentError::State(state_dir.to_path_buf(), e.to_string());
        Ok(match kind {
            DriverKind::Sim => {
                Box::new(SimDriver::load(state_dir, sim_boot_ms).map_err(state_error)?)
            }
            DriverKind::Qemu => {
                let mut config = self.qemu_config(state_dir, Some(api));
                config.credential = Some(credential.to_owned());
                let mut missing = self.isolate(&mut config);
                missing.extend(preflight(&config));
                if !missing.is_empty() {
                    return Err(AgentError::NotReady(missing));
                }
                if config.internet
                    && let Some(user) = &config.vm_user
                    && let Err(reason) = isolation::install_firewall(user.uid)
                {
                    return Err(AgentError::NotReady(vec![format!(
                        "{reason} (or run with --guest-network isolated)"
                    )]));
                }
                Box::new(QemuDriver::load(config).map_err(state_error)?)
            }
        })
    }

    /// Who QEMU runs as, whether guests get the internet, and their
    /// cgroups; what is missing for that, said plainly.
    fn isolate(&self, config: &mut QemuConfig) -> Vec<String> {
        let mut missing = Vec::new();
        // SAFETY: geteuid cannot fail.
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            match isolation::VmUser::lookup(&self.vm_user) {
                Ok(user) => {
                    let dirs = [config.vms_dir.as_path(), config.images_dir.as_path()];
                    for dir in dirs {
                        let _ = std::fs::create_dir_all(dir);
                    }
                    if let Some(stop) = isolation::unreachable_dir(&dirs) {
                        missing.push(format!(
                            "QEMU runs as {}, which cannot enter {}: `chmod o+x` it, or choose a --state-dir it can reach (/var/lib/sparecloud-agent).",
                            user.name,
                            stop.display()
                        ));
                    }
                    config.vm_user = Some(user);
                }
                Err(reason) => missing.push(format!("{reason}.")),
            }
            config.cgroups = isolation::Cgroups::detect();
            if config.cgroups.is_none() {
                tracing::warn!(
                    "no cgroups to limit machines with: they are limited by their flavor's cores and memory only"
                );
            }
        } else {
            tracing::info!(
                "QEMU runs as this agent's own (unprivileged) user, without cgroup limits"
            );
        }
        config.internet = self.guest_network == GuestNetwork::Internet;
        if config.internet && !root {
            missing.push("Guests get the internet only through the firewall the agent sets up as root: run it as root, or with --guest-network isolated.".into());
        }
        missing
    }

    fn qemu_config(&self, state_dir: &std::path::Path, api: Option<&str>) -> QemuConfig {
        let images_dir = self
            .images_dir
            .clone()
            .unwrap_or_else(|| state_dir.join("images"));
        QemuConfig {
            qemu: "qemu-system-x86_64".into(),
            qemu_img: "qemu-img".into(),
            images_dir: images_dir.clone(),
            api_base: api.map(str::to_owned),
            vms_dir: state_dir.join("vms"),
            accel: match self.accel {
                AccelArg::Kvm => Accel::Kvm,
                AccelArg::Tcg => Accel::Tcg,
                AccelArg::Auto => {
                    let (accel, why) = choose_accel(
                        std::path::Path::new("qemu-system-x86_64"),
                        &images_dir,
                        &state_dir.join("probe"),
                    );
                    tracing::info!(accel = accel.as_str(), "{why}");
                    accel
                }
            },
            ssh_bind: self.ssh_bind.clone(),
            ssh_host: self.ssh_host.clone().unwrap_or_else(|| {
                sysinfo::System::host_name().unwrap_or_else(|| "localhost".into())
            }),
            ssh_ports: self.ssh_ports.clone(),
            vm_user: None,
            internet: false,
            cgroups: None,
            credential: None,
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
struct CapacityArgs {
    /// Cores kept for the host itself.
    #[arg(long, default_value_t = 1)]
    reserve_vcpu: u32,
    /// GiB of memory kept for the host itself.
    #[arg(long, default_value_t = 2)]
    reserve_ram_gib: u32,
    /// GiB of disk kept for the host itself.
    #[arg(long, default_value_t = 20)]
    reserve_disk_gib: u32,
    /// Report this capacity (VCPU,RAM_GIB,DISK_GIB) instead of the
    /// machine's: for simulated hosts.
    #[arg(long, value_parser = capacity::parse)]
    capacity: Option<Capacity>,
    /// GiB of disk to sell, instead of the free space measured on the state
    /// directory's filesystem: for instance disks on another volume. Kept
    /// from `register` for `run`.
    #[arg(long, env = "SPARECLOUD_AGENT_DISK_GIB", conflicts_with = "capacity")]
    disk_gib: Option<u32>,
}

/// A system service's place when run as root (the VM user must be able
/// to enter it, which root's home does not allow), else the user's own.
fn default_state_dir() -> PathBuf {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    match std::env::var_os("HOME") {
        Some(home) if !root => PathBuf::from(home).join(".local/state/sparecloud-agent"),
        _ => PathBuf::from("/var/lib/sparecloud-agent"),
    }
}

fn now_ms() -> UnixMillis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as UnixMillis)
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sparecloud_agent=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let state = StateDir::new(cli.state_dir.clone());
    let result = match cli.command {
        Command::Register {
            api,
            token,
            zone,
            name,
            capacity,
            driver,
        } => register(&state, &api, &token, zone, name, &capacity, &driver).await,
        Command::Run {
            sim_boot_secs,
            metrics_bind,
            capacity,
            driver,
        } => match metrics_bind.map_or(Ok(()), metrics::install) {
            Ok(()) => run(&state, sim_boot_secs, &capacity, &driver).await,
            Err(error) => Err(error),
        },
        Command::Status => status(&state, &cli.state_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sparecloud-agent: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The capacity to report: a declared one, or the machine's minus the reserve.
fn host_capacity(
    args: &CapacityArgs,
    declared: Option<Capacity>,
    declared_disk_gib: Option<u32>,
    state_dir: &std::path::Path,
) -> Result<Capacity, AgentError> {
    if let Some(capacity) = args.capacity.or(declared) {
        return Ok(capacity);
    }
    std::fs::create_dir_all(state_dir).ok();
    let mut machine = capacity::machine(state_dir);
    let mut reserve = Capacity {
        vcpu: args.reserve_vcpu,
        ram_gib: args.reserve_ram_gib,
        disk_gib: args.reserve_disk_gib,
    };
    // A declared disk is what is for sale: no reserve comes off it.
    if let Some(disk_gib) = args.disk_gib.or(declared_disk_gib) {
        machine.disk_gib = disk_gib;
        reserve.disk_gib = 0;
    }
    capacity::sellable(machine, reserve)
}

async fn register(
    state: &StateDir,
    api: &str,
    token: &str,
    zone: Option<String>,
    name: Option<String>,
    capacity_args: &CapacityArgs,
    driver_args: &DriverArgs,
) -> Result<(), AgentError> {
    // A real host is checked before the (single-use) token is spent.
    let driver = driver_args.driver.unwrap_or(DriverKind::Qemu);
    if driver == DriverKind::Qemu {
        let mut config = driver_args.qemu_config(&state.path, Some(api));
        let mut missing = driver_args.isolate(&mut config);
        missing.extend(preflight(&config));
        if !missing.is_empty() {
            return Err(AgentError::NotReady(missing));
        }
    }
    let capacity = host_capacity(capacity_args, None, None, &state.path)?;
    let name = name
        .or_else(sysinfo::System::host_name)
        .unwrap_or_else(|| "host".into());
    let response = ApiClient::new(api)
        .register(&RegisterRequest {
            token: token.trim().to_owned(),
            name: name.clone(),
            zone,
            capacity,
            agent_version: env!("CARGO_PKG_VERSION").into(),
        })
        .await?;
    state.save_host(&HostState {
        api: api.trim_end_matches('/').to_owned(),
        host_id: response.host_id.clone(),
        credential: response.credential,
        zone: response.zone.clone(),
        name,
        declared_capacity: capacity_args.capacity,
        declared_disk_gib: capacity_args.disk_gib,
        driver: Some(driver.as_str().to_owned()),
    })?;
    println!(
        "Registered host {} in zone {} with {} vCPU, {} GiB RAM, {} GiB disk. Start it with: sparecloud-agent run",
        printable(&response.host_id, 80),
        printable(&response.zone, 80),
        capacity.vcpu,
        capacity.ram_gib,
        capacity.disk_gib
    );
    Ok(())
}

async fn run(
    state: &StateDir,
    sim_boot_secs: u64,
    capacity_args: &CapacityArgs,
    driver_args: &DriverArgs,
) -> Result<(), AgentError> {
    let host = state.load_host()?;
    let capacity = host_capacity(
        capacity_args,
        host.declared_capacity,
        host.declared_disk_gib,
        &state.path,
    )?;
    let kind = driver_args.driver.unwrap_or(match host.driver.as_deref() {
        Some("qemu") => DriverKind::Qemu,
        _ => DriverKind::Sim,
    });
    let mut driver = driver_args.open(
        kind,
        &state.path,
        &host.api,
        &host.credential,
        sim_boot_secs * 1000,
    )?;
    if driver.name() == "sim" {
        tracing::info!(
            host_id = %host.host_id, api = %host.api, driver = driver.name(),
            "agent running; the sim driver is a simulation and starts no real virtual machines"
        );
    } else {
        tracing::info!(host_id = %host.host_id, api = %host.api, driver = driver.name(), "agent running");
    }
    let client = ApiClient::new(&host.api);
    let mut status = state.load_status();
    let mut backoff = Duration::from_secs(1);
    let mut shutdown = std::pin::pin!(shutdown_signal());

    loop {
        let observed = driver
            .observe(now_ms())
            .map_err(|e| AgentError::State(state.path.clone(), e.to_string()))?;
        metrics::vms(&observed);
        let request = HeartbeatRequest {
            capacity,
            instances: observed,
            agent_version: env!("CARGO_PKG_VERSION").into(),
            hypervisor: Some(driver.hypervisor()),
            images: driver.images(),
            disk_used_bytes: driver.disk_used_bytes(),
            moves_disks: driver.moves_disks(),
        };
        let wait = match client.heartbeat(&host.credential, &request).await {
            Ok(response) => {
                if status.last_error.is_some() {
                    tracing::info!("connected to the API again");
                }
                backoff = Duration::from_secs(1);
                let interval =
                    Duration::from_secs(u64::from(response.heartbeat_interval_secs.max(1)));
                let images_before = driver.images();
                driver.catalog(&response.images);
                let reconciling = std::time::Instant::now();
                let mut changes = reconcile(driver.as_mut(), &response.instances, now_ms())
                    .map_err(|e| AgentError::State(state.path.clone(), e.to_string()))?;
                metrics::reconciled(reconciling.elapsed());
                // Images it can run now: say so at once, buyers wait on it.
                if driver.images() != images_before {
                    changes += 1;
                }
                status = Status {
                    last_heartbeat_unix: Some(now_ms() / 1000),
                    last_error: None,
                    heartbeat_interval_secs: response.heartbeat_interval_secs,
                };
                state.save_status(&status)?;
                // After a change, report its first effects soon.
                if changes > 0 {
                    Duration::from_millis(500)
                } else {
                    jitter(interval)
                }
            }
            Err(error) if error.is_transient() => {
                metrics::heartbeat_failed();
                tracing::warn!(%error, retry_in_secs = backoff.as_secs(), "heartbeat failed; retrying");
                status.last_error = Some(error.to_string());
                state.save_status(&status)?;
                let wait = backoff;
                backoff = (backoff * 2).min(Duration::from_secs(60));
                wait
            }
            Err(error) => return Err(error),
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => {
                tracing::info!("stopping");
                return Ok(());
            }
        }
    }
}

/// ±10 %, so that many hosts restarted together do not heartbeat in step.
fn jitter(interval: Duration) -> Duration {
    let ms = interval.as_millis() as u64;
    Duration::from_millis(ms - ms / 10 + fastrand::u64(0..=ms / 5))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

fn status(state: &StateDir, dir: &std::path::Path) -> Result<(), AgentError> {
    let host = state.load_host()?;
    let status = state.load_status();
    let mut driver =
        SimDriver::load(dir, 0).map_err(|e| AgentError::State(dir.to_path_buf(), e.to_string()))?;
    println!(
        "host:       {} ({}) in zone {}",
        host.host_id, host.name, host.zone
    );
    println!("api:        {}", host.api);
    let now = now_ms() / 1000;
    match status.last_heartbeat_unix {
        Some(at) => println!(
            "heartbeat:  {}s ago (every {}s)",
            now.saturating_sub(at),
            status.heartbeat_interval_secs
        ),
        None => println!("heartbeat:  never"),
    }
    if let Some(error) = &status.last_error {
        println!("last error: {error}");
    }
    let instances = driver
        .observe(now_ms())
        .map_err(|e| AgentError::State(dir.to_path_buf(), e.to_string()))?;
    println!("instances:  {}", instances.len());
    for instance in instances {
        println!(
            "  {}  {:?}  {}",
            instance.id,
            instance.state,
            instance.address.unwrap_or_default()
        );
    }
    Ok(())
}
