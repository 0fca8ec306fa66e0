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

use crate::rows::{ConversationRow, TwilioAccountRow};

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
             messaging_service_sid, auth_token_encrypted, features FROM app_twilio_account_by_sid(",
        );
        out.push_bind_param::<Text, _>(&self.account_sid)?;
        out.push_sql(")");
        Ok(())
    }
}

impl Query for TwilioAccountBySid {
    /// [`TwilioAccountRow`]'s columns, the sealed token, the features.
    type SqlType = (
        (SqlUuid, SqlUuid, Text, Nullable<Text>, Array<Text>, Bool, Timestamptz, Timestamptz, Nullable<Text>),
        Bytea,
        Jsonb,
    );
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
