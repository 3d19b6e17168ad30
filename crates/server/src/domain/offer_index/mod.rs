//! Offer search, served from memory.
//!
//! Counting the matches of an arbitrary filter over 100,000 offers costs an
//! SQL database milliseconds per request; a pass over compact keys in memory
//! costs a tenth of that. So each server process keeps the listed offers:
//! per sort order an array of small keys holding what filters look at, and
//! per offer its JSON as served. One sequential pass over a sort's array
//! yields both the total and the page.
//!
//! The database stays the truth. `capacity::refresh_offers` (and anything
//! else that changes a listing) stamps the offers it touches with the next
//! value of the `offer_revisions` counter, in the same transaction. Stamps
//! commit in order (one writer at a time on SQLite, the counter's row lock
//! on PostgreSQL), so "stamped after the revision I hold" is exactly what
//! changed. A search brings the index up to date first when this process
//! has changed offers since (a hint) or `RECHECK` has passed (changes by
//! other server processes): one read of the counter, and a reload of the
//! offers stamped since.

mod snapshot;

use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::db::Pool;
pub use snapshot::{Filter, Search, Snapshot, Unknown};

/// How stale another process's changes may look.
const RECHECK: Duration = Duration::from_millis(250);

/// Bumped when this process changes offers, so that its next search looks
/// at the database before answering (read your own writes).
static HINT: AtomicU64 = AtomicU64::new(0);

/// Called by `capacity::refresh_offers` and `capacity::stamp_seller_offers`
/// after they stamp offers. Before the commit: a search that reads the
/// database in between waits at most `RECHECK` for the change.
pub fn offers_changed() {
    HINT.fetch_add(1, AtomicOrdering::SeqCst);
}

/// The index of one server process.
#[derive(Default)]
pub struct OfferIndex {
    current: RwLock<Option<Published>>,
    /// One update at a time; the others wait for its result.
    updating: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Published {
    snapshot: Arc<Snapshot>,
    hint: u64,
    checked_at: Instant,
}

impl Published {
    fn fresh(&self, hint: u64) -> bool {
        self.hint == hint && self.checked_at.elapsed() < RECHECK
    }
}

impl OfferIndex {
    /// The listed offers, up to date with this process's own changes and
    /// at most `RECHECK` behind other processes'.
    pub async fn snapshot(&self, db: &Pool) -> Result<Arc<Snapshot>, sqlx::Error> {
        let hint = HINT.load(AtomicOrdering::SeqCst);
        if let Some(published) = self.published()
            && published.fresh(hint)
        {
            return Ok(published.snapshot);
        }
        let _updating = self.updating.lock().await;
        let published = self.published();
        if let Some(published) = &published
            && published.fresh(hint)
        {
            return Ok(published.snapshot.clone());
        }
        let snapshot = match published {
            None => Arc::new(Snapshot::load(db).await?),
            Some(published) => published.snapshot.updated(db).await?,
        };
        let published = Published {
            snapshot: snapshot.clone(),
            hint,
            checked_at: Instant::now(),
        };
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(published);
        Ok(snapshot)
    }

    /// Whether the index has been built once: until then a search waits
    /// for the whole build (5 s with 100,000 offers).
    pub fn is_built(&self) -> bool {
        self.published().is_some()
    }

    fn published(&self) -> Option<Published> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// What the filters of one offer look at, and where the offer is.
pub(super) async fn current_revision(db: &Pool) -> Result<i64, sqlx::Error> {
    let (revision,): (i64,) = sqlx::query_as("SELECT n FROM offer_revisions WHERE id = 1")
        .fetch_one(db)
        .await?;
    Ok(revision)
}
