//! Group commit of the webhook's statements: inbound messages (and closure detection's
//! verdicts on them) that arrive while others are being stored are stored together, in one
//! statement, one round trip and one commit.
//!
//! Most of what one webhook costs PostgreSQL is not its rows but the transaction around them
//! (the protocol exchange, executor start-up, the snapshot, the commit and its WAL flush):
//! stored alone, a message costs about twice the database time it costs in a batch of 8 to 16.
//! So the store call hands its statement to a queue, and a few flusher tasks each take
//! whatever has queued (at most [`InboundBatching::max_batch`]) and run it as one statement:
//! set-based for inbound messages and closes (ADR 0021: one statement per tenant's part of the
//! batch, see [`parts`], all parts pipelined in the batch's one transaction).
//! Nothing waits for a batch to fill: a flusher takes what is there, so a lone webhook is
//! stored at once, alone, by the single statement; batches form only when webhooks arrive
//! faster than one flusher stores them.
//!
//! A batch is one explicit transaction, committed before anyone is answered (see [`flush`]): it
//! commits or rolls back whole. When it fails (a deadlock, the
//! same MessageSid committed concurrently, a value the database refuses), its statements run
//! again one by one, each in its own transaction, so each gets its own answer and one bad
//! message never fails another. A batch takes its row locks in one order (see
//! [`Grouped::lock_order`]), so two concurrent batches of a kind never wait for each other in
//! a cycle; a rare cycle between kinds is broken by PostgreSQL's deadlock detection, and the
//! batch it fails is stored one by one.

mod closure;
mod inbound;
#[cfg(test)]
mod plans;
mod transaction;

use std::future::{Future, poll_fn};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;

use async_trait::async_trait;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures::future::maybe_done;
use ports::StoreError;
use tokio::sync::{Mutex, mpsc, oneshot};
use uuid::Uuid;

use crate::error::map_diesel;
use crate::pool::PgPool;

pub(crate) use closure::{CloseDetected, ProposeClosure};
pub(crate) use inbound::ReceiveInbound;
use transaction::in_one_round_trip;

/// How the webhook's statements are grouped (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InboundBatching {
    /// Tasks running batches of each kind concurrently, each on a pooled connection while it
    /// runs one.
    pub flushers: usize,
    /// The most statements one batch holds (1: each alone, no batching).
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

/// What group commit of one kind of statement did, since the start (for `/metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Batches that held more than one statement.
    pub batches: u64,
    /// Statements run in those batches.
    pub batched: u64,
    /// Statements run alone (nothing else was queued).
    pub single: u64,
    /// Batches that failed and were run again one statement at a time.
    pub fallbacks: u64,
}

/// What group commit did for each of the webhook's statements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookBatchStats {
    /// Inbound messages.
    pub inbound: BatchStats,
    /// Closure detection's immediate closes.
    pub closes: BatchStats,
    /// Closure detection's pending closures.
    pub proposals: BatchStats,
}

/// The queues of the webhook's statements.
#[derive(Clone)]
pub(crate) struct WebhookGroups {
    pub inbound: GroupCommit<ReceiveInbound>,
    pub closes: GroupCommit<CloseDetected>,
    pub proposals: GroupCommit<ProposeClosure>,
}

impl WebhookGroups {
    /// Starts the flushers of each kind on the current tokio runtime.
    pub(crate) fn start(pool: &PgPool, settings: InboundBatching) -> Self {
        Self {
            inbound: GroupCommit::start(pool.clone(), settings),
            // One flusher for closes: they are a fifth of the webhooks (the farewells), and a
            // second flusher mostly ran them alone, a transaction each; with one they queue
            // into batches (measured: 0.36-0.39 -> 0.39-0.40 of the one-statement limit).
            closes: GroupCommit::start(pool.clone(), InboundBatching { flushers: 1, ..settings }),
            proposals: GroupCommit::start(pool.clone(), settings),
        }
    }

