//! The inbound message's statement, alone and in batches.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::Error as DieselError;
use diesel::sql_types::{Array, Bool, Int4, Int8, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::{Expression, QueryResult, Selectable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{Grouped, PartStatement, in_order, run_in_parts, scope_batch};
use crate::rows::{ConversationRow, MessageRow};

/// `app_receive_inbound(…)`: an inbound message in one statement (see the migration
/// `000005_inbound_one_round_trip`): the conversation it landed in, the stored message, whether
/// the conversation opened, whether it was a duplicate, and the turns before it in closure
/// detection's window (sender, body, time).
pub(crate) struct ReceiveInbound {
    pub candidate: ConversationRow,
    pub message: MessageRow,
    pub window: i32,
    pub at: DateTime<Utc>,
}

/// The statement's identity in diesel's cache: one SQL text whatever the values.
pub(crate) struct ReceiveInboundStatement;

impl QueryId for ReceiveInbound {
    type QueryId = ReceiveInboundStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for ReceiveInbound {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let (c, m) = (&self.candidate, &self.message);
        out.push_sql("SELECT * FROM app_receive_inbound(");
        out.push_bind_param::<SqlUuid, _>(&c.owner_id)?;
        out.push_sql(", ");
        out.push_bind_param::<SqlUuid, _>(&c.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&c.channel)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&c.customer_phone)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&c.business_phone)?;
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&c.context)?;
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&c.metadata)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&c.expires_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Int4, _>(&c.idle_timeout_seconds)?;
        out.push_sql(", ");
        out.push_bind_param::<Int4, _>(&c.max_extension_seconds)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&c.max_expires_at)?;
        out.push_sql(", ");
        out.push_bind_param::<SqlUuid, _>(&m.id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&m.direction)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&m.sender)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&m.message_type)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&m.body)?;
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&m.media)?;
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&m.context)?;
        out.push_sql(", ");
        out.push_bind_param::<Jsonb, _>(&m.metadata)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Text>, _>(&m.provider_sid)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&m.delivery_status)?;
        out.push_sql(", ");
        out.push_bind_param::<Int4, _>(&self.window)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.at)?;
        out.push_sql(")");
        Ok(())
    }
}

impl Query for ReceiveInbound {
    /// [`ConversationRow`]'s columns, [`MessageRow`]'s, `created`, `duplicate`, and the window's
    /// senders, bodies and times.
    type SqlType = (
        <<ConversationRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType,
        <<MessageRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType,
        Bool,
        Bool,
        Array<Text>,
        Array<Nullable<Text>>,
        Array<Timestamptz>,
    );
}

/// A row of [`ReceiveInbound`].
pub(crate) type ReceivedInboundRow =
    (ConversationRow, MessageRow, bool, bool, Vec<String>, Vec<Option<String>>, Vec<DateTime<Utc>>);

/// Several inbound messages of one tenant in one statement, set-based (`inbound_batch.sql`,
/// ADR 0021): what `app_receive_inbound` does for each, done for all of them at once, so the
/// executor starts once per batch instead of a few times per message. The messages' values
/// travel as one array per argument and `unnest … WITH ORDINALITY` turns them back into rows;
/// each result row carries its message's ordinal (1-based position in the arrays). The batch
/// holds at most one message per conversation and per MessageSid ([`Grouped::fits_with`]), so
/// no row is written twice by the statement and no message waits on another of its batch.
#[derive(Default)]
struct ReceiveInboundBatch {
    owner_ids: Vec<Uuid>,
    conversation_ids: Vec<Uuid>,
    channels: Vec<String>,
    customer_phones: Vec<String>,
    business_phones: Vec<String>,
    conversation_contexts: Vec<serde_json::Value>,
    conversation_metadata: Vec<serde_json::Value>,
    expires_at: Vec<DateTime<Utc>>,
    idle_timeout_seconds: Vec<i32>,
    max_extension_seconds: Vec<i32>,
    max_expires_at: Vec<DateTime<Utc>>,
    message_ids: Vec<Uuid>,
    directions: Vec<String>,
    senders: Vec<String>,
    message_types: Vec<String>,
    bodies: Vec<Option<String>>,
    media: Vec<serde_json::Value>,
    contexts: Vec<serde_json::Value>,
    metadata: Vec<serde_json::Value>,
    provider_sids: Vec<Option<String>>,
    delivery_statuses: Vec<String>,
    windows: Vec<i32>,
    at: Vec<DateTime<Utc>>,
}

