//! The server's commands besides serving: `partner add`, `image source`.

use crate::clock::Clock;
use crate::config::{ImageCommand, PartnerCommand};
use crate::db::Pool;
use crate::domain::image_sources;
use crate::domain::partners::{self, NewPartner};
use crate::error::AppError;

/// Runs a `partner` command.
pub async fn partner(pool: &Pool, command: &PartnerCommand) -> Result<(), AppError> {
    let PartnerCommand::Add {
        id,
        name,
        origins,
        share_percent,
        accent,
        logo_url,
    } = command;
    let partner = NewPartner {
        id: id.clone(),
        name: name.clone(),
        origins: origins.clone(),
        share_bp: share_percent * 100,
        accent_color: accent.clone(),
        logo_url: logo_url.clone(),
    };
    let key = partners::add(pool, &partner, Clock::System.now()).await?;
    println!("Partner {id} added. Its API key (shown once): {key}");
    println!(
        "Embed: <div data-sparecloud-partner=\"{id}\"></div><script src=\"PUBLIC_URL/public/embed.js\"></script>"
    );
    Ok(())
}

/// Runs an `image` command.
pub async fn image(pool: &Pool, command: &ImageCommand) -> Result<(), AppError> {
    let ImageCommand::Source {
        id,
        url,
        sha256,
        format,
    } = command;
    let source = sparecloud_api::agent::ImageSource {
        image_id: id.clone(),
        url: url.clone(),
        sha256: sha256.to_ascii_lowercase(),
        format: sparecloud_api::agent::ImageFormat::parse(format)
            .unwrap_or(sparecloud_api::agent::ImageFormat::Qcow2),
        login_user: String::new(),
    };
    image_sources::set(pool, &source).await?;
    println!("Image {id}: hosts fetch it from {url} and check its SHA-256 {sha256}.");
    Ok(())
}

/// Says what is wrong with a refused command, by flag, and exits 2.
pub fn refuse(error: AppError) -> Box<dyn std::error::Error> {
    match error {
        AppError::Client(problem) => {
            let reasons: Vec<String> = problem
                .errors
                .iter()
                .map(|e| format!("--{}: {}", e.field, e.message))
                .collect();
            let reasons = if reasons.is_empty() {
                vec![problem.message().to_owned()]
            } else {
                reasons
            };
            eprintln!("sparecloud-server: refused:\n  {}", reasons.join("\n  "));
            std::process::exit(2);
        }
        error => error.chain().into(),
    }
}