    pub(crate) fn stats(&self) -> WebhookBatchStats {
        WebhookBatchStats {
            inbound: self.inbound.stats(),
            closes: self.closes.stats(),
            proposals: self.proposals.stats(),
        }
    }
}

/// A statement that can run alone or in a batch of its kind, with the same outcome.
#[async_trait]
pub(crate) trait Grouped: Sized + Send + Sync + 'static {
    /// What the statement answers.
    type Row: Send + 'static;

    /// Runs it alone (inside the transaction [`run_alone`] opens). The connection is shared: the
    /// statement is pipelined between that transaction's `BEGIN` and `COMMIT`.
    async fn run_one(&self, conn: &AsyncPgConnection) -> Result<Self::Row, DieselError>;

    /// Runs `batch` in one statement, answering one row per statement, in order (inside the
    /// transaction [`flush`] opens, pipelined as [`Grouped::run_one`] is).
    async fn run_batch(batch: &[Self], conn: &AsyncPgConnection) -> Result<Vec<Self::Row>, DieselError>;

    /// The order a batch runs in: that of the rows it locks, so two batches lock in one order.
    /// Equal for statements on the same row, which keep their arrival order.
    fn lock_order(&self, other: &Self) -> std::cmp::Ordering;
}

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    batched: AtomicU64,
    single: AtomicU64,
    fallbacks: AtomicU64,
}

/// One statement waiting to run, and where its answer goes.
struct Job<S: Grouped> {
    statement: S,
    reply: oneshot::Sender<Result<S::Row, StoreError>>,
}

/// The queue of one kind of statement and its flusher tasks. The tasks end when the last
/// handle (the last clone of the store) is dropped.
pub(crate) struct GroupCommit<S: Grouped> {
    jobs: mpsc::Sender<Job<S>>,
    counters: Arc<Counters>,
}

impl<S: Grouped> Clone for GroupCommit<S> {
    fn clone(&self) -> Self {
        Self { jobs: self.jobs.clone(), counters: self.counters.clone() }
    }
}

impl<S: Grouped> GroupCommit<S> {
    /// Starts `settings.flushers` flusher tasks on the current tokio runtime.
    pub(crate) fn start(pool: PgPool, settings: InboundBatching) -> Self {
        let max_batch = settings.max_batch.max(1);
        let flushers = settings.flushers.max(1);
        // Room for a few batches per flusher; a webhook waits here (within its deadline) when
        // the database falls that far behind.
        let (jobs, queue) = mpsc::channel(max_batch * flushers * 4);
        let queue = Arc::new(Mutex::new(queue));
        let counters = Arc::new(Counters::default());
        for _ in 0..flushers {
            tokio::spawn(flush_forever(pool.clone(), queue.clone(), max_batch, counters.clone()));
        }
        Self { jobs, counters }
    }

    /// Runs `statement` (in a batch with whatever else of its kind is queued) and answers its
    /// row.
    pub(crate) async fn run(&self, statement: S) -> Result<S::Row, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the statement queue has stopped".to_owned());
        self.jobs.send(Job { statement, reply }).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    pub(crate) fn stats(&self) -> BatchStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        BatchStats {
            batches: read(&self.counters.batches),
            batched: read(&self.counters.batched),
            single: read(&self.counters.single),
            fallbacks: read(&self.counters.fallbacks),
        }
    }
}

