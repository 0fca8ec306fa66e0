//! The blocking core: the tables, the transactions and the byte counter.
//!
//! Every function here blocks on file I/O (and `push`, `remove` and `bury` on `fsync`); the
//! async adapter runs them on tokio's blocking pool.

use chrono::{DateTime, Utc};
use ports::{SpoolSeq, SpoolStats, SpooledWebhook};
use redb::{Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition, WriteTransaction};
use serde::Deserialize;

/// The waiting entries: sequence number -> the entry as JSON.
const WAITING: TableDefinition<u64, &[u8]> = TableDefinition::new("waiting");
/// The dead letters: sequence number -> (the entry's JSON as it was waiting, the reason,
/// when it was buried in microseconds since the Unix epoch).
const DEAD_LETTERS: TableDefinition<u64, (&[u8], &str, i64)> = TableDefinition::new("dead_letters");
/// Counters kept in the same transactions as the entries.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// The sequence number the next push takes; never goes down, so a seq is never reused.
const NEXT_SEQ: &str = "next_seq";
/// The sum of the lengths of the waiting entries' JSON: what the bound counts.
const WAITING_BYTES: &str = "waiting_bytes";
/// The first sequence number of a new spool.
const FIRST_SEQ: u64 = 1;

/// Why an operation of the store failed, before it is told to the port's caller.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The entry does not fit under the bound.
    Full,
    /// redb failed (boxed: its error is large, and this is the cold path).
    Redb(Box<redb::Error>),
    /// The data is not what this crate wrote (or the sequence numbers ran out).
    Corrupt(String),
}

macro_rules! from_redb {
    ($($error:ty),*) => {$(
        impl From<$error> for Failure {
            fn from(error: $error) -> Self {
                Self::Redb(boxed(error))
            }
        }
    )*};
}
from_redb!(redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError);

impl From<Box<redb::Error>> for Failure {
    fn from(error: Box<redb::Error>) -> Self {
        Self::Redb(error)
    }
}

/// A buried entry as stored, before its JSON is decoded.
pub(crate) struct DeadLetter {
    pub(crate) entry: Vec<u8>,
    pub(crate) reason: String,
    pub(crate) buried_at_micros: i64,
}

/// Only the field `stats` needs, so it does not decode the whole oldest entry.
#[derive(Deserialize)]
struct ReceivedAt {
    received_at: DateTime<Utc>,
}

/// The database and its bound.
#[derive(Debug)]
pub(crate) struct Store {
    db: Database,
    max_bytes: u64,
}

impl Store {
    /// Wraps an opened database, creating the tables on first use so that read transactions
    /// always find them.
    pub(crate) fn new(db: Database, max_bytes: u64) -> Result<Self, Box<redb::Error>> {
        let store = Self { db, max_bytes };
        let txn = begin_write(&store.db)?;
        txn.open_table(WAITING).map_err(boxed)?;
        txn.open_table(DEAD_LETTERS).map_err(boxed)?;
        txn.open_table(META).map_err(boxed)?;
        txn.commit().map_err(boxed)?;
        Ok(store)
    }

    /// Appends an entry (already serialized) under the next sequence number, unless it would
    /// take the waiting bytes past the bound; then nothing is written.
    pub(crate) fn push(&self, entry: &[u8]) -> Result<SpoolSeq, Failure> {
        let entry_len = entry.len() as u64;
        let txn = begin_write(&self.db)?;
        let seq = {
            let mut meta = txn.open_table(META)?;
            let bytes = meta.get(WAITING_BYTES)?.map_or(0, |v| v.value());
            let fits = bytes.checked_add(entry_len).is_some_and(|total| total <= self.max_bytes);
            if !fits {
                drop(meta);
                txn.abort()?;
                return Err(Failure::Full);
            }
            let seq = meta.get(NEXT_SEQ)?.map_or(FIRST_SEQ, |v| v.value());
            let next = seq
                .checked_add(1)
                .ok_or_else(|| Failure::Corrupt("the spool's sequence numbers ran out".to_owned()))?;
            txn.open_table(WAITING)?.insert(seq, entry)?;
            meta.insert(NEXT_SEQ, next)?;
            meta.insert(WAITING_BYTES, bytes + entry_len)?;
            seq
        };
        txn.commit()?;
        Ok(SpoolSeq(seq))
    }

