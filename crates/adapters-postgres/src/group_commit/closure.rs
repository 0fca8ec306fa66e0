//! Closure detection's verdicts on an inbound message (close now, or propose a pending
//! closure), alone and in batches.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::Error as DieselError;
use diesel::sql_types::{Array, Bool, Float8, Int8, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{Expression, QueryResult, Selectable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{Grouped, PartStatement, in_order, run_in_parts, scope_batch};
use crate::rows::{AiResultRow, ConversationRow};

/// `app_close_detected(…)`: closure detection's verdict in one statement (see the migration
/// `000006_pending_closure`): the conversation as it stands, whether it was closed,
/// whether the message is the conversation's, whether it is the customer's latest, and the
/// recorded assessment (NULLs when nothing was written).
#[derive(Debug, QueryId)]
pub(crate) struct CloseDetected {
    pub owner_id: Uuid,
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub reason: String,
    pub result_id: Uuid,
    pub kind: String,
    pub model: Option<String>,
    pub content: serde_json::Value,
    pub score: Option<f64>,
    pub at: DateTime<Utc>,
}

impl QueryFragment<Pg> for CloseDetected {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT * FROM app_close_detected(");
        out.push_bind_param::<SqlUuid, _>(&self.owner_id)?;
        out.push_sql(", ");
        out.push_bind_param::<SqlUuid, _>(&self.conversation_id)?;
        out.push_sql(", ");
        out.push_bind_param::<SqlUuid, _>(&self.message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.reason)?;
        out.push_sql(", ");
        out.push_bind_param::<SqlUuid, _>(&self.result_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.kind)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&self.model)?;
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&self.content)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Float8>, _>(&self.score)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.at)?;
        out.push_sql(")");
        Ok(())
    }
}

impl Query for CloseDetected {
    /// The conversation (NULLs when the tenant has none with that id), `closed`,
    /// `message_in_conversation`, `message_is_latest`, then [`AiResultRow`]'s columns (NULLs
    /// unless closed).
    type SqlType = (
        Nullable<<<ConversationRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType>,
        Bool,
        Bool,
        Bool,
        Nullable<<<AiResultRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType>,
    );
}

/// A row of [`CloseDetected`].
pub(crate) type CloseDetectedRow = (Option<ConversationRow>, bool, bool, bool, Option<AiResultRow>);

/// Several verdicts of one tenant in one statement, set-based (`close_batch.sql`, ADR 0021):
/// what `app_close_detected` writes for each, done for all at once, followed in the same
/// transaction by [`CloseRead`], which answers what each came to. At most one verdict per
/// conversation ([`fit_together`]).
#[derive(Default)]
struct CloseDetectedBatch {
    owner_ids: Vec<Uuid>,
    conversation_ids: Vec<Uuid>,
    message_ids: Vec<Uuid>,
    reasons: Vec<String>,
    result_ids: Vec<Uuid>,
    kinds: Vec<String>,
    models: Vec<Option<String>>,
    contents: Vec<serde_json::Value>,
    scores: Vec<Option<f64>>,
    at: Vec<DateTime<Utc>>,
}

#[async_trait]
impl PartStatement for CloseDetectedBatch {
    type One = CloseDetected;
    type Row = CloseDetectedRow;

    fn push(&mut self, one: &CloseDetected) {
        self.owner_ids.push(one.owner_id);
        self.conversation_ids.push(one.conversation_id);
        self.message_ids.push(one.message_id);
        self.reasons.push(one.reason.clone());
        self.result_ids.push(one.result_id);
        self.kinds.push(one.kind.clone());
        self.models.push(one.model.clone());
        self.contents.push(one.content.clone());
        self.scores.push(one.score);
        self.at.push(one.at);
    }

