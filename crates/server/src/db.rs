//! The database pool and connections. `sqlx::Any` keeps one code path for SQLite (the
//! embedded default) and PostgreSQL; the SQL is kept portable (`$1`
//! placeholders, BIGINT and TEXT columns).

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyConnection, AnyPool, ConnectOptions};

pub type Pool = AnyPool;
/// One connection or an open transaction (`&mut *tx`): what domain
/// functions that must run inside a caller's transaction take.
pub type Conn = AnyConnection;

/// Connects to `url`. For SQLite the file and its directory are created when
/// missing, and the database is switched to write-ahead logging so readers
/// never wait for the writer.
pub async fn connect(url: &str) -> Result<Pool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    let is_sqlite = url.starts_with("sqlite:");
    let url = if is_sqlite {
        sqlite_url(url)?
    } else {
        url.to_owned()
    };
    let options = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
    let pool = AnyPoolOptions::new()
        .max_connections(if is_sqlite { 8 } else { 16 })
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if is_sqlite {
                    // With WAL, NORMAL syncs at checkpoints instead of at every
                    // commit: never corrupts, but the last commits before a
                    // power loss may roll back (SQLite's recommended pairing).
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    if is_sqlite {
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await?;
    }
    Ok(pool)
}

/// Gives SQLite's query planner fresh statistics (cheap; SQLite's advice
/// for long-lived databases). PostgreSQL analyses by itself.
pub async fn optimize(pool: &Pool) -> Result<(), sqlx::Error> {
    if is_sqlite(pool) {
        sqlx::query("PRAGMA optimize = 0x10002")
            .execute(pool)
            .await?;
    }
    Ok(())
}

/// Adds `mode=rwc` (create when missing) to an SQLite URL and creates the
/// file's directory.
fn sqlite_url(url: &str) -> Result<String, sqlx::Error> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    let is_file = !path.is_empty() && !path.starts_with(":memory:");
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| is_file && !d.as_os_str().is_empty())
    {
        // It holds password hashes: directories made here are the server
        // user's alone, and so is a new database file (SQLite gives its
        // -wal and -shm files the same mode).
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    if is_file && !url.contains("mode=ro") && !Path::new(path).exists() {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Starts a transaction that will write. On SQLite it takes the write lock
/// at once (`BEGIN IMMEDIATE`), waiting for it under the busy timeout: a
/// deferred transaction that reads first fails instead of waiting when it
/// later needs to write. PostgreSQL's row locks need no such help.
pub async fn begin_write(
    pool: &Pool,
) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    if is_sqlite(pool) {
        pool.begin_with("BEGIN IMMEDIATE").await
    } else {
        pool.begin().await
    }
}

/// Whether the database answers.
pub async fn ping(pool: &Pool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(drop)
}

pub fn is_sqlite(pool: &Pool) -> bool {
    pool.connect_options().database_url.scheme() == "sqlite"
}

/// Applies this binary's migrations. A database already migrated by a
/// newer version is refused, untouched: this binary would not know its
/// tables.
pub async fn migrate(pool: &Pool) -> Result<(), sqlx::migrate::MigrateError> {
    let migrator = sqlx::migrate!("./migrations");
    let known = migrator.iter().map(|m| m.version).max().unwrap_or(0);
    if let Some(applied) = newest_applied(pool).await?
        && applied > known
    {
        return Err(sqlx::migrate::MigrateError::Source(
            format!(
                "this database was migrated by a newer Sparecloud (migration {applied}; this \
                 binary knows up to {known}): run that version or newer, or restore a backup \
                 made by this one"
            )
            .into(),
        ));
    }
    migrator.run(pool).await
}

/// The newest migration applied to the database, if it has any.
async fn newest_applied(pool: &Pool) -> Result<Option<i64>, sqlx::Error> {
    let newest: Result<(Option<i64>,), sqlx::Error> =
        sqlx::query_as("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(pool)
            .await;
    match newest {
        Ok((version,)) => Ok(version),
        // A new database: no migrations table yet.
        Err(sqlx::Error::Database(_)) => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_url_asks_for_creation_once() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/db.sqlite");
        let url = format!("sqlite://{}", file.display());
        assert_eq!(sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(file.parent().unwrap().is_dir());
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode(file.parent().unwrap()),
            0o700,
            "the directory is the server's alone"
        );
        assert_eq!(mode(&file), 0o600, "so is the database");
        assert_eq!(
            sqlite_url("sqlite::memory:?cache=shared").unwrap(),
            "sqlite::memory:?cache=shared&mode=rwc"
        );
        assert_eq!(
            sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
    }
}
