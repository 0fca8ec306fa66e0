//! Statements on hot paths (every API request, every webhook) written as query types diesel
//! prepares once per connection. Diesel never caches `sql_query` (its text may be built at run
//! time) nor `UPDATE` (its `SET` list may vary), so each call of those would cost a prepare
//! round trip, and PostgreSQL a parse and plan, every time.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{
    Array, Bool, Bytea, Float8, Int4, Int8, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid,
};
use diesel::{Expression, QueryResult, Queryable, Selectable};
use uuid::Uuid;

use crate::rows::{AiResultRow, ConversationRow, MessageRow, TwilioAccountRow};

/// `app_authenticate(key_hash, at)`: the principal of an active API key.
#[derive(Debug, Clone, QueryId)]
pub(crate) struct Authenticate {
    pub key_hash: String,
    pub at: DateTime<Utc>,
}

/// A row of [`Authenticate`].
#[derive(Debug, Queryable)]
pub(crate) struct PrincipalRow {
    pub owner_id: Uuid,
    pub user_id: Uuid,
    pub api_key_id: Uuid,
    pub role: String,
}

impl QueryFragment<Pg> for Authenticate {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT owner_id, user_id, api_key_id, role FROM app_authenticate(");
        out.push_bind_param::<Text, _>(&self.key_hash)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&self.at)?;
        out.push_sql(")");
        Ok(())
    }
}

impl Query for Authenticate {
    type SqlType = (SqlUuid, SqlUuid, SqlUuid, Text);
}

/// `app_twilio_account_by_sid(account_sid)`: the active account a webhook names, with its
/// sealed token and its tenant's features (a JSON array of feature rows), before the tenant is
/// known.
#[derive(Debug, Clone, QueryId)]
pub(crate) struct TwilioAccountBySid {
    pub account_sid: String,
}

impl QueryFragment<Pg> for TwilioAccountBySid {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "SELECT owner_id, id, account_sid, friendly_name, phone_numbers, active, created_at, updated_at, \
             auth_token_encrypted, features FROM app_twilio_account_by_sid(",
        );
        out.push_bind_param::<Text, _>(&self.account_sid)?;
        out.push_sql(")");
        Ok(())
    }
}

impl Query for TwilioAccountBySid {
    /// [`TwilioAccountRow`]'s columns, the sealed token, the features.
    type SqlType =
        ((SqlUuid, SqlUuid, Text, Nullable<Text>, Array<Text>, Bool, Timestamptz, Timestamptz), Bytea, Jsonb);
}

/// A row of [`TwilioAccountBySid`].
pub(crate) type WebhookAccountRow = (TwilioAccountRow, Vec<u8>, serde_json::Value);

/// `UPDATE conversations SET <every column but the key> … RETURNING <every column>`: saves a
/// conversation the domain changed (the lifecycle decides the values, the row stores them all).
pub(crate) struct SaveConversation<'a> {
    row: &'a ConversationRow,
    returning: <ConversationRow as Selectable<Pg>>::SelectExpression,
}

impl<'a> SaveConversation<'a> {
    pub(crate) fn new(row: &'a ConversationRow) -> Self {
        Self { row, returning: <ConversationRow as Selectable<Pg>>::construct_selection() }
    }
}

/// The statement's identity in diesel's cache: one SQL text whatever the row.
pub(crate) struct SaveConversationStatement;