    /// Scopes the transaction to the statement's tenant, applies its verdicts, and reads what
    /// they came to: three statements, sent when first polled, in order.
    async fn run(&self, conn: &AsyncPgConnection) -> Result<Vec<CloseDetectedRow>, DieselError> {
        let tenant = <[Uuid]>::first(&self.owner_ids).copied().unwrap_or_default();
        let read = CloseRead {
            owner_ids: &self.owner_ids,
            conversation_ids: &self.conversation_ids,
            message_ids: &self.message_ids,
            result_ids: &self.result_ids,
        };
        let (scope, mut close, mut reading) = (conn, conn, conn);
        let (scoped, closed, answers) = futures::join!(
            scope_batch(scope, tenant),
            self.execute(&mut close),
            read.load::<(i64, CloseDetectedRow)>(&mut reading),
        );
        scoped?;
        closed?;
        in_order(answers?)
    }
}

struct CloseDetectedBatchStatement;

impl QueryId for CloseDetectedBatch {
    type QueryId = CloseDetectedBatchStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for CloseDetectedBatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.owner_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.conversation_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.message_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.reasons)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.result_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.kinds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.models)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.contents)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Float8>>, _>(&self.scores)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.at)?;
        out.push_sql(
            ") WITH ORDINALITY AS t(owner_id, conversation_id, message_id, reason, result_id, kind, model, \
             content, score, at, ordinal)),\n",
        );
        out.push_sql(include_str!("close_batch.sql"));
        Ok(())
    }
}

impl Query for CloseDetectedBatch {
    /// How many verdicts closed their conversation.
    type SqlType = Int8;
}

/// What each verdict of a [`CloseDetectedBatch`] came to (`close_read.sql`), read after it.
struct CloseRead<'a> {
    owner_ids: &'a [Uuid],
    conversation_ids: &'a [Uuid],
    message_ids: &'a [Uuid],
    result_ids: &'a [Uuid],
}

struct CloseReadStatement;

impl QueryId for CloseRead<'_> {
    type QueryId = CloseReadStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for CloseRead<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<SqlUuid>, _>(self.owner_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(self.conversation_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(self.message_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(self.result_ids)?;
        out.push_sql(") WITH ORDINALITY AS t(owner_id, conversation_id, message_id, result_id, ordinal))\n");
        out.push_sql(include_str!("close_read.sql"));
        Ok(())
    }
}

impl Query for CloseRead<'_> {
    /// The verdict's ordinal, then [`CloseDetected`]'s columns.
    type SqlType = (Int8, <CloseDetected as Query>::SqlType);
}

/// Whether two verdicts can be applied by one set-based statement: one tenant per statement
/// (row-level security is scoped once), and at most one verdict per conversation.
fn fit_together(a: &CloseDetected, b: &CloseDetected) -> bool {
    a.owner_id == b.owner_id && a.conversation_id != b.conversation_id
}

#[async_trait]
impl Grouped for CloseDetected {
    type Row = CloseDetectedRow;

    async fn run_one(&self, conn: &AsyncPgConnection) -> Result<CloseDetectedRow, DieselError> {
        let mut conn = conn;
        self.get_result(&mut conn).await
    }

    /// The batch as parts that each fit one set-based statement ([`fit_together`]), all of
    /// them pipelined in the batch's one transaction.
    async fn run_batch(
        batch: &[Self],
        conn: &AsyncPgConnection,
    ) -> Result<Vec<CloseDetectedRow>, DieselError> {
        run_in_parts::<CloseDetectedBatch>(batch, fit_together, conn).await
    }

    /// By conversation: the row each verdict updates.
    fn lock_order(&self, other: &Self) -> std::cmp::Ordering {
        (self.owner_id, self.conversation_id).cmp(&(other.owner_id, other.conversation_id))
    }
}

/// `app_propose_closure(…)`: a pending closure in one statement (see the migration
/// `000006_pending_closure`): the conversation as it stands and whether it was proposed.
#[derive(Debug, QueryId)]
pub(crate) struct ProposeClosure {
    pub owner_id: Uuid,
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub closes_at: DateTime<Utc>,
    pub score: f64,
    pub reason: String,
    pub at: DateTime<Utc>,
}

