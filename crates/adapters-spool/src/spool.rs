//! [`RedbSpool`]: the async adapter over the blocking store.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ports::{SpoolError, SpoolSeq, SpoolStats, SpooledWebhook, WebhookSpool};

use crate::error::SpoolOpenError;
use crate::settings::SpoolSettings;
use crate::store::{self, Failure, Store};

/// redb's page cache is a ceiling, filled on demand; its default (1 GiB) is sized for a
/// database, not for a spool that is read once, front to back.
const CACHE_BYTES: usize = 32 << 20;

/// A [`WebhookSpool`] in one redb file. Cheap to clone: clones share the open database.
#[derive(Clone, Debug)]
pub struct RedbSpool {
    store: Arc<Store>,
    path: Arc<PathBuf>,
}

/// An entry set aside by [`WebhookSpool::bury`], for an operator to look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuriedWebhook {
    /// The entry, as it was waiting.
    pub webhook: SpooledWebhook,
    /// Why it can never be replayed.
    pub reason: String,
    /// When it was buried (to the microsecond).
    pub buried_at: DateTime<Utc>,
}

impl RedbSpool {
    /// Opens the spool in `settings.dir` (created if missing), or creates it. An existing file
    /// keeps its entries, dead letters and sequence numbering; if the process died mid-commit,
    /// redb rolls back to the last committed transaction (which may take a moment on a large
    /// file).
    ///
    /// Blocking: call it at start-up, before serving, or from `spawn_blocking`.
    ///
    /// # Errors
    /// [`SpoolOpenError::CreateDir`] when the directory cannot be created;
    /// [`SpoolOpenError::Open`] when the file cannot be opened as a redb database, including
    /// when another `RedbSpool` (in this process or another) has it open;
    /// [`SpoolOpenError::Init`] when its tables cannot be created.
    pub fn open(settings: SpoolSettings) -> Result<Self, SpoolOpenError> {
        fs::create_dir_all(&settings.dir)
            .map_err(|source| SpoolOpenError::CreateDir { path: settings.dir.clone(), source })?;
        let path = settings.file_path();
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            // The v3 format is the only one redb 3 reads: an upgrade of the crate then needs
            // no migration of spools written by this version.
            .create_with_file_format_v3(true)
            .create(&path)
            .map_err(|source| SpoolOpenError::Open { path: path.clone(), source: Box::new(source) })?;
        let store = Store::new(db, settings.max_bytes)
            .map_err(|source| SpoolOpenError::Init { path: path.clone(), source })?;
        Ok(Self { store: Arc::new(store), path: Arc::new(path) })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Up to `limit` dead letters, in the order they were pushed.
    ///
    /// # Errors
    /// [`SpoolError::Storage`].
    pub async fn buried(&self, limit: usize) -> Result<Vec<(SpoolSeq, BuriedWebhook)>, SpoolError> {
        self.run("list dead letters", move |store| {
            store
                .buried(limit)?
                .into_iter()
                .map(|(seq, letter)| {
                    let buried_at =
                        DateTime::from_timestamp_micros(letter.buried_at_micros).ok_or_else(|| {
                            Failure::Corrupt(format!("dead letter {seq} has an impossible burial time"))
                        })?;
                    let webhook = store::decode(seq, &letter.entry)?;
                    Ok((SpoolSeq(seq), BuriedWebhook { webhook, reason: letter.reason, buried_at }))
                })
                .collect()
        })
        .await
    }

    /// Runs a store operation on tokio's blocking pool and tells its failure in the port's
    /// terms. The operation runs to its end even if the caller stops waiting.
    async fn run<T, F>(&self, operation: &'static str, f: F) -> Result<T, SpoolError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, Failure> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        let outcome = tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| SpoolError::Storage(format!("{operation}: the spool task failed: {e}")))?;
        outcome.map_err(|failure| match failure {
            Failure::Full => SpoolError::Full,
            Failure::Redb(e) => SpoolError::Storage(format!("{operation}: {e}")),
            Failure::Corrupt(message) => SpoolError::Storage(format!("{operation}: {message}")),
        })
    }
}

#[async_trait]
impl WebhookSpool for RedbSpool {
    async fn push(&self, webhook: SpooledWebhook) -> Result<SpoolSeq, SpoolError> {
        let entry = serde_json::to_vec(&webhook)
            .map_err(|e| SpoolError::Storage(format!("push: cannot serialize the webhook: {e}")))?;
        self.run("push", move |store| store.push(&entry)).await
    }

    async fn oldest(&self, limit: usize) -> Result<Vec<(SpoolSeq, SpooledWebhook)>, SpoolError> {
        self.run("read oldest", move |store| {
            store
                .oldest(limit)?
                .into_iter()
                .map(|(seq, entry)| Ok((SpoolSeq(seq), store::decode(seq, &entry)?)))
                .collect()
        })
        .await
    }

    async fn remove(&self, seqs: Vec<SpoolSeq>) -> Result<(), SpoolError> {
        self.run("remove", move |store| store.remove(&seqs)).await
    }

    async fn bury(&self, seq: SpoolSeq, reason: String) -> Result<(), SpoolError> {
        // The adapter's clock: the port's `bury` takes no time, and the burial time is only
        // for an operator reading the dead letters.
        let buried_at = Utc::now();
        self.run("bury", move |store| store.bury(seq, &reason, buried_at)).await
    }

    async fn stats(&self) -> Result<SpoolStats, SpoolError> {
        self.run("stats", Store::stats).await
    }
}
