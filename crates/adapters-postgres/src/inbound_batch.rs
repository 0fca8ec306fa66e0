//! Group commit of inbound messages: webhooks that arrive while others are being stored are
//! stored together, in one statement, one round trip and one commit.
//!
//! Most of what one message costs PostgreSQL is not its rows but the transaction around them
//! (the protocol exchange, the snapshot, the commit and its WAL flush): stored alone, a webhook
//! costs about twice the database time it costs in a batch of 8 to 16. So the webhook's store
//! call hands its message to a queue, and a few flusher tasks each take whatever has queued
//! (at most [`InboundBatching::max_batch`]) and store it with [`ReceiveInboundBatch`]. Nothing
//! waits for a batch to fill: a flusher takes what is there, so a lone webhook is stored at
//! once, alone, by the single-message statement; batches form only when webhooks arrive faster
//! than one flusher stores them.
//!
//! A batch is one transaction: it commits or rolls back whole. When it fails (a deadlock, the
//! same MessageSid committed concurrently, a value the database refuses), its messages are
//! stored again one by one, each in its own transaction, so each gets its own answer and one
//! bad message never fails another. A batch locks its conversations in one order (tenant,
//! channel, numbers; arrival order within a conversation), so two concurrent batches never
//! wait for each other in a cycle.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use ports::StoreError;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::map_diesel;
use crate::pool::PgPool;
use crate::prepared::{ReceiveInbound, ReceiveInboundBatch, ReceivedInboundBatchRow, ReceivedInboundRow};
use crate::rows::{ConversationRow, MessageRow};

/// How inbound messages are grouped (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundBatching {
    /// Tasks storing batches concurrently, each on its own pooled connection while it stores.
    pub flushers: usize,
    /// The most messages one statement stores (1: every message alone, no batching).
    pub max_batch: usize,
}

impl Default for InboundBatching {
    /// Two flushers, batches of up to 32. Measured on two cores at 32 connections
    /// (`scripts/bench-webhook`): two flushers keep PostgreSQL busy while one of them is
    /// between round trips; one leaves it idle meanwhile, and more make smaller batches that
    /// cost more per message (1 380, 1 640–1 780, 1 400 and 1 530 webhooks/s with 1, 2, 3 and
    /// 8 flushers).
    fn default() -> Self {
        Self { flushers: 2, max_batch: 32 }
    }
}

/// What the batcher did, since the start (for `/metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InboundBatchStats {
    /// Statements that stored more than one message.
    pub batches: u64,
    /// Messages stored by those statements.
    pub batched_messages: u64,
    /// Messages stored alone (nothing else was queued).
    pub single_messages: u64,
    /// Batches that failed and were stored again one message at a time.
    pub fallbacks: u64,
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    batched_messages: AtomicU64,
    single_messages: AtomicU64,
    fallbacks: AtomicU64,
}

/// One message waiting to be stored, and where its answer goes.
struct Job {
    candidate: ConversationRow,
    message: MessageRow,
    window: i32,
    at: DateTime<Utc>,
    reply: oneshot::Sender<Result<ReceivedInboundRow, StoreError>>,
}

impl Job {
    fn statement(&self) -> ReceiveInbound<'_> {
        ReceiveInbound::new(&self.candidate, &self.message, self.window, self.at)
    }

    /// The order batches lock conversations in: the active-conversation key.
    fn lock_key(&self) -> (&uuid::Uuid, &str, &str, &str) {
        let c = &self.candidate;
        (&c.owner_id, &c.channel, &c.business_phone, &c.customer_phone)
    }
}

/// The queue of inbound messages and its flusher tasks. The tasks end when the last handle
/// (the last clone of the store) is dropped.
#[derive(Clone)]
pub(crate) struct InboundBatcher {
    jobs: mpsc::Sender<Job>,
    counters: Arc<Counters>,
}

impl InboundBatcher {
    /// Starts `settings.flushers` flusher tasks on the current tokio runtime.
    pub(crate) fn start(pool: PgPool, settings: InboundBatching) -> Self {
        let max_batch = settings.max_batch.max(1);
        // Room for a few batches per flusher; a webhook waits here (within its deadline) when
        // the database falls that far behind.
        let (jobs, queue) = mpsc::channel(max_batch * settings.flushers.max(1) * 4);
        let queue = Arc::new(Mutex::new(queue));
        let counters = Arc::new(Counters::default());
        for _ in 0..settings.flushers.max(1) {
            tokio::spawn(flush_forever(pool.clone(), queue.clone(), max_batch, counters.clone()));
        }
        Self { jobs, counters }
    }

