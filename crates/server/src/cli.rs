//! The server's commands besides serving: `partner add`.

use crate::clock::Clock;
use crate::config::PartnerCommand;
use crate::db::Pool;
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

/// Says what is wrong with a refused command, by flag, and exits 2.
pub fn refuse(error: AppError) -> Box<dyn std::error::Error> {
    match error {
        AppError::Client(problem) => {
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
        error => error.chain().into(),
    }
}
