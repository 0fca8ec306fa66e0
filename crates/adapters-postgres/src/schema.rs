// The diesel view of `migrations/`. Kept by hand in print-schema's format; the
// `schema_matches_the_database` test compares it with a migrated database, column by column.

diesel::table! {
    owners (id) {
        id -> Uuid,
        name -> Text,
        email -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    users (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        name -> Text,
        email -> Text,
        role -> Text,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    api_keys (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    features (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        name -> Text,
        enabled -> Bool,
        config -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    twilio_accounts (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        account_sid -> Text,
        auth_token_encrypted -> Bytea,
        friendly_name -> Nullable<Text>,
        phone_numbers -> Array<Text>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        messaging_service_sid -> Nullable<Text>,
    }
}

diesel::table! {
    conversations (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        channel -> Text,
        customer_phone -> Text,
        business_phone -> Text,
        status -> Text,
        context -> Jsonb,
        metadata -> Jsonb,
        expires_at -> Timestamptz,
        idle_timeout_seconds -> Int4,
        idle_deadline_at -> Timestamptz,
        max_extension_seconds -> Int4,
        max_expires_at -> Timestamptz,
        last_message_at -> Nullable<Timestamptz>,
        last_inbound_at -> Nullable<Timestamptz>,
        message_count -> Int8,
        closed_at -> Nullable<Timestamptz>,
        close_reason -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        last_inbound_message_id -> Nullable<Uuid>,
        pending_closure_message_id -> Nullable<Uuid>,
        pending_closure_closes_at -> Nullable<Timestamptz>,
        pending_closure_score -> Nullable<Float8>,
        pending_closure_reason -> Nullable<Text>,
    }
}

diesel::table! {
    messages (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        conversation_id -> Uuid,
        direction -> Text,
        sender -> Text,
        message_type -> Text,
        body -> Nullable<Text>,
        media -> Jsonb,
        context -> Jsonb,
        metadata -> Jsonb,
        provider_sid -> Nullable<Text>,
        delivery_status -> Text,
        error_code -> Nullable<Int4>,
        error_message -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        template -> Nullable<Jsonb>,
    }
}

diesel::table! {
    ai_results (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        conversation_id -> Uuid,
        message_id -> Uuid,
        kind -> Text,
        model -> Nullable<Text>,
        content -> Jsonb,
        score -> Nullable<Float8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    events (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        #[sql_name = "type"]
        event_type -> Text,
        conversation_id -> Uuid,
        occurred_at -> Timestamptz,
        txid -> Int8,
        seq -> Int8,
        data -> Jsonb,
    }
}

diesel::table! {
    send_jobs (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        conversation_id -> Uuid,
        message_id -> Uuid,
        attempts -> Int4,
        run_at -> Timestamptz,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        lease_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    send_usage (owner_id, period, period_start) {
        owner_id -> Uuid,
        period -> Text,
        period_start -> Date,
        count -> Int4,
    }
}

diesel::table! {
    webhook_endpoints (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        url -> Text,
        event_types -> Array<Text>,
        description -> Nullable<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        consecutive_failures -> Int4,
        secret_encrypted -> Bytea,
        previous_secret_encrypted -> Nullable<Bytea>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        cursor_txid -> Int8,
        cursor_seq -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_deliveries (owner_id, id) {
        owner_id -> Uuid,
        id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Nullable<Timestamptz>,
        schedule_started_at -> Timestamptz,
        lease_id -> Nullable<Uuid>,
        leased_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_delivery_attempts (owner_id, delivery_id, number) {
        owner_id -> Uuid,
        delivery_id -> Uuid,
        number -> Int4,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        latency_ms -> Int4,
        response_excerpt -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamptz>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    owners,
    users,
    api_keys,
    features,
    twilio_accounts,
    conversations,
    messages,
    ai_results,
    send_jobs,
    events,
    send_usage,
    webhook_endpoints,
    webhook_deliveries,
    webhook_delivery_attempts
);
