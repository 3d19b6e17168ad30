//! `sparecloud-server`: parses the configuration, opens and migrates the
//! database, then runs a command (`partner add`, `image source`) or serves the API, the web
//! app and the background jobs until SIGTERM (and metrics, with
//! `--metrics-bind`).

use std::time::Duration;

use clap::Parser;
use sparecloud_server::config::{Command, LogFormat};
use sparecloud_server::domain::image_sources;
use sparecloud_server::{
    AppState, Config, ConnectionLimits, Settings, app, cli, db, demo, jobs, metrics, serve,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse();
    init_logs(config.log_format);
    if let Some(Command::Restore { from }) = &config.command {
        return match cli::restore(&config.database_url, from).await {
            Ok(_) => {
                println!("Restored {} into {}.", from.display(), config.database_url);
                Ok(())
            }
            Err(reason) => {
                eprintln!("sparecloud-server: restore refused: {reason}");
                std::process::exit(2)
            }
        };
    }
    let pool = db::connect(&config.database_url).await?;
    db::migrate(&pool).await?;
    match &config.command {
        Some(Command::Partner { action }) => {
            return cli::partner(&pool, action).await.map_err(cli::refuse);
        }
        Some(Command::Image { action }) => {
            return cli::image(&pool, action).await.map_err(cli::refuse);
        }
        Some(Command::Backup { to }) => {
            if let Err(reason) = cli::backup(&pool, to).await {
                eprintln!("sparecloud-server: backup refused: {reason}");
                std::process::exit(2)
            }
            println!("Backed up to {}.", to.display());
            return Ok(());
        }
        Some(Command::Restore { .. }) => unreachable!("restored before connecting"),
        None => {}
    }
    let state = AppState::new(pool, Settings::from_config(&config));
    if config.demo {
        demo::seed(&state, &config.demo_agents_dir, config.demo_qemu_host).await?;
    }
    for (image_id, file) in &config.publish_images {
        image_sources::publish(&state.db, image_id, file).await?;
    }
    db::optimize(&state.db).await?;

    let listener = tokio::net::TcpListener::bind(&config.bind).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    if let Some(bind) = config.metrics_bind {
        metrics::install(bind, state.clone())?;
        tracing::info!(address = %bind, "serving metrics");
    }
    let (stop_jobs, stop) = tokio::sync::watch::channel(false);
    let background = tokio::spawn(jobs::run(state.clone(), stop));
    // Load the search index now rather than in the first search.
    let warm = state.clone();
    tokio::spawn(async move {
        if let Err(error) = warm.offer_index.snapshot(&warm.db).await {
            tracing::error!(%error, "cannot load the offer index");
        }
    });
    let limits = ConnectionLimits {
        max_connections: config.max_connections as usize,
        header_read_timeout: Duration::from_secs(config.header_read_timeout_secs.into()),
        shutdown_grace: Duration::from_secs(config.shutdown_grace_secs.into()),
    };
    serve(listener, app(state), limits).await?;
    // A job pass under way is finished, not cut in the middle.
    stop_jobs.send_replace(true);
    background.await?;
    tracing::info!("stopped");
    Ok(())
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "sparecloud_server=info".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => logs.init(),
        // One object per line, the request's fields (id, route, user) on
        // each line written while it is served.
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