    /// Stores one message (in a batch with whatever else is queued) and answers its row.
    pub(crate) async fn receive(
        &self,
        candidate: ConversationRow,
        message: MessageRow,
        window: i32,
        at: DateTime<Utc>,
    ) -> Result<ReceivedInboundRow, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the inbound message queue has stopped".to_owned());
        self.jobs.send(Job { candidate, message, window, at, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    pub(crate) fn stats(&self) -> InboundBatchStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        InboundBatchStats {
            batches: read(&self.counters.batches),
            batched_messages: read(&self.counters.batched_messages),
            single_messages: read(&self.counters.single_messages),
            fallbacks: read(&self.counters.fallbacks),
        }
    }
}

async fn flush_forever(
    pool: PgPool,
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    loop {
        let mut batch = {
            // One flusher at a time takes from the queue: it waits for the first message, then
            // takes what else is there without waiting.
            let mut queue = queue.lock().await;
            let Some(first) = queue.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match queue.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        // A webhook past its deadline has spooled its message already: storing it too would
        // be wasted work (the spool's replay is idempotent either way).
        batch.retain(|job| !job.reply.is_closed());
        if !batch.is_empty() {
            flush(&pool, batch, &counters).await;
        }
    }
}

async fn flush(pool: &PgPool, mut batch: Vec<Job>, counters: &Counters) {
    let mut conn = match pool.get().await {
        Ok(conn) => conn,
        Err(error) => {
            for job in batch {
                let _ = job.reply.send(Err(StoreError::Unavailable(error.to_string())));
            }
            return;
        }
    };
    if batch.len() == 1 {
        counters.single_messages.fetch_add(1, Ordering::Relaxed);
        store_each(&mut conn, batch).await;
        return;
    }
    // Stable: messages of one conversation keep their arrival order.
    batch.sort_by(|a, b| a.lock_key().cmp(&b.lock_key()));
    let mut statement = ReceiveInboundBatch::default();
    for job in &batch {
        statement.push(&job.statement());
    }
    match statement.load::<ReceivedInboundBatchRow>(&mut *conn).await {
        Ok(rows) if rows.len() == batch.len() => {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters.batched_messages.fetch_add(rows.len() as u64, Ordering::Relaxed);
            // Ordered by ordinal: row i is job i's.
            for (job, (_, conversation, message, created, duplicate, senders, bodies, times)) in
                batch.into_iter().zip(rows)
            {
                let _ = job.reply.send(Ok((conversation, message, created, duplicate, senders, bodies, times)));
            }
        }
        Ok(rows) => {
            let error = format!("a batch of {} inbound messages returned {} rows", batch.len(), rows.len());
            for job in batch {
                let _ = job.reply.send(Err(StoreError::Corrupt(error.clone())));
            }
        }
        Err(error) => {
            tracing::debug!(%error, size = batch.len(), "inbound batch failed; storing its messages one by one");
            counters.fallbacks.fetch_add(1, Ordering::Relaxed);
            store_each(&mut conn, batch).await;
        }
    }
}

/// Stores each message in its own statement (its own transaction), in order.
async fn store_each(conn: &mut AsyncPgConnection, batch: Vec<Job>) {
    for job in batch {
        let stored = store_one(conn, || job.statement()).await;
        let _ = job.reply.send(stored);
    }
}

/// One message in one statement. The statement raises a serialization failure, rolling itself
/// back, when the same MessageSid was committed concurrently (or the active conversation kept
/// changing): retried once, the second attempt answers it as the duplicate it is.
pub(crate) async fn store_one<'a>(
    conn: &mut AsyncPgConnection,
    statement: impl Fn() -> ReceiveInbound<'a>,
) -> Result<ReceivedInboundRow, StoreError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match statement().get_result::<ReceivedInboundRow>(conn).await {
            Err(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) if attempts < 2 => {}
            other => break other.map_err(map_diesel),
        }
    }
}
