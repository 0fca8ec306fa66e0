-- Events out (ADR 0018): every change a tenant's systems need becomes a row of `events`, written
-- by a trigger in the transaction of the change, so no path (the webhook's one statement, the
-- API, the sweeper, a future one) can change a conversation or a message without its event,
-- and no event exists for a change that rolled back. `data` is the resource as the REST API
-- returns it, rendered here once (app_conversation_json, app_message_json; a test compares them
-- with the API's answers).
--
-- Order without gaps: an event's position is (txid, seq), the writing transaction's id and a
-- sequence value. Readers take only events of transactions older than every running one
-- (txid < pg_snapshot_xmin of their snapshot), so an event that commits late can never land
-- behind a position a reader has passed.

CREATE SEQUENCE events_seq;

CREATE TABLE events (
    owner_id        uuid        NOT NULL,
    id              uuid        NOT NULL,
    type            text        NOT NULL CHECK (type IN ('conversation.created', 'conversation.closure_pending',
                                                         'conversation.closed', 'conversation.extended',
                                                         'message.created', 'message.status_updated')),
    conversation_id uuid        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    txid            bigint      NOT NULL,
    seq             bigint      NOT NULL,
    data            jsonb       NOT NULL,
    PRIMARY KEY (owner_id, id)
);
-- A tenant's stream and its resumption: (owner_id, txid, seq) in order.
CREATE INDEX events_position_idx ON events (owner_id, txid, seq);
-- Retention prunes by age across tenants; BRIN: tiny, and rows arrive in time order.
CREATE INDEX events_occurred_at_brin ON events USING brin (occurred_at);
COMMENT ON TABLE events IS 'Outbox of tenant events (ADR 0018): written by triggers with the change, read by the event stream and the webhook deliveries, pruned after the retention period.';
COMMENT ON COLUMN events.owner_id IS 'Tenant.';
COMMENT ON COLUMN events.id IS 'Event id (UUID v7): the webhook-id and the SSE id.';
COMMENT ON COLUMN events.type IS 'Event type.';
COMMENT ON COLUMN events.conversation_id IS 'The conversation the event concerns.';
COMMENT ON COLUMN events.occurred_at IS 'When the change happened (the transaction''s clock).';
COMMENT ON COLUMN events.txid IS 'pg_current_xact_id() of the writing transaction: with seq, the event''s position.';
COMMENT ON COLUMN events.seq IS 'Order within the position (events_seq).';
COMMENT ON COLUMN events.data IS 'The resource as the REST API returns it, after the change.';

GRANT SELECT, INSERT ON events TO conversa_app;
GRANT USAGE ON SEQUENCE events_seq TO conversa_app;
GRANT SELECT, DELETE ON events TO conversa_maintenance;
ALTER TABLE events ENABLE ROW LEVEL SECURITY;
ALTER TABLE events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON events USING (owner_id = app_current_owner())
    WITH CHECK (owner_id = app_current_owner());
CREATE POLICY maintenance ON events TO conversa_maintenance USING (true);

-- A UUID v7 (PostgreSQL 15 has none built in): the Unix time in milliseconds, then random bits,
-- with the version and variant of RFC 9562.
CREATE FUNCTION app_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                                          PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                                          FROM 1 FOR 6),
                                  52, 1), 53, 1), 'hex')::uuid
$$;
COMMENT ON FUNCTION app_uuid_v7() IS 'A new UUID v7 (RFC 9562): milliseconds since the epoch, then random bits.';

