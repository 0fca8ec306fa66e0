-- Webhook endpoints and their deliveries (issue 13, ADR 0019). Every key leads with owner_id
-- (Citus-ready: an endpoint, its deliveries and their attempts live on the tenant's shard), and
-- every table is under row-level security like the others.
--
-- Fan-out reads the outbox; the triggers of the inbound hot path are not touched: each endpoint
-- keeps its own position in its tenant's events (cursor_txid, cursor_seq), and a worker on any
-- instance moves it forward, creating one delivery per wanted event (app_webhook_fan_out).

CREATE TABLE webhook_endpoints (
    owner_id                   uuid        NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    id                         uuid        NOT NULL,
    url                        text        NOT NULL CHECK (octet_length(url) <= 2048),
    event_types                text[]      NOT NULL DEFAULT '{}'
        CHECK (event_types <@ ARRAY['conversation.created', 'conversation.closure_pending', 'conversation.closed',
                                    'conversation.extended', 'message.created', 'message.status_updated']::text[]),
    description                text        CHECK (char_length(description) <= 500),
    enabled                    boolean     NOT NULL DEFAULT true,
    disabled_reason            text,
    consecutive_failures       integer     NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
    secret_encrypted           bytea       NOT NULL,
    previous_secret_encrypted  bytea,
    previous_secret_expires_at timestamptz,
    cursor_txid                bigint      NOT NULL,
    cursor_seq                 bigint      NOT NULL,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    PRIMARY KEY (owner_id, id)
);
COMMENT ON TABLE webhook_endpoints IS 'Tenants'' webhook endpoints (Standard Webhooks): where events are posted, which ones, signed with which secret.';
COMMENT ON COLUMN webhook_endpoints.owner_id IS 'Tenant.';
COMMENT ON COLUMN webhook_endpoints.id IS 'Endpoint id (UUID v7).';
COMMENT ON COLUMN webhook_endpoints.url IS 'Where deliveries are posted (https unless private targets are allowed).';
COMMENT ON COLUMN webhook_endpoints.event_types IS 'Event types delivered; empty: all.';
COMMENT ON COLUMN webhook_endpoints.description IS 'A label.';
COMMENT ON COLUMN webhook_endpoints.enabled IS 'Whether events are delivered to it.';
COMMENT ON COLUMN webhook_endpoints.disabled_reason IS 'Why the service disabled it; cleared when it is enabled again.';
COMMENT ON COLUMN webhook_endpoints.consecutive_failures IS 'Failed attempts in a row, across events; a success resets it.';
COMMENT ON COLUMN webhook_endpoints.secret_encrypted IS 'The signing secret (whsec_…), sealed like Twilio auth tokens (AES-256-GCM, key id, bound to owner_id and id).';
COMMENT ON COLUMN webhook_endpoints.previous_secret_encrypted IS 'The secret the last rotation replaced, sealed; signs beside the new one until previous_secret_expires_at.';
COMMENT ON COLUMN webhook_endpoints.previous_secret_expires_at IS 'Until when the previous secret signs.';
COMMENT ON COLUMN webhook_endpoints.cursor_txid IS 'Fan-out position in the tenant''s events (with cursor_seq): events after it are still to be fanned out.';
COMMENT ON COLUMN webhook_endpoints.cursor_seq IS 'Fan-out position, order within cursor_txid.';
COMMENT ON COLUMN webhook_endpoints.created_at IS 'When it was created.';
COMMENT ON COLUMN webhook_endpoints.updated_at IS 'When the tenant or the service last changed it.';

CREATE TABLE webhook_deliveries (
    owner_id            uuid        NOT NULL,
    id                  uuid        NOT NULL,
    endpoint_id         uuid        NOT NULL,
    event_id            uuid        NOT NULL,
    event_type          text        NOT NULL,
    state               text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts            integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at     timestamptz,
    schedule_started_at timestamptz NOT NULL,
    lease_id            uuid,
    leased_until        timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (owner_id, id),
    UNIQUE (owner_id, endpoint_id, event_id),
    FOREIGN KEY (owner_id, endpoint_id) REFERENCES webhook_endpoints (owner_id, id) ON DELETE CASCADE,
    -- Retention: pruning an event prunes its deliveries (and their attempts) with it.
    FOREIGN KEY (owner_id, event_id) REFERENCES events (owner_id, id) ON DELETE CASCADE
);
-- The claim: an endpoint's due deliveries, oldest due first.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (owner_id, endpoint_id, next_attempt_at)
    WHERE state = 'pending';
-- The tenant's listing of an endpoint's deliveries, newest first.
CREATE INDEX webhook_deliveries_page_idx ON webhook_deliveries (owner_id, endpoint_id, id);
-- The retention's cascade from events.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (owner_id, event_id);
COMMENT ON TABLE webhook_deliveries IS 'One event to one endpoint: its state, attempts so far and next attempt; pruned with its event.';
COMMENT ON COLUMN webhook_deliveries.owner_id IS 'Tenant.';
COMMENT ON COLUMN webhook_deliveries.id IS 'Delivery id (UUID v7).';
COMMENT ON COLUMN webhook_deliveries.endpoint_id IS 'The endpoint.';
COMMENT ON COLUMN webhook_deliveries.event_id IS 'The event: the webhook-id of every attempt.';
COMMENT ON COLUMN webhook_deliveries.event_type IS 'The event''s type.';
COMMENT ON COLUMN webhook_deliveries.state IS 'pending, succeeded or failed.';
COMMENT ON COLUMN webhook_deliveries.attempts IS 'Attempts made.';
COMMENT ON COLUMN webhook_deliveries.next_attempt_at IS 'When the next attempt is due; NULL once succeeded or failed.';
COMMENT ON COLUMN webhook_deliveries.schedule_started_at IS 'Start of the retry window (creation, or the tenant''s last manual retry).';
COMMENT ON COLUMN webhook_deliveries.lease_id IS 'Token of the claim that holds the delivery; outcomes apply only with it.';
COMMENT ON COLUMN webhook_deliveries.leased_until IS 'Until when the claim holds it; a lapsed claim can be taken again.';
COMMENT ON COLUMN webhook_deliveries.created_at IS 'When the event was fanned out to the endpoint.';
COMMENT ON COLUMN webhook_deliveries.updated_at IS 'When it last changed.';

CREATE TABLE webhook_delivery_attempts (
    owner_id         uuid        NOT NULL,
    delivery_id      uuid        NOT NULL,
    number           integer     NOT NULL CHECK (number >= 1),
    attempted_at     timestamptz NOT NULL,
    status_code      integer,
    error            text,
    latency_ms       integer     NOT NULL CHECK (latency_ms >= 0),
    response_excerpt text,
    next_attempt_at  timestamptz,
    PRIMARY KEY (owner_id, delivery_id, number),
    FOREIGN KEY (owner_id, delivery_id) REFERENCES webhook_deliveries (owner_id, id) ON DELETE CASCADE
);
COMMENT ON TABLE webhook_delivery_attempts IS 'Each attempt of a delivery, as the tenant sees it.';
COMMENT ON COLUMN webhook_delivery_attempts.owner_id IS 'Tenant.';
COMMENT ON COLUMN webhook_delivery_attempts.delivery_id IS 'The delivery.';
COMMENT ON COLUMN webhook_delivery_attempts.number IS '1 for the first attempt.';
COMMENT ON COLUMN webhook_delivery_attempts.attempted_at IS 'When it was made.';
COMMENT ON COLUMN webhook_delivery_attempts.status_code IS 'HTTP status of the answer; NULL when there was none.';
COMMENT ON COLUMN webhook_delivery_attempts.error IS 'Transport error (refused address, connection, timeout); NULL when there was an answer.';
COMMENT ON COLUMN webhook_delivery_attempts.latency_ms IS 'Milliseconds until the answer or the failure.';
COMMENT ON COLUMN webhook_delivery_attempts.response_excerpt IS 'The start of the answer''s body.';
COMMENT ON COLUMN webhook_delivery_attempts.next_attempt_at IS 'When the next attempt was scheduled after this one; NULL: none.';

GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints, webhook_deliveries, webhook_delivery_attempts TO conversa_app;
GRANT SELECT, INSERT, UPDATE ON webhook_endpoints, webhook_deliveries TO conversa_maintenance;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['webhook_endpoints', 'webhook_deliveries', 'webhook_delivery_attempts'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (owner_id = app_current_owner()) '
                       'WITH CHECK (owner_id = app_current_owner())', t);
        EXECUTE format('CREATE POLICY maintenance ON %I TO conversa_maintenance USING (true) WITH CHECK (true)', t);
    END LOOP;
END;
$$;

-- The readable end of a tenant's events now: the position a new (or re-enabled) endpoint
-- starts after, so it receives what is written from then on. Runs as the caller, under RLS.
CREATE FUNCTION app_events_end(p_owner_id uuid) RETURNS TABLE (txid bigint, seq bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(max(e.txid), 0), coalesce(max(e.seq), 0) FROM (
        SELECT txid, seq FROM public.events
         WHERE owner_id = p_owner_id AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
         ORDER BY txid DESC, seq DESC LIMIT 1) e
$$;
COMMENT ON FUNCTION app_events_end(uuid) IS 'The position after the tenant''s readable events (0, 0 when it has none). Runs as the caller, under row-level security.';

-- Fan-out, across tenants: for each enabled endpoint not being fanned out elsewhere (SKIP
-- LOCKED), up to p_limit of its tenant's readable events after its position become deliveries
-- when it wants their type, and its position moves past all of them. The count created. When it
-- created some, every instance's delivery worker is woken (NOTIFY conversa_webhook_deliveries):
-- only this worker statement notifies, never the inbound path.
CREATE FUNCTION app_webhook_fan_out(p_now timestamptz, p_limit integer) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_created bigint;
BEGIN
    WITH horizon AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin),
    endpoints AS (
        SELECT e.owner_id, e.id, e.event_types, e.cursor_txid, e.cursor_seq
          FROM webhook_endpoints e WHERE e.enabled
           FOR UPDATE SKIP LOCKED),
    read AS (
        SELECT ep.owner_id, ep.id AS endpoint_id, ep.event_types, ev.id AS event_id, ev.type, ev.txid, ev.seq
          FROM endpoints ep CROSS JOIN horizon h
          CROSS JOIN LATERAL (
              SELECT x.id, x.type, x.txid, x.seq FROM events x
               WHERE x.owner_id = ep.owner_id AND (x.txid, x.seq) > (ep.cursor_txid, ep.cursor_seq)
                 AND x.txid < h.xmin
               ORDER BY x.txid, x.seq
               LIMIT p_limit) ev),
    created AS (
        INSERT INTO webhook_deliveries (owner_id, id, endpoint_id, event_id, event_type, next_attempt_at,
                                        schedule_started_at, created_at, updated_at)
        SELECT r.owner_id, app_uuid_v7(), r.endpoint_id, r.event_id, r.type, p_now, p_now, p_now, p_now
          FROM read r
         WHERE cardinality(r.event_types) = 0 OR r.type = ANY (r.event_types)
        ORDER BY r.txid, r.seq
        ON CONFLICT DO NOTHING
        RETURNING 1),
    moved AS (
        UPDATE webhook_endpoints e SET cursor_txid = last.txid, cursor_seq = last.seq
          FROM (SELECT DISTINCT ON (owner_id, endpoint_id) owner_id, endpoint_id, txid, seq
                  FROM read ORDER BY owner_id, endpoint_id, txid DESC, seq DESC) last
         WHERE e.owner_id = last.owner_id AND e.id = last.endpoint_id
        RETURNING 1)
    SELECT (SELECT count(*) FROM created) + 0 * (SELECT count(*) FROM moved) INTO v_created;
    IF v_created > 0 THEN
        PERFORM pg_notify('conversa_webhook_deliveries', '');
    END IF;
    RETURN v_created;
END;
$$;
COMMENT ON FUNCTION app_webhook_fan_out(timestamptz, integer) IS 'Creates the deliveries of events written after each enabled endpoint''s position and moves the positions; safe on every instance at once (SKIP LOCKED).';

-- The claim, across tenants: due deliveries of enabled endpoints, never more than
-- p_per_endpoint leased at once per endpoint. The endpoint rows are locked (SKIP LOCKED) while
-- their leases are counted, so two claimers never both fill the same endpoint's slots.
CREATE FUNCTION app_claim_webhook_deliveries(p_now timestamptz, p_limit integer, p_per_endpoint integer,
                                             p_lease interval)
RETURNS TABLE (owner_id uuid, id uuid, lease_id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    WITH ready AS (
        SELECT e.owner_id, e.id FROM webhook_endpoints e
         WHERE e.enabled
           AND EXISTS (SELECT 1 FROM webhook_deliveries s
                        WHERE s.owner_id = e.owner_id AND s.endpoint_id = e.id AND s.state = 'pending'
                          AND s.next_attempt_at <= p_now)
           FOR UPDATE SKIP LOCKED),
    picked AS (
        SELECT d.owner_id, d.id FROM ready r
         CROSS JOIN LATERAL (
             SELECT s.owner_id, s.id, s.next_attempt_at FROM webhook_deliveries s
              WHERE s.owner_id = r.owner_id AND s.endpoint_id = r.id AND s.state = 'pending'
                AND s.next_attempt_at <= p_now AND (s.leased_until IS NULL OR s.leased_until <= p_now)
              ORDER BY s.next_attempt_at
              LIMIT greatest(p_per_endpoint - (
                  SELECT count(*) FROM webhook_deliveries l
                   WHERE l.owner_id = r.owner_id AND l.endpoint_id = r.id AND l.state = 'pending'
                     AND l.leased_until > p_now), 0)) d
         ORDER BY d.next_attempt_at
         LIMIT p_limit)
    UPDATE webhook_deliveries w SET leased_until = p_now + p_lease, lease_id = gen_random_uuid()
      FROM picked
     WHERE w.owner_id = picked.owner_id AND w.id = picked.id
    RETURNING w.owner_id, w.id, w.lease_id
$$;
COMMENT ON FUNCTION app_claim_webhook_deliveries(timestamptz, integer, integer, interval) IS 'Claims due deliveries across tenants (SKIP LOCKED), at most p_per_endpoint leased per endpoint, each claim with a fresh lease id.';

-- Monitoring, across tenants.
CREATE FUNCTION app_webhook_queue_depth(p_now timestamptz)
RETURNS TABLE (due bigint, scheduled bigint, oldest_due_at timestamptz, disabled_endpoints bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT count(*) FILTER (WHERE d.next_attempt_at <= p_now),
           count(*) FILTER (WHERE d.next_attempt_at > p_now),
           min(d.next_attempt_at) FILTER (WHERE d.next_attempt_at <= p_now),
           (SELECT count(*) FROM webhook_endpoints WHERE NOT enabled)
      FROM webhook_deliveries d WHERE d.state = 'pending'
$$;
COMMENT ON FUNCTION app_webhook_queue_depth(timestamptz) IS 'Deliveries due and scheduled, the oldest due time, and disabled endpoints, across tenants.';

ALTER FUNCTION app_webhook_fan_out(timestamptz, integer) OWNER TO conversa_maintenance;
ALTER FUNCTION app_claim_webhook_deliveries(timestamptz, integer, integer, interval) OWNER TO conversa_maintenance;
ALTER FUNCTION app_webhook_queue_depth(timestamptz) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_webhook_fan_out(timestamptz, integer),
    app_claim_webhook_deliveries(timestamptz, integer, integer, interval), app_webhook_queue_depth(timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_webhook_fan_out(timestamptz, integer),
    app_claim_webhook_deliveries(timestamptz, integer, integer, interval), app_webhook_queue_depth(timestamptz),
    app_events_end(uuid) TO conversa_app;

-- `conversa keys rotate` re-seals webhook secrets beside Twilio tokens (ADR 0016): the same two
-- functions for them, granted to the migrating role only.
CREATE FUNCTION app_sealed_webhook_secrets(p_after_owner uuid, p_after_id uuid, p_limit integer)
RETURNS TABLE (owner_id uuid, id uuid, secret_encrypted bytea, previous_secret_encrypted bytea)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT e.owner_id, e.id, e.secret_encrypted, e.previous_secret_encrypted
      FROM webhook_endpoints e
     WHERE p_after_owner IS NULL OR (e.owner_id, e.id) > (p_after_owner, p_after_id)
     ORDER BY e.owner_id, e.id
     LIMIT p_limit
       FOR UPDATE
$$;
COMMENT ON FUNCTION app_sealed_webhook_secrets(uuid, uuid, integer) IS 'Key rotation: a page of every tenant''s sealed webhook secrets in (owner_id, id) order, locked FOR UPDATE.';

CREATE FUNCTION app_reseal_webhook_secrets(p_owner_id uuid, p_id uuid, p_secret bytea, p_previous bytea)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE webhook_endpoints SET secret_encrypted = p_secret, previous_secret_encrypted = p_previous
     WHERE owner_id = p_owner_id AND id = p_id
$$;
COMMENT ON FUNCTION app_reseal_webhook_secrets(uuid, uuid, bytea, bytea) IS 'Key rotation: stores an endpoint''s secrets re-sealed under the current key.';

ALTER FUNCTION app_sealed_webhook_secrets(uuid, uuid, integer) OWNER TO conversa_maintenance;
ALTER FUNCTION app_reseal_webhook_secrets(uuid, uuid, bytea, bytea) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_sealed_webhook_secrets(uuid, uuid, integer),
    app_reseal_webhook_secrets(uuid, uuid, bytea, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_sealed_webhook_secrets(uuid, uuid, integer),
    app_reseal_webhook_secrets(uuid, uuid, bytea, bytea) TO CURRENT_USER;
