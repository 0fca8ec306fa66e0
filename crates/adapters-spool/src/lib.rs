//! # Conversa's webhook spool on redb
//!
//! The durable local spool behind [`ports::WebhookSpool`]: where the service keeps the Twilio
//! webhooks it accepted while PostgreSQL could not take them, until a drainer replays them,
//! oldest first.
//!
//! The store is [redb](https://www.redb.org), an embedded, pure-Rust, ACID key-value store in one
//! file (`<dir>/webhooks.redb`):
//! - no C toolchain or system library (unlike SQLite through `rusqlite`), no hand-written file
//!   format to get wrong after a torn write, and a maintained project (unlike `sled`);
//! - copy-on-write B-trees with checksummed commit slots: after a crash the file opens at the
//!   last committed transaction, never half of one;
//! - every write here commits with [`redb::Durability::Immediate`], so when
//!   [`push`](ports::WebhookSpool::push) returns `Ok` the entry is on disk.
//!
//! Three tables: the waiting entries by sequence number, the dead letters (entries
//! [buried](ports::WebhookSpool::bury) with a reason), and a small meta table holding the next
//! sequence number and the byte count of the waiting entries. The counters change in the same
//! transaction as the entries, so they cannot drift from them, and
//! [`stats`](ports::WebhookSpool::stats) reads them without scanning.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use adapters_spool::{RedbSpool, SpoolSettings};
//! use ports::WebhookSpool;
//!
//! let spool = RedbSpool::open(SpoolSettings { dir: "/var/lib/conversa/spool".into(), max_bytes: 256 << 20 })?;
//! let stats = spool.stats().await?;
//! println!("{} webhooks waiting", stats.depth);
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod error;
mod settings;
mod spool;
mod store;

pub use error::SpoolOpenError;
pub use settings::SpoolSettings;
pub use spool::{BuriedWebhook, RedbSpool};