impl QueryFragment<Pg> for ProposeClosure {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT * FROM app_propose_closure(");
        out.push_bind_param::<SqlUuid, _>(&self.owner_id)?;
        out.push_sql(", ");
        out.push_bind_param::<SqlUuid, _>(&self.conversation_id)?;
        out.push_sql(", ");
        out.push_bind_param::<SqlUuid, _>(&self.message_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.closes_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Float8, _>(&self.score)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.reason)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.at)?;
        out.push_sql(")");
        Ok(())
    }
}

impl Query for ProposeClosure {
    /// The conversation (NULLs when the tenant has none with that id) and `proposed`.
    type SqlType =
        (Nullable<<<ConversationRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType>, Bool);
}

/// A row of [`ProposeClosure`].
pub(crate) type ProposeClosureRow = (Option<ConversationRow>, bool);

/// [`ProposeClosure`] for several conversations in one statement: `unnest … WITH ORDINALITY`
/// turns the arrays back into rows, and the function runs once per row, laterally, in array
/// order, each call seeing what the earlier ones wrote (not set-based: ADR 0021).
#[derive(Default)]
struct ProposeClosureBatch {
    owner_ids: Vec<Uuid>,
    conversation_ids: Vec<Uuid>,
    message_ids: Vec<Uuid>,
    closes_at: Vec<DateTime<Utc>>,
    scores: Vec<f64>,
    reasons: Vec<String>,
    at: Vec<DateTime<Utc>>,
}

struct ProposeClosureBatchStatement;

impl QueryId for ProposeClosureBatch {
    type QueryId = ProposeClosureBatchStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for ProposeClosureBatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT t.ordinal, r.* FROM unnest(");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.owner_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.conversation_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.message_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.closes_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Float8>, _>(&self.scores)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.reasons)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.at)?;
        out.push_sql(
            ") WITH ORDINALITY AS t(owner_id, conversation_id, message_id, closes_at, score, reason, at, \
             ordinal) \
             CROSS JOIN LATERAL app_propose_closure(t.owner_id, t.conversation_id, t.message_id, t.closes_at, \
             t.score, t.reason, t.at) AS r \
             ORDER BY t.ordinal",
        );
        Ok(())
    }
}

impl Query for ProposeClosureBatch {
    /// The proposal's ordinal, then [`ProposeClosure`]'s columns.
    type SqlType = (Int8, <ProposeClosure as Query>::SqlType);
}

#[async_trait]
impl Grouped for ProposeClosure {
    type Row = ProposeClosureRow;

    async fn run_one(&self, conn: &AsyncPgConnection) -> Result<ProposeClosureRow, DieselError> {
        let mut conn = conn;
        self.get_result(&mut conn).await
    }

    async fn run_batch(
        batch: &[Self],
        conn: &AsyncPgConnection,
    ) -> Result<Vec<ProposeClosureRow>, DieselError> {
        let mut statement = ProposeClosureBatch::default();
        for one in batch {
            statement.owner_ids.push(one.owner_id);
            statement.conversation_ids.push(one.conversation_id);
            statement.message_ids.push(one.message_id);
            statement.closes_at.push(one.closes_at);
            statement.scores.push(one.score);
            statement.reasons.push(one.reason.clone());
            statement.at.push(one.at);
        }
        let mut conn = conn;
        in_order(statement.load::<(i64, ProposeClosureRow)>(&mut conn).await?)
    }

    /// By conversation: the row each proposal updates.
    fn lock_order(&self, other: &Self) -> std::cmp::Ordering {
        (self.owner_id, self.conversation_id).cmp(&(other.owner_id, other.conversation_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group_commit::plans::assert_reads_by_key;

    #[tokio::test]
    async fn the_close_read_reads_by_key_even_when_planned_on_a_new_database() {
        let read = CloseRead { owner_ids: &[], conversation_ids: &[], message_ids: &[], result_ids: &[] };
        assert_reads_by_key(&read, &["uuid[]"; 4]).await;
    }
}
