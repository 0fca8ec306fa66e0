DROP FUNCTION app_twilio_account_by_sid(text);
CREATE FUNCTION app_twilio_account_by_sid(p_account_sid text)
RETURNS TABLE (owner_id uuid, id uuid, account_sid text, friendly_name text, phone_numbers text[], active boolean,
               created_at timestamptz, updated_at timestamptz, auth_token_encrypted bytea, features jsonb)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT a.owner_id, a.id, a.account_sid, a.friendly_name, a.phone_numbers, a.active, a.created_at, a.updated_at,
           a.auth_token_encrypted,
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'owner_id', f.owner_id, 'id', f.id, 'name', f.name, 'enabled', f.enabled,
                       'config', f.config, 'created_at', f.created_at, 'updated_at', f.updated_at)
                       ORDER BY f.name), '[]'::jsonb)
              FROM features f
             WHERE f.owner_id = a.owner_id
               AND f.name IN ('closure_detection', 'conversation_lifecycle', 'auto_reply'))
      FROM twilio_accounts a
      JOIN owners o ON o.id = a.owner_id AND o.active
     WHERE a.account_sid = p_account_sid AND a.active
$$;
COMMENT ON FUNCTION app_twilio_account_by_sid(text) IS 'The active account (encrypted token included) a webhook names and the settings the service reads from its tenant''s features (closure_detection, conversation_lifecycle, auto_reply), before the tenant is known.';
ALTER FUNCTION app_twilio_account_by_sid(text) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_twilio_account_by_sid(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_twilio_account_by_sid(text) TO conversa_app;
ALTER TABLE twilio_accounts DROP COLUMN messaging_service_sid;
CREATE OR REPLACE FUNCTION app_message_json(m messages) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', m.id, 'conversation_id', m.conversation_id, 'direction', m.direction, 'sender', m.sender,
        'message_type', m.message_type, 'body', m.body, 'media', m.media, 'context', m.context,
        'metadata', m.metadata, 'provider_sid', m.provider_sid, 'delivery_status', m.delivery_status,
        'error_code', m.error_code, 'error_message', m.error_message,
        'created_at', app_json_time(m.created_at), 'updated_at', app_json_time(m.updated_at))
$$;
ALTER TABLE messages DROP CONSTRAINT messages_check,
    ADD CONSTRAINT messages_check CHECK (body IS NOT NULL OR jsonb_array_length(media) > 0);