async fn flush_forever<S: Grouped>(
    pool: PgPool,
    queue: Arc<Mutex<mpsc::Receiver<Job<S>>>>,
    max_batch: usize,
    counters: Arc<Counters>,
) {
    loop {
        let mut batch = {
            // One flusher at a time takes from the queue: it waits for the first statement,
            // then takes what else is there without waiting.
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
        // A webhook past its deadline has spooled its message already: running its statement
        // too would be wasted work (the spool's replay is idempotent either way).
        batch.retain(|job| !job.reply.is_closed());
        if !batch.is_empty() {
            flush(&pool, batch, &counters).await;
        }
    }
}

async fn flush<S: Grouped>(pool: &PgPool, mut batch: Vec<Job<S>>, counters: &Counters) {
    let conn = match pool.get().await {
        Ok(conn) => conn,
        Err(error) => {
            for job in batch {
                let _ = job.reply.send(Err(StoreError::Unavailable(error.to_string())));
            }
            return;
        }
    };
    if batch.len() == 1 {
        counters.single.fetch_add(1, Ordering::Relaxed);
        run_each(&conn, batch).await;
        return;
    }
    // Stable: statements on one row keep their arrival order.
    batch.sort_by(|a, b| a.statement.lock_order(&b.statement));
    let (statements, replies): (Vec<S>, Vec<_>) =
        batch.into_iter().map(|job| (job.statement, job.reply)).unzip();
    // An explicit transaction, for durability: see [`transaction`].
    match in_one_round_trip(&conn, S::run_batch(&statements, &conn)).await {
        Ok(rows) if rows.len() == statements.len() => {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters.batched.fetch_add(rows.len() as u64, Ordering::Relaxed);
            for (reply, row) in replies.into_iter().zip(rows) {
                let _ = reply.send(Ok(row));
            }
        }
        Ok(rows) => {
            let error = format!("a batch of {} statements answered {} rows", statements.len(), rows.len());
            for reply in replies {
                let _ = reply.send(Err(StoreError::Corrupt(error.clone())));
            }
        }
        Err(error) => {
            tracing::debug!(%error, size = statements.len(), "batch failed; running its statements one by one");
            counters.fallbacks.fetch_add(1, Ordering::Relaxed);
            let jobs = statements.into_iter().zip(replies).map(|(statement, reply)| Job { statement, reply });
            run_each(&conn, jobs.collect()).await;
        }
    }
}

/// Runs each statement alone (its own transaction), in order.
async fn run_each<S: Grouped>(conn: &AsyncPgConnection, batch: Vec<Job<S>>) {
    for job in batch {
        let row = run_alone(conn, &job.statement).await;
        let _ = job.reply.send(row);
    }
}

/// Runs one statement in a transaction of its own, committed (durably) when this returns: see
/// [`transaction`] for why not the statement's implicit one. The webhook's functions raise a
/// serialization failure, rolling back, when the same MessageSid was committed concurrently
/// (or the active conversation kept changing): retried once, the second attempt answers it
/// as the duplicate it is.
async fn run_alone<S: Grouped>(conn: &AsyncPgConnection, statement: &S) -> Result<S::Row, StoreError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        match in_one_round_trip(conn, statement.run_one(conn)).await {
            Err(DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _)) if attempts < 2 => {}
            other => break other.map_err(map_diesel),
        }
    }
}

/// A batch's rows, each behind its statement's ordinal, as the statements' own rows, checked to
/// be in the statements' order (the batch statements order by ordinal).
fn in_order<R>(rows: Vec<(i64, R)>) -> Result<Vec<R>, DieselError> {
    rows.into_iter()
        .zip(1..)
        .map(|((ordinal, row), expected)| {
            if ordinal == expected {
                Ok(row)
            } else {
                let order = format!("batch row {ordinal} where row {expected} was expected");
                Err(DieselError::DeserializationError(order.into()))
            }
        })
        .collect()
}

/// A set-based statement over one part of a batch (see [`run_in_parts`]).
#[async_trait]
trait PartStatement: Default + Send + Sync {
    /// The statement it stands for, once per row.
    type One: Sync;
    /// What it answers per statement, in the order they were pushed.
    type Row: Send;

    /// Appends one statement's values.
    fn push(&mut self, one: &Self::One);

    /// Runs it (pipelined in the batch's transaction: its queries go out when first polled).
    async fn run(&self, conn: &AsyncPgConnection) -> Result<Vec<Self::Row>, DieselError>;
}