    /// Up to `limit` waiting entries in increasing sequence order, still serialized.
    pub(crate) fn oldest(&self, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, Failure> {
        let txn = self.db.begin_read()?;
        let waiting = txn.open_table(WAITING)?;
        let mut entries = Vec::with_capacity(limit.min(1024));
        for row in waiting.range::<u64>(..)?.take(limit) {
            let (seq, entry) = row?;
            entries.push((seq.value(), entry.value().to_vec()));
        }
        Ok(entries)
    }

    /// Deletes waiting entries in one transaction; missing ones are skipped (and when none
    /// was there, nothing is committed: no fsync).
    pub(crate) fn remove(&self, seqs: &[SpoolSeq]) -> Result<(), Failure> {
        let txn = begin_write(&self.db)?;
        let mut removed_bytes = 0;
        let mut removed_any = false;
        {
            let mut waiting = txn.open_table(WAITING)?;
            for seq in seqs {
                if let Some(entry) = waiting.remove(seq.0)? {
                    removed_bytes += entry.value().len() as u64;
                    removed_any = true;
                }
            }
        }
        if removed_any {
            subtract_bytes(&txn, removed_bytes)?;
            txn.commit()?;
        } else {
            txn.abort()?;
        }
        Ok(())
    }

    /// Moves a waiting entry, byte for byte, to the dead letters with the reason, in one
    /// transaction; a missing one is a no-op.
    pub(crate) fn bury(&self, seq: SpoolSeq, reason: &str, buried_at: DateTime<Utc>) -> Result<(), Failure> {
        let txn = begin_write(&self.db)?;
        let removed = txn.open_table(WAITING)?.remove(seq.0)?.map(|entry| entry.value().to_vec());
        match removed {
            Some(entry) => {
                txn.open_table(DEAD_LETTERS)?
                    .insert(seq.0, (entry.as_slice(), reason, buried_at.timestamp_micros()))?;
                subtract_bytes(&txn, entry.len() as u64)?;
                txn.commit()?;
            }
            None => txn.abort()?,
        }
        Ok(())
    }

    /// Depth, bytes, the oldest entry's reception time and the dead-letter count, from one
    /// snapshot: two O(1) lengths, one counter and one O(log n) lookup.
    pub(crate) fn stats(&self) -> Result<SpoolStats, Failure> {
        let txn = self.db.begin_read()?;
        let waiting = txn.open_table(WAITING)?;
        let oldest_received_at = match waiting.first()? {
            Some((seq, entry)) => Some(
                serde_json::from_slice::<ReceivedAt>(entry.value())
                    .map_err(|e| corrupt_entry(seq.value(), &e))?
                    .received_at,
            ),
            None => None,
        };
        let bytes = txn.open_table(META)?.get(WAITING_BYTES)?.map_or(0, |v| v.value());
        Ok(SpoolStats {
            depth: waiting.len()?,
            bytes,
            oldest_received_at,
            buried: txn.open_table(DEAD_LETTERS)?.len()?,
        })
    }

    /// Up to `limit` dead letters in increasing sequence order, still serialized.
    pub(crate) fn buried(&self, limit: usize) -> Result<Vec<(u64, DeadLetter)>, Failure> {
        let txn = self.db.begin_read()?;
        let dead = txn.open_table(DEAD_LETTERS)?;
        let mut letters = Vec::with_capacity(limit.min(1024));
        for row in dead.range::<u64>(..)?.take(limit) {
            let (seq, letter) = row?;
            let (entry, reason, buried_at_micros) = letter.value();
            letters.push((
                seq.value(),
                DeadLetter { entry: entry.to_vec(), reason: reason.to_owned(), buried_at_micros },
            ));
        }
        Ok(letters)
    }
}

/// Every write transaction of the spool starts here.
fn begin_write(db: &Database) -> Result<WriteTransaction, Box<redb::Error>> {
    let mut txn = db.begin_write().map_err(boxed)?;
    // Immediate: `commit` returns only after fsync. A push is acknowledged to Twilio, which
    // never retries, right after it returns, so a commit that a crash or power loss could
    // still undo would lose a customer's message. It is redb's default; said here so that
    // nobody "optimises" it to `Eventual` without reading this.
    txn.set_durability(Durability::Immediate);
    Ok(txn)
}

/// Boxes a redb error: they are large, and errors are the cold path.
fn boxed(error: impl Into<redb::Error>) -> Box<redb::Error> {
    Box::new(error.into())
}

/// Takes a removed entry's length off the waiting bytes, in the removing transaction.
fn subtract_bytes(txn: &WriteTransaction, entry_len: u64) -> Result<(), Failure> {
    let mut meta = txn.open_table(META)?;
    let bytes = meta.get(WAITING_BYTES)?.map_or(0, |v| v.value());
    let left = bytes.checked_sub(entry_len).ok_or_else(|| {
        Failure::Corrupt(format!("the spool counts {bytes} bytes but held an entry of {entry_len}"))
    })?;
    meta.insert(WAITING_BYTES, left)?;
    Ok(())
}

/// The failure for an entry whose JSON does not decode.
pub(crate) fn corrupt_entry(seq: u64, error: &serde_json::Error) -> Failure {
    Failure::Corrupt(format!("spool entry {seq} does not decode: {error}"))
}

/// Decodes an entry as [`push`](Store::push) stored it.
pub(crate) fn decode(seq: u64, entry: &[u8]) -> Result<SpooledWebhook, Failure> {
    serde_json::from_slice(entry).map_err(|e| corrupt_entry(seq, &e))
}
