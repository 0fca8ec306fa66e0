-- The webhook's statements set-based (ADR 0021). The batch statements of the webhook
-- (adapters-postgres, group_commit/*.sql) record a batch's messages and verdicts in one
-- statement and write their events in that statement too, in one INSERT … SELECT: the row
-- triggers of 000013 would call PL/pgSQL and start an INSERT's executor for every row, which
-- measured at a third of PostgreSQL's time per webhook. Those statements say so by setting
-- `app.events` to `by_statement` in their transaction (is_local: it ends with it); the
-- triggers stand aside then, and only then. Every other path (the API, the sweeper, a single
-- webhook, a batch stored again one by one) keeps its events from the triggers.

DROP TRIGGER message_status_updated ON messages;
DROP TRIGGER message_created ON messages;
DROP TRIGGER conversation_changed ON conversations;
DROP TRIGGER conversation_created ON conversations;

CREATE TRIGGER conversation_created AFTER INSERT ON conversations
    FOR EACH ROW WHEN (current_setting('app.events', true) IS DISTINCT FROM 'by_statement')
    EXECUTE FUNCTION app_conversation_events();
CREATE TRIGGER conversation_changed AFTER UPDATE ON conversations
    FOR EACH ROW WHEN (current_setting('app.events', true) IS DISTINCT FROM 'by_statement'
                       AND ((NEW.status IS DISTINCT FROM OLD.status AND NEW.status NOT IN ('pending', 'progress'))
                            OR NEW.expires_at > OLD.expires_at
                            OR (NEW.pending_closure_message_id IS NOT NULL
                                AND NEW.pending_closure_message_id IS DISTINCT FROM OLD.pending_closure_message_id)))
    EXECUTE FUNCTION app_conversation_events();
CREATE TRIGGER message_created AFTER INSERT ON messages
    FOR EACH ROW WHEN (current_setting('app.events', true) IS DISTINCT FROM 'by_statement')
    EXECUTE FUNCTION app_message_events();
CREATE TRIGGER message_status_updated AFTER UPDATE ON messages
    FOR EACH ROW WHEN (current_setting('app.events', true) IS DISTINCT FROM 'by_statement'
                       AND (NEW.delivery_status IS DISTINCT FROM OLD.delivery_status
                            OR NEW.error_code IS DISTINCT FROM OLD.error_code))
    EXECUTE FUNCTION app_message_events();

-- The webhook's batch statement (adapters-postgres, group_commit/inbound_batch.sql) records its
-- messages set-based; this is its last check: every message it was given and did not find
-- stored was recorded, else (a MessageSid or a conversation committed concurrently, after the
-- statement's snapshot) the statement fails as a whole, nothing of it is kept, and the batch
-- is stored again one message at a time by app_receive_inbound, which resolves those.
CREATE FUNCTION app_inbound_batch_complete(p_recorded bigint, p_expected bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF p_recorded <> p_expected THEN
        RAISE EXCEPTION 'a batch of % new inbound messages recorded %', p_expected, p_recorded
            USING ERRCODE = 'serialization_failure',
                  HINT = 'a message or conversation of the batch was stored concurrently: store them one by one';
    END IF;
    RETURN true;
END;
$$;
COMMENT ON FUNCTION app_inbound_batch_complete(bigint, bigint) IS 'The inbound batch statement''s last check: raises a serialization failure unless every new message of the batch was recorded.';
REVOKE ALL ON FUNCTION app_inbound_batch_complete(bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_inbound_batch_complete(bigint, bigint) TO conversa_app;

-- The webhook's functions look rows up by key only: a generic plan is as good as any, and
-- PostgreSQL's default (custom plans while they look cheaper) planned their statements again
-- on nearly every call, a large share of their time (ADR 0021).
ALTER FUNCTION app_receive_inbound SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION app_close_detected SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION app_propose_closure SET plan_cache_mode = force_generic_plan;
