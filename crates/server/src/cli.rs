//! The server's commands besides serving: `partner add`, `image source`,
//! `backup`, `restore`.

use crate::clock::Clock;
use crate::config::{ImageCommand, PartnerCommand};
use crate::db::{self, Pool};
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

/// Copies the SQLite database to `to` with `VACUUM INTO`: one read
/// transaction, so the copy is consistent while the server keeps writing.
/// The file is created 0600 (it holds password hashes).
pub async fn backup(pool: &Pool, to: &std::path::Path) -> Result<(), String> {
    if !db::is_sqlite(pool) {
        return Err("this database is PostgreSQL: back it up with pg_dump (see the README)".into());
    }
    if to.exists() {
        return Err(format!(
            "{} exists already: choose a new file",
            to.display()
        ));
    }
    sqlx::query("VACUUM INTO $1")
        .bind(to.to_string_lossy().into_owned())
        .execute(pool)
        .await
        .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict {}: {e}", to.display()))?;
    Ok(())
}

/// Makes the SQLite database at `database_url`, which must not exist yet,
/// from a backup: the backup is checked (SQLite's integrity check, and that
/// it is a Sparecloud database), copied in, then migrated to this version.
pub async fn restore(database_url: &str, from: &std::path::Path) -> Result<Pool, String> {
    let Some(target) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| std::path::PathBuf::from(rest.split('?').next().unwrap_or_default()))
    else {
        return Err("the database is PostgreSQL: restore it with psql or pg_restore".into());
    };
    if target.exists() {
        return Err(format!(
            "{} exists already: restore into a new file (stop the server, move the old one away)",
            target.display()
        ));
    }
    // Read-only: checking a backup never changes it.
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut backup = sqlx::AnyConnection::connect(&format!("sqlite://{}?mode=ro", from.display()))
        .await
        .map_err(|e| format!("cannot open {}: {e}", from.display()))?;
    let (integrity,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(&mut backup)
        .await
        .map_err(|e| format!("{} is not an SQLite database: {e}", from.display()))?;
    let sparecloud: Result<(i64,), _> = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut backup)
        .await;
    let _ = backup.close().await;
    if integrity != "ok" || sparecloud.is_err() {
        return Err(format!(
            "{} is not a sound Sparecloud backup ({integrity})",
            from.display()
        ));
    }
    // Copied next to the target, then renamed: never a half-written database.
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    }
    let staging = target.with_extension("restoring");
    std::fs::copy(from, &staging).map_err(|e| format!("cannot copy the backup: {e}"))?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot restrict the copy: {e}"))?;
    std::fs::rename(&staging, &target).map_err(|e| format!("cannot move the copy in: {e}"))?;
    let pool = db::connect(database_url)
        .await
        .map_err(|e| format!("cannot open the restored database: {e}"))?;
    db::migrate(&pool)
        .await
        .map_err(|e| format!("cannot migrate the restored database: {e}"))?;
    Ok(pool)
}
