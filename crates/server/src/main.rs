use clap::Parser;
use sparecloud_server::{AppState, Config, app, db, serve};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "sparecloud_server=info,tower_http=info".into()),
        )
        .init();

    let pool = db::connect(&config.database_url).await?;
    db::migrate(&pool).await?;
    let state = AppState::new(pool, config.dist_dir.clone());

    let listener = tokio::net::TcpListener::bind(&config.bind).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    serve(listener, app(state)).await?;
    tracing::info!("stopped");
    Ok(())
}
