ALTER FUNCTION app_propose_closure RESET plan_cache_mode;
ALTER FUNCTION app_close_detected RESET plan_cache_mode;
ALTER FUNCTION app_receive_inbound RESET plan_cache_mode;
DROP FUNCTION app_inbound_batch_complete(bigint, bigint);

-- The row triggers of 000013, as they were.
DROP TRIGGER message_status_updated ON messages;
DROP TRIGGER message_created ON messages;
DROP TRIGGER conversation_changed ON conversations;
DROP TRIGGER conversation_created ON conversations;
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