-- A time as the API writes it (chrono's RFC 3339 in UTC: Z, and 0, 3 or 6 decimals as needed).
CREATE FUNCTION app_json_time(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN t IS NULL THEN NULL
        WHEN extract(microseconds FROM t)::bigint % 1000000 = 0
            THEN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        WHEN extract(microseconds FROM t)::bigint % 1000 = 0
            THEN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        ELSE to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    END
$$;
COMMENT ON FUNCTION app_json_time(timestamptz) IS 'A time as the API writes it: RFC 3339 in UTC with Z and 0, 3 or 6 decimals, as chrono does.';

-- The conversation as `GET /api/v1/conversations/{id}` returns it (app-http's ConversationOut).
CREATE FUNCTION app_conversation_json(c conversations) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', c.id, 'channel', c.channel, 'customer_phone', c.customer_phone,
        'business_phone', c.business_phone, 'status', c.status, 'context', c.context,
        'metadata', c.metadata, 'expires_at', app_json_time(c.expires_at),
        'max_expires_at', app_json_time(c.max_expires_at),
        'last_message_at', app_json_time(c.last_message_at),
        'last_inbound_at', app_json_time(c.last_inbound_at), 'message_count', c.message_count,
        'closed_at', app_json_time(c.closed_at), 'close_reason', c.close_reason,
        'pending_closure', CASE WHEN c.pending_closure_message_id IS NULL THEN NULL ELSE jsonb_build_object(
            'closes_at', app_json_time(c.pending_closure_closes_at), 'score', c.pending_closure_score,
            'reason', c.pending_closure_reason, 'message_id', c.pending_closure_message_id) END,
        'created_at', app_json_time(c.created_at), 'updated_at', app_json_time(c.updated_at))
$$;
COMMENT ON FUNCTION app_conversation_json(conversations) IS 'The conversation as the REST API returns it (ConversationOut): the data of conversation events.';

-- The message as `GET /api/v1/conversations/{id}/messages` returns it (app-http's MessageOut).
CREATE FUNCTION app_message_json(m messages) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'conversation_id', m.conversation_id, 'direction', m.direction, 'sender', m.sender,
        'message_type', m.message_type, 'body', m.body, 'media', m.media, 'context', m.context,
        'metadata', m.metadata, 'provider_sid', m.provider_sid, 'delivery_status', m.delivery_status,
        'error_code', m.error_code, 'error_message', m.error_message,
        'created_at', app_json_time(m.created_at), 'updated_at', app_json_time(m.updated_at))
$$;
COMMENT ON FUNCTION app_message_json(messages) IS 'The message as the REST API returns it (MessageOut): the data of message events.';

-- The trigger functions write the events themselves (PL/pgSQL caches the plan of each
-- statement, with the renderers and app_json_time inlined into it): a SQL function called per
-- row would be planned again on every call, which measured at twice the webhook's database time.
CREATE FUNCTION app_conversation_events() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_type text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        v_type := 'conversation.created';
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('pending', 'progress') THEN
        v_type := 'conversation.closed';
    ELSIF NEW.pending_closure_message_id IS NOT NULL
          AND NEW.pending_closure_message_id IS DISTINCT FROM OLD.pending_closure_message_id THEN
        v_type := 'conversation.closure_pending';
    END IF;
    IF v_type IS NOT NULL THEN
        INSERT INTO public.events (owner_id, id, type, conversation_id, occurred_at, txid, seq, data)
        VALUES (NEW.owner_id, public.app_uuid_v7(), v_type, NEW.id, now(),
                pg_current_xact_id()::text::bigint, nextval('public.events_seq'), public.app_conversation_json(NEW));
    END IF;
    -- An extension can come with nothing else of the above (only `extend` moves expires_at).
    IF TG_OP = 'UPDATE' AND NEW.expires_at > OLD.expires_at THEN
        INSERT INTO public.events (owner_id, id, type, conversation_id, occurred_at, txid, seq, data)
        VALUES (NEW.owner_id, public.app_uuid_v7(), 'conversation.extended', NEW.id, now(),
                pg_current_xact_id()::text::bigint, nextval('public.events_seq'), public.app_conversation_json(NEW));
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION app_conversation_events() IS 'Trigger: conversation.created, .closed, .closure_pending and .extended events from a conversation''s insert or update.';

CREATE FUNCTION app_message_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.events (owner_id, id, type, conversation_id, occurred_at, txid, seq, data)
    VALUES (NEW.owner_id, public.app_uuid_v7(),
            CASE TG_OP WHEN 'INSERT' THEN 'message.created' ELSE 'message.status_updated' END,
            NEW.conversation_id, now(), pg_current_xact_id()::text::bigint, nextval('public.events_seq'),
            public.app_message_json(NEW));
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION app_message_events() IS 'Trigger: message.created and message.status_updated events from a message''s insert or update.';

-- WHEN clauses keep the trigger function out of updates that raise no event (the webhook's
-- update of an active conversation, most of all): they are evaluated without calling it.
CREATE TRIGGER conversation_created AFTER INSERT ON conversations
    FOR EACH ROW EXECUTE FUNCTION app_conversation_events();
CREATE TRIGGER conversation_changed AFTER UPDATE ON conversations
    FOR EACH ROW WHEN ((NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('pending', 'progress'))
                       OR NEW.expires_at > OLD.expires_at
                       OR (NEW.pending_closure_message_id IS NOT NULL
                           AND NEW.pending_closure_message_id IS DISTINCT FROM OLD.pending_closure_message_id))
    EXECUTE FUNCTION app_conversation_events();
CREATE TRIGGER message_created AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION app_message_events();
CREATE TRIGGER message_status_updated AFTER UPDATE ON messages
    FOR EACH ROW WHEN (NEW.delivery_status IS DISTINCT FROM OLD.delivery_status
                       OR NEW.error_code IS DISTINCT FROM OLD.error_code)
    EXECUTE FUNCTION app_message_events();

-- A tenant's events after a position, in order, only from transactions older than every one
-- still running (see the top). Runs as the caller, under row-level security.
CREATE FUNCTION app_events_after(p_owner_id uuid, p_txid bigint, p_seq bigint, p_limit integer)
RETURNS SETOF events LANGUAGE sql STABLE AS $$
    SELECT * FROM public.events
     WHERE owner_id = p_owner_id AND (txid, seq) > (p_txid, p_seq)
       AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
     ORDER BY txid, seq
     LIMIT p_limit
$$;
COMMENT ON FUNCTION app_events_after(uuid, bigint, bigint, integer) IS 'A tenant''s events after a position, in order, only of transactions older than every running one. Runs as the caller, under row-level security.';

-- Retention: events older than the bound, across tenants, a batch at a time.
CREATE FUNCTION app_prune_events(p_before timestamptz, p_limit integer) RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH gone AS (
        DELETE FROM events e USING (SELECT owner_id, id FROM events WHERE occurred_at < p_before LIMIT p_limit) old
         WHERE e.owner_id = old.owner_id AND e.id = old.id
        RETURNING 1)
    SELECT count(*) FROM gone
$$;
COMMENT ON FUNCTION app_prune_events(timestamptz, integer) IS 'Deletes up to p_limit events older than p_before, across tenants; the count deleted.';
ALTER FUNCTION app_prune_events(timestamptz, integer) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_prune_events(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_prune_events(timestamptz, integer) TO conversa_app;