ALTER TABLE messages DROP COLUMN template;
CREATE OR REPLACE FUNCTION app_receive_inbound(
    p_owner_id uuid,
    -- The conversation to open if none is active (the domain's Conversation::open).
    p_conversation_id uuid, p_channel text, p_customer_phone text, p_business_phone text,
    p_conversation_context jsonb, p_conversation_metadata jsonb, p_expires_at timestamptz,
    p_idle_timeout_seconds integer, p_max_extension_seconds integer, p_max_expires_at timestamptz,
    -- The message (the domain's NewMessage).
    p_message_id uuid, p_direction text, p_sender text, p_message_type text, p_body text, p_media jsonb,
    p_context jsonb, p_metadata jsonb, p_provider_sid text, p_delivery_status text,
    -- Closure detection's window (messages, the new one included) and the time of the message.
    p_window integer, p_at timestamptz)
RETURNS TABLE (
    c_owner_id uuid, c_id uuid, c_channel conversa_channel, c_customer_phone conversa_e164,
    c_business_phone conversa_e164, c_status conversa_conversation_status, c_context conversa_json_object,
    c_metadata conversa_json_object, c_expires_at timestamptz, c_idle_timeout_seconds conversa_positive_seconds,
    c_idle_deadline_at timestamptz, c_max_extension_seconds conversa_positive_seconds, c_max_expires_at timestamptz,
    c_last_message_at timestamptz, c_last_inbound_at timestamptz, c_message_count conversa_count,
    c_closed_at timestamptz, c_close_reason text, c_created_at timestamptz, c_updated_at timestamptz,
    c_last_inbound_message_id uuid, c_pending_closure_message_id uuid, c_pending_closure_closes_at timestamptz,
    c_pending_closure_score double precision, c_pending_closure_reason text,
    m_owner_id uuid, m_id uuid, m_conversation_id uuid, m_direction conversa_direction, m_sender conversa_sender,
    m_message_type conversa_message_type, m_body conversa_message_body, m_media conversa_json_array,
    m_context conversa_json_object, m_metadata conversa_json_object, m_provider_sid text,
    m_delivery_status conversa_delivery_status,
    m_error_code integer, m_error_message text, m_created_at timestamptz, m_updated_at timestamptz,
    created boolean, duplicate boolean,
    -- The turns before the message in closure detection's window, oldest first: what the
    -- detector reads of them (who spoke, what, when), not whole rows.
    recent_senders text[], recent_bodies text[], recent_created_at timestamptz[])
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    c conversations;
    m messages;
    v_created boolean := false;
    v_senders text[] := '{}';
    v_bodies text[] := '{}';
    v_created_at timestamptz[] := '{}';
BEGIN
    PERFORM set_config('app.owner_id', p_owner_id::text, true);

    -- A retry of a stored MessageSid: nothing is written.
    SELECT * INTO m FROM messages WHERE owner_id = p_owner_id AND provider_sid = p_provider_sid;
    IF FOUND THEN
        SELECT * INTO c FROM conversations WHERE owner_id = p_owner_id AND id = m.conversation_id;
        RETURN QUERY SELECT (c).*, (m).*, false, true, '{}'::text[], '{}'::text[], '{}'::timestamptz[];
        RETURN;
    END IF;

    -- Record the message on the active conversation (the UPDATE takes the row lock a SELECT …
    -- FOR UPDATE would have, in the same statement): Conversation::record_message for an inbound
    -- message, only the columns that change, and no indexed one after the first message
    -- (idle_deadline_at is left as it is, see below), so a HOT update: no new index entries, the
    -- row stays on its page. Nearly always the first pass ends here. Otherwise none is active, or
    -- only one past its expiry, not swept yet: close that one and open the candidate, with the
    -- message already recorded. ON CONFLICT DO NOTHING: when a concurrent first message opened
    -- it, this waits for that transaction, and the next pass records on the winner.
    FOR attempt IN 1..3 LOOP
        UPDATE conversations
           SET status = CASE WHEN status = 'pending' THEN 'progress' ELSE status END,
               last_message_at = greatest(last_message_at, p_at),
               last_inbound_at = greatest(last_inbound_at, p_at),
               message_count = message_count + 1,
               last_inbound_message_id = p_message_id,
               -- A newer customer message ends any pending closure: it is assessed on its own.
               -- (NULL over NULL is no change: the update stays HOT.)
               pending_closure_message_id = NULL, pending_closure_closes_at = NULL,
               pending_closure_score = NULL, pending_closure_reason = NULL,
               updated_at = p_at
         WHERE owner_id = p_owner_id AND channel = p_channel AND business_phone = p_business_phone
           AND customer_phone = p_customer_phone AND status IN ('pending', 'progress') AND expires_at > p_at
        RETURNING * INTO c;
        EXIT WHEN FOUND;
        UPDATE conversations
           SET status = 'expired', closed_at = p_at, close_reason = 'expired before a new message arrived',
               updated_at = p_at
         WHERE owner_id = p_owner_id AND channel = p_channel AND business_phone = p_business_phone
           AND customer_phone = p_customer_phone AND status IN ('pending', 'progress') AND expires_at <= p_at;
        INSERT INTO conversations (owner_id, id, channel, customer_phone, business_phone, status, context,
                                   metadata, expires_at, idle_timeout_seconds, idle_deadline_at,
                                   max_extension_seconds, max_expires_at, last_message_at, last_inbound_at,
                                   last_inbound_message_id, message_count, created_at, updated_at)
        VALUES (p_owner_id, p_conversation_id, p_channel, p_customer_phone, p_business_phone, 'progress',
                p_conversation_context, p_conversation_metadata, p_expires_at, p_idle_timeout_seconds,
                p_at + make_interval(secs => p_idle_timeout_seconds), p_max_extension_seconds,
                p_max_expires_at, p_at, p_at, p_message_id, 1, p_at, p_at)
        ON CONFLICT DO NOTHING
        RETURNING * INTO c;
        IF FOUND THEN
            v_created := true;
            EXIT;
        END IF;
    END LOOP;
    IF c.id IS NULL THEN
        RAISE EXCEPTION 'the active conversation kept changing' USING ERRCODE = 'serialization_failure';
    END IF;

    INSERT INTO messages (owner_id, id, conversation_id, direction, sender, message_type, body, media, context,
                          metadata, provider_sid, delivery_status, created_at, updated_at)
    VALUES (p_owner_id, p_message_id, c.id, p_direction, p_sender, p_message_type, p_body, p_media, p_context,
            p_metadata, p_provider_sid, p_delivery_status, p_at, p_at)
    ON CONFLICT DO NOTHING
    RETURNING * INTO m;
    IF NOT FOUND THEN
        -- The same MessageSid was committed meanwhile: undo the conversation's change. The
        -- caller retries, and the retry answers it as the duplicate it is.
        RAISE EXCEPTION 'inbound message stored concurrently' USING ERRCODE = 'serialization_failure';
    END IF;

    IF p_window > 1 AND NOT v_created THEN
        SELECT coalesce(array_agg(r.sender::text ORDER BY r.id), '{}'),
               coalesce(array_agg(r.body::text ORDER BY r.id), '{}'),
               coalesce(array_agg(r.created_at ORDER BY r.id), '{}')
          INTO v_senders, v_bodies, v_created_at
          FROM (SELECT id, sender, body, created_at FROM messages
                 WHERE owner_id = p_owner_id AND conversation_id = c.id AND id <> m.id
                 ORDER BY id DESC LIMIT p_window - 1) r;
    END IF;
    RETURN QUERY SELECT (c).*, (m).*, v_created, false, v_senders, v_bodies, v_created_at;
END;
$$;
DROP TABLE send_usage;
