use clap::Parser;
use sparecloud_server::config::{Command, PartnerCommand};
use sparecloud_server::partners::{self, NewPartner};
use sparecloud_server::{AppState, Config, Settings, app, db, demo, jobs, serve};

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
    if let Some(Command::Partner { action }) = &config.command {
        let PartnerCommand::Add {
            id,
            name,
            origins,
            share_percent,
            accent,
            logo_url,
        } = action;
        let partner = NewPartner {
            id: id.clone(),
            name: name.clone(),
            origins: origins.clone(),
            share_bp: share_percent * 100,
            accent_color: accent.clone(),
            logo_url: logo_url.clone(),
        };
        let now = sparecloud_server::Clock::System.now();
        return match partners::add(&pool, &partner, now).await {
            Ok(key) => {
                println!("Partner {id} added. Its API key (shown once): {key}");
                println!(
                    "Embed: <div data-sparecloud-partner=\"{id}\"></div><script src=\"PUBLIC_URL/public/embed.js\"></script>"
                );
                Ok(())
            }
            Err(sparecloud_server::error::AppError::Client(problem)) => {
                let reasons: Vec<String> = problem
                    .errors
                    .iter()
                    .map(|e| format!("--{}: {}", e.field, e.message))
                    .collect();
                eprintln!(
                    "sparecloud-server: cannot add the partner:\n  {}",
                    reasons.join("\n  ")
                );
                std::process::exit(2);
            }
            Err(error) => Err(error.to_string().into()),
        };
    }
    let state = AppState::new(pool, Settings::from_config(&config));
    if config.demo {
        demo::seed(&state, &config.demo_agents_dir).await?;
    }
    db::optimize(&state.db).await?;

    let listener = tokio::net::TcpListener::bind(&config.bind).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    let background = tokio::spawn(jobs::run(state.clone()));
    // Load the search index now rather than in the first search.
    let warm = state.clone();
    tokio::spawn(async move {
        if let Err(error) = warm.offer_index.snapshot(&warm.db).await {
            tracing::error!(%error, "cannot load the offer index");
        }
    });
    serve(listener, app(state)).await?;
    background.abort();
    tracing::info!("stopped");
    Ok(())
}