impl QueryId for SaveConversation<'_> {
    type QueryId = SaveConversationStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for SaveConversation<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let row = self.row;
        out.push_sql("UPDATE conversations SET channel = ");
        out.push_bind_param::<Text, _>(&row.channel)?;
        out.push_sql(", customer_phone = ");
        out.push_bind_param::<Text, _>(&row.customer_phone)?;
        out.push_sql(", business_phone = ");
        out.push_bind_param::<Text, _>(&row.business_phone)?;
        out.push_sql(", status = ");
        out.push_bind_param::<Text, _>(&row.status)?;
        out.push_sql(", context = ");
        out.push_bind_param::<Jsonb, _>(&row.context)?;
        out.push_sql(", metadata = ");
        out.push_bind_param::<Jsonb, _>(&row.metadata)?;
        out.push_sql(", expires_at = ");
        out.push_bind_param::<Timestamptz, _>(&row.expires_at)?;
        out.push_sql(", idle_timeout_seconds = ");
        out.push_bind_param::<Int4, _>(&row.idle_timeout_seconds)?;
        out.push_sql(", idle_deadline_at = ");
        out.push_bind_param::<Timestamptz, _>(&row.idle_deadline_at)?;
        out.push_sql(", max_extension_seconds = ");
        out.push_bind_param::<Int4, _>(&row.max_extension_seconds)?;
        out.push_sql(", max_expires_at = ");
        out.push_bind_param::<Timestamptz, _>(&row.max_expires_at)?;
        out.push_sql(", last_message_at = ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&row.last_message_at)?;
        out.push_sql(", last_inbound_at = ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&row.last_inbound_at)?;
        out.push_sql(", message_count = ");
        out.push_bind_param::<Int8, _>(&row.message_count)?;
        out.push_sql(", closed_at = ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&row.closed_at)?;
        out.push_sql(", close_reason = ");
        out.push_bind_param::<Nullable<Text>, _>(&row.close_reason)?;
        out.push_sql(", created_at = ");
        out.push_bind_param::<Timestamptz, _>(&row.created_at)?;
        out.push_sql(", updated_at = ");
        out.push_bind_param::<Timestamptz, _>(&row.updated_at)?;
        out.push_sql(", last_inbound_message_id = ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&row.last_inbound_message_id)?;
        out.push_sql(", pending_closure_message_id = ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&row.pending_closure_message_id)?;
        out.push_sql(", pending_closure_closes_at = ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&row.pending_closure_closes_at)?;
        out.push_sql(", pending_closure_score = ");
        out.push_bind_param::<Nullable<Float8>, _>(&row.pending_closure_score)?;
        out.push_sql(", pending_closure_reason = ");
        out.push_bind_param::<Nullable<Text>, _>(&row.pending_closure_reason)?;
        out.push_sql(" WHERE owner_id = ");
        out.push_bind_param::<SqlUuid, _>(&row.owner_id)?;
        out.push_sql(" AND id = ");
        out.push_bind_param::<SqlUuid, _>(&row.id)?;
        out.push_sql(" RETURNING ");
        self.returning.walk_ast(out.reborrow())
    }
}

impl Query for SaveConversation<'_> {
    type SqlType = <<ConversationRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType;
}

/// `app_receive_inbound(…)`: an inbound message in one statement (see the migration
/// `000005_inbound_one_round_trip`): the conversation it landed in, the stored message, whether
/// the conversation opened, whether it was a duplicate, and the turns before it in closure
/// detection's window (sender, body, time).
pub(crate) struct ReceiveInbound<'a> {
    pub candidate: &'a ConversationRow,
    pub message: &'a MessageRow,
    pub window: i32,
    pub at: DateTime<Utc>,
}

impl<'a> ReceiveInbound<'a> {
    pub fn new(candidate: &'a ConversationRow, message: &'a MessageRow, window: i32, at: DateTime<Utc>) -> Self {
        Self { candidate, message, window, at }
    }
}

/// The statement's identity in diesel's cache: one SQL text whatever the values.
pub(crate) struct ReceiveInboundStatement;

impl QueryId for ReceiveInbound<'_> {
    type QueryId = ReceiveInboundStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for ReceiveInbound<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let (c, m) = (self.candidate, self.message);
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

impl Query for ReceiveInbound<'_> {
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

/// `app_close_detected(…)`: closure detection's verdict in one statement (see the migration
/// `000006_pending_closure`): the conversation as it stands, whether it was closed,
/// whether the message is the conversation's, whether it is the customer's latest, and the recorded assessment (NULLs when nothing
/// was written).
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

/// `app_receive_inbound(…)` for several inbound messages in one statement, so one round trip
/// and one commit serve them all (group commit, see [`crate::inbound_batch`]): the messages'
/// values travel as one array per argument, `unnest … WITH ORDINALITY` turns them back into
/// rows, and the function runs once per row, laterally. A lateral call of a volatile function
/// runs once per outer row, in the order `unnest` yields them (array order), and each call sees
/// what the earlier ones wrote: two messages of one conversation in a batch are recorded in
/// order, exactly as two statements would record them. Each result row carries its message's
/// ordinal (1-based position in the arrays).
#[derive(Default)]
pub(crate) struct ReceiveInboundBatch {
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

impl ReceiveInboundBatch {
    /// Appends one message (its ordinal is the number of messages appended before it, plus 1).
    pub fn push(&mut self, one: &ReceiveInbound<'_>) {
        let (c, m) = (one.candidate, one.message);
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
}

/// The statement's identity in diesel's cache: one SQL text whatever the number of messages.
pub(crate) struct ReceiveInboundBatchStatement;

impl QueryId for ReceiveInboundBatch {
    type QueryId = ReceiveInboundBatchStatement;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<Pg> for ReceiveInboundBatch {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT t.ordinal, r.* FROM unnest(");
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
             media, context, metadata, provider_sid, delivery_status, window_size, at, ordinal) \
             CROSS JOIN LATERAL app_receive_inbound(t.owner_id, t.conversation_id, t.channel, \
             t.customer_phone, t.business_phone, t.conversation_context, t.conversation_metadata, \
             t.expires_at, t.idle_timeout_seconds, t.max_extension_seconds, t.max_expires_at, \
             t.message_id, t.direction, t.sender, t.message_type, t.body, t.media, t.context, \
             t.metadata, t.provider_sid, t.delivery_status, t.window_size, t.at) AS r \
             ORDER BY t.ordinal",
        );
        Ok(())
    }
}

impl Query for ReceiveInboundBatch {
    /// The message's ordinal, then [`ReceiveInbound`]'s columns.
    type SqlType = (
        Int8,
        <<ConversationRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType,
        <<MessageRow as Selectable<Pg>>::SelectExpression as Expression>::SqlType,
        Bool,
        Bool,
        Array<Text>,
        Array<Nullable<Text>>,
        Array<Timestamptz>,
    );
}

/// A row of [`ReceiveInboundBatch`]: the ordinal and the message's [`ReceivedInboundRow`].
pub(crate) type ReceivedInboundBatchRow = (
    i64,
    ConversationRow,
    MessageRow,
    bool,
    bool,
    Vec<String>,
    Vec<Option<String>>,
    Vec<DateTime<Utc>>,
);