#[async_trait]
impl PartStatement for ReceiveInboundBatch {
    type One = ReceiveInbound;
    type Row = ReceivedInboundRow;

    /// Appends one message (its ordinal is the number of messages appended before it, plus 1).
    fn push(&mut self, one: &ReceiveInbound) {
        let (c, m) = (&one.candidate, &one.message);
        self.owner_ids.push(c.owner_id);
        self.conversation_ids.push(c.id);
        self.channels.push(c.channel.clone());
        self.customer_phones.push(c.customer_phone.clone());
        self.business_phones.push(c.business_phone.clone());
        self.conversation_contexts.push(c.context.clone());
        self.conversation_metadata.push(c.metadata.clone());
        self.expires_at.push(c.expires_at);
        self.idle_timeout_seconds.push(c.idle_timeout_seconds);
        self.max_extension_seconds.push(c.max_extension_seconds);
        self.max_expires_at.push(c.max_expires_at);
        self.message_ids.push(m.id);
        self.directions.push(m.direction.clone());
        self.senders.push(m.sender.clone());
        self.message_types.push(m.message_type.clone());
        self.bodies.push(m.body.clone());
        self.media.push(m.media.clone());
        self.contexts.push(m.context.clone());
        self.metadata.push(m.metadata.clone());
        self.provider_sids.push(m.provider_sid.clone());
        self.delivery_statuses.push(m.delivery_status.clone());
        self.windows.push(one.window);
        self.at.push(one.at);
    }

    /// Scopes the transaction to the statement's tenant, records its messages, and reads their
    /// windows: three statements, sent when first polled, in order.
    async fn run(&self, conn: &AsyncPgConnection) -> Result<Vec<ReceivedInboundRow>, DieselError> {
        let tenant = <[Uuid]>::first(&self.owner_ids).copied().unwrap_or_default();
        let windows = InboundWindows {
            owner_ids: &self.owner_ids,
            message_ids: &self.message_ids,
            windows: &self.windows,
        };
        let (scope, mut record, mut read) = (conn, conn, conn);
        let (scoped, recorded, windows) = futures::join!(
            scope_batch(scope, tenant),
            self.load::<RecordedRow>(&mut record),
            windows.load::<WindowRow>(&mut read),
        );
        scoped?;
        let recorded = in_order(
            recorded?.into_iter().map(|(n, c, m, created, dup)| (n, (c, m, created, dup))).collect(),
        )?;
        let windows = in_order(windows?.into_iter().map(|(n, s, b, t)| (n, (s, b, t))).collect())?;
        Ok(recorded
            .into_iter()
            .zip(windows)
            .map(|((c, m, created, dup), (senders, bodies, times))| {
                (c, m, created, dup, senders, bodies, times)
            })
            .collect())
    }
}

/// The statement's identity in diesel's cache: one SQL text whatever the number of messages.
struct ReceiveInboundBatchStatement;

impl QueryId for ReceiveInboundBatch {
    type QueryId = ReceiveInboundBatchStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for ReceiveInboundBatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.owner_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.conversation_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.channels)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.customer_phones)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.business_phones)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.conversation_contexts)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.conversation_metadata)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.expires_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Int4>, _>(&self.idle_timeout_seconds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Int4>, _>(&self.max_extension_seconds)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.max_expires_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(&self.message_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.directions)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.senders)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.message_types)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.bodies)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.media)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.contexts)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Jsonb>, _>(&self.metadata)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Nullable<Text>>, _>(&self.provider_sids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.delivery_statuses)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Int4>, _>(&self.windows)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Timestamptz>, _>(&self.at)?;
        out.push_sql(
            ") WITH ORDINALITY AS t(owner_id, conversation_id, channel, customer_phone, business_phone, \
             conversation_context, conversation_metadata, expires_at, idle_timeout_seconds, \
             max_extension_seconds, max_expires_at, message_id, direction, sender, message_type, body, \
             media, context, metadata, provider_sid, delivery_status, window_size, at, ordinal)),\n",
        );
        out.push_sql(include_str!("inbound_batch.sql"));
        Ok(())
    }
}

impl Query for ReceiveInboundBatch {
    /// The message's ordinal, [`ConversationRow`]'s columns, [`MessageRow`]'s, `created` and
    /// `duplicate`.
    type SqlType = (
        Int8,
        <<ConversationRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType,
        <<MessageRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType,
        Bool,
        Bool,
    );
}

