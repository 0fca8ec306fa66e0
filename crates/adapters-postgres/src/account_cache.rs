//! The webhook-account cache: every webhook starts by looking up the account its `AccountSid`
//! names (token decrypted, the tenant's settings resolved). Doing that once per account rather
//! than once per webhook takes a round trip, a decryption and a JSON parse off the hot path, and
//! lets a webhook still be verified while the database is down.
//!
//! Freshness: an entry is used for at most the configured TTL; changes reach every instance
//! sooner through `LISTEN conversa_webhook_accounts` (triggers on accounts, features and tenants
//! notify with the tenant's id), and this instance's own writes mark the tenant's entries stale
//! at once. A stale entry is not used while the database answers; it is used, instead of
//! failing, when the database cannot answer, so a spooled webhook was verified with the last
//! token the database gave.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use domain::{AccountSid, OwnerId};
use ports::{StoreError, WebhookAccount};

use crate::listener::Heard;

/// The channel the triggers of migration `000005` notify on.
pub const ACCOUNT_CHANGES_CHANNEL: &str = "conversa_webhook_accounts";

/// The cached accounts, by Account SID. Only accounts that exist are cached: unknown SIDs (a
/// prober's) cost a lookup each but take no memory.
#[derive(Debug)]
pub(crate) struct AccountCache {
    ttl: Duration,
    entries: RwLock<HashMap<AccountSid, Entry>>,
    /// Bumped by every invalidation: a lookup that started before one stores its answer as
    /// already stale, so a change that lands during a lookup is never hidden for a TTL.
    epoch: AtomicU64,
}

#[derive(Debug)]
struct Entry {
    account: Arc<WebhookAccount>,
    fresh_until: Instant,
}

/// What the cache can say about an Account SID without the database.
pub(crate) enum Cached {
    /// Fresh: use it.
    Fresh(Arc<WebhookAccount>),
    /// Known but stale (or never known: `None`): ask the database; the stale entry is what to
    /// fall back on if it cannot answer.
    Stale(Option<Arc<WebhookAccount>>, u64),
}

impl AccountCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self { ttl, entries: RwLock::new(HashMap::new()), epoch: AtomicU64::new(0) }
    }

    pub(crate) fn get(&self, sid: &AccountSid) -> Cached {
        let epoch = self.epoch.load(Ordering::Acquire);
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        match entries.get(sid) {
            Some(entry) if entry.fresh_until > Instant::now() => Cached::Fresh(entry.account.clone()),
            Some(entry) => Cached::Stale(Some(entry.account.clone()), epoch),
            None => Cached::Stale(None, epoch),
        }
    }

    /// Records what the database said, as of a lookup that started at `epoch`.
    pub(crate) fn put(&self, sid: &AccountSid, account: Option<&Arc<WebhookAccount>>, epoch: u64) {
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match account {
            None => {
                entries.remove(sid);
            }
            Some(account) => {
                let now = Instant::now();
                let unchanged = self.epoch.load(Ordering::Acquire) == epoch;
                let fresh_until = if unchanged { now + self.ttl } else { now };
                entries.insert(sid.clone(), Entry { account: account.clone(), fresh_until });
            }
        }
    }

    /// Marks the tenant's entries stale (`None`: every entry).
    pub(crate) fn invalidate(&self, owner_id: Option<OwnerId>) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let now = Instant::now();
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for entry in entries.values_mut() {
            if owner_id.is_none_or(|owner| entry.account.credentials.account.owner_id == owner) {
                entry.fresh_until = now;
            }
        }
    }
}

/// Looks up through the cache: fresh entry, else the database, else (database unavailable) the
/// stale entry.
pub(crate) async fn cached_lookup<F>(
    cache: &AccountCache,
    sid: &AccountSid,
    load: F,
) -> Result<Option<Arc<WebhookAccount>>, StoreError>
where
    F: Future<Output = Result<Option<Arc<WebhookAccount>>, StoreError>>,
{
    let (stale, epoch) = match cache.get(sid) {
        Cached::Fresh(account) => return Ok(Some(account)),
        Cached::Stale(stale, epoch) => (stale, epoch),
    };
    match load.await {
        Ok(found) => {
            cache.put(sid, found.as_ref(), epoch);
            Ok(found)
        }
        Err(StoreError::Unavailable(why)) => match stale {
            Some(account) => {
                tracing::debug!(account_sid = sid.as_str(), %why, "database unavailable; using the cached account");
                Ok(Some(account))
            }
            None => Err(StoreError::Unavailable(why)),
        },
        Err(other) => Err(other),
    }
}

/// Listens for account changes on `url` until the task is aborted. Everything is marked stale
/// whenever the connection is (re)established or lost, since notifications sent while it was
/// down are lost.
pub(crate) async fn listen(cache: Arc<AccountCache>, url: String) {
    crate::listener::listen(url, ACCOUNT_CHANGES_CHANNEL, move |heard| match heard {
        // A payload that is not a tenant id (hand-sent) invalidates all.
        Heard::Notification(payload) => cache.invalidate(payload.parse().ok()),
        Heard::Connected | Heard::Lost => cache.invalidate(None),
    })
    .await;
}