/// Runs `batch` as [`parts`] of statements that `fit` together, one `P` each, all pipelined in
/// the current transaction, and answers the rows in `batch`'s order.
async fn run_in_parts<P: PartStatement>(
    batch: &[P::One],
    fit: impl Fn(&P::One, &P::One) -> bool,
    conn: &AsyncPgConnection,
) -> Result<Vec<P::Row>, DieselError> {
    let parts = parts(batch, fit);
    let statements: Vec<P> = parts
        .iter()
        .map(|part| {
            let mut statement = P::default();
            for &position in part {
                statement.push(&batch[position]);
            }
            statement
        })
        .collect();
    let answers = join_in_order(statements.iter().map(|statement| statement.run(conn)).collect()).await;
    let answers = answers.into_iter().collect::<Result<Vec<_>, _>>()?;
    reassemble(batch.len(), &parts, answers)
}

/// `batch` (positions into it) as parts whose statements all `fit` together (one set-based
/// statement each): each statement joins the first part after the last one holding a statement
/// it does not fit with, so a statement never runs before an earlier one it does not fit with
/// (on the same row, say): such statements keep their order.
fn parts<S>(batch: &[S], fit: impl Fn(&S, &S) -> bool) -> Vec<Vec<usize>> {
    let mut parts: Vec<Vec<usize>> = Vec::new();
    for (position, statement) in batch.iter().enumerate() {
        let after = parts
            .iter()
            .rposition(|part| part.iter().any(|&held| !fit(&batch[held], statement)))
            .map_or(0, |last| last + 1);
        match parts.get_mut(after) {
            Some(part) => part.push(position),
            None => parts.push(vec![position]),
        }
    }
    parts
}

/// The rows of a batch run as [`parts`]: each part's rows (in its order) put back at the
/// positions its statements hold in the batch.
fn reassemble<R>(size: usize, parts: &[Vec<usize>], answers: Vec<Vec<R>>) -> Result<Vec<R>, DieselError> {
    let mut rows: Vec<Option<R>> = std::iter::repeat_with(|| None).take(size).collect();
    for (part, answer) in parts.iter().zip(answers) {
        for (&position, row) in part.iter().zip(answer) {
            rows[position] = Some(row);
        }
    }
    rows.into_iter()
        .map(|row| {
            row.ok_or_else(|| DieselError::DeserializationError("a batch statement went unanswered".into()))
        })
        .collect()
}

/// The first statement of each part of a batch transaction: scopes it to the part's tenant
/// (row-level security), makes its statements use generic plans (they look rows up by key
/// only; PostgreSQL's default planned their array-fed statements again on every call), and
/// tells the event triggers that the batch statements write their events themselves
/// (migration 000016). All three end with the transaction.
async fn scope_batch(conn: &AsyncPgConnection, owner_id: Uuid) -> Result<(), DieselError> {
    let mut conn = conn;
    diesel::select((
        crate::set_config("app.owner_id", owner_id.to_string(), true),
        crate::set_config("plan_cache_mode", "force_generic_plan", true),
        crate::set_config("app.events", "by_statement", true),
    ))
    .execute(&mut conn)
    .await
    .map(drop)
}

/// Polls every future in order, every time, until all are done, and answers their outputs in
/// that order: the statements they send when first polled reach the connection in order (see
/// [`transaction`]). `futures::future::join_all` does so only up to 30 futures.
async fn join_in_order<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(|future| Box::pin(maybe_done(future))).collect();
    poll_fn(|cx| {
        let mut done = true;
        for future in &mut futures {
            done &= future.as_mut().poll(cx).is_ready();
        }
        if done { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    futures.iter_mut().filter_map(|future| future.as_mut().take_output()).collect()
}

/// Runs `statement` through `group` when there is one, else alone on a connection of `pool`.
pub(crate) async fn run<S: Grouped>(
    group: Option<&GroupCommit<S>>,
    pool: &PgPool,
    statement: S,
) -> Result<S::Row, StoreError> {
    match group {
        Some(group) => group.run(statement).await,
        None => {
            let conn = pool.get().await.map_err(|e| StoreError::Unavailable(e.to_string()))?;
            run_alone(&conn, &statement).await
        }
    }
}