/// A row of [`ReceiveInboundBatch`].
type RecordedRow = (i64, ConversationRow, MessageRow, bool, bool);

/// Closure detection's windows of a batch's messages (`inbound_window.sql`): a statement of its
/// own after [`ReceiveInboundBatch`], in its transaction, so that it reads what the
/// conversation's row lock waited for (see the SQL).
struct InboundWindows<'a> {
    owner_ids: &'a [Uuid],
    message_ids: &'a [Uuid],
    windows: &'a [i32],
}

/// The statement's identity in diesel's cache.
struct InboundWindowsStatement;

impl QueryId for InboundWindows<'_> {
    type QueryId = InboundWindowsStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for InboundWindows<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("WITH input AS (SELECT * FROM unnest(");
        out.push_bind_param::<Array<SqlUuid>, _>(self.owner_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<SqlUuid>, _>(self.message_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Int4>, _>(self.windows)?;
        out.push_sql(") WITH ORDINALITY AS t(owner_id, message_id, window_size, ordinal))\n");
        out.push_sql(include_str!("inbound_window.sql"));
        Ok(())
    }
}

impl Query for InboundWindows<'_> {
    /// The message's ordinal, then the window's senders, bodies and times.
    type SqlType = (Int8, Array<Text>, Array<Nullable<Text>>, Array<Timestamptz>);
}

/// A row of [`InboundWindows`].
type WindowRow = (i64, Vec<String>, Vec<Option<String>>, Vec<DateTime<Utc>>);

/// The active-conversation key of a message: the row it updates (or inserts).
fn conversation_key(s: &ReceiveInbound) -> (Uuid, &str, &str, &str) {
    let c = &s.candidate;
    (c.owner_id, &c.channel, &c.business_phone, &c.customer_phone)
}

#[async_trait]
impl Grouped for ReceiveInbound {
    type Row = ReceivedInboundRow;

    async fn run_one(&self, conn: &AsyncPgConnection) -> Result<ReceivedInboundRow, DieselError> {
        let mut conn = conn;
        self.get_result(&mut conn).await
    }

    /// The batch as parts that each fit one set-based statement ([`fit_together`]), each part three
    /// statements (scope the transaction to its tenant, record its messages, read their
    /// windows), all of them pipelined in the batch's one transaction: sent together, answered
    /// together, run in order.
    async fn run_batch(
        batch: &[Self],
        conn: &AsyncPgConnection,
    ) -> Result<Vec<ReceivedInboundRow>, DieselError> {
        run_in_parts::<ReceiveInboundBatch>(batch, fit_together, conn).await
    }

    /// By the active-conversation key: the row each message updates (or inserts).
    fn lock_order(&self, other: &Self) -> std::cmp::Ordering {
        conversation_key(self).cmp(&conversation_key(other))
    }
}

/// Whether two messages can be recorded by one set-based statement: one tenant per statement
/// (row-level security is scoped once, for all its rows), and at most one message per
/// conversation and per MessageSid (no row is written twice by a statement, and no message
/// of it waits on another).
fn fit_together(a: &ReceiveInbound, b: &ReceiveInbound) -> bool {
    a.candidate.owner_id == b.candidate.owner_id
        && conversation_key(a) != conversation_key(b)
        && (a.message.provider_sid.is_none() || a.message.provider_sid != b.message.provider_sid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group_commit::plans::assert_reads_by_key;

    #[tokio::test]
    async fn the_batch_statement_reads_by_key_even_when_planned_on_a_new_database() {
        // The arrays of `ReceiveInboundBatch::walk_ast`, in order.
        let types = "uuid[] uuid[] text[] text[] text[] jsonb[] jsonb[] timestamptz[] int4[] int4[] \
                     timestamptz[] uuid[] text[] text[] text[] text[] jsonb[] jsonb[] jsonb[] text[] text[] \
                     int4[] timestamptz[]";
        let types: Vec<&str> = types.split_whitespace().collect();
        assert_reads_by_key(&ReceiveInboundBatch::default(), &types).await;
    }

    #[tokio::test]
    async fn the_window_statement_reads_by_key_even_when_planned_on_a_new_database() {
        let windows = InboundWindows { owner_ids: &[], message_ids: &[], windows: &[] };
        assert_reads_by_key(&windows, &["uuid[]", "uuid[]", "int4[]"]).await;
    }
}
