-- The rest of the batch statement, after `WITH input AS (…)` (one row per message, with its
-- ordinal): app_receive_inbound's work for every message at once, set-based, so the executor
-- starts once per batch rather than a few times per message (ADR 0021). The batch holds one
-- tenant's messages (row-level security is scoped before it) and at most one message per
-- conversation and per MessageSid (group_commit splits the others off). What it does not
-- resolve on its own (a MessageSid or a conversation committed concurrently, after its
-- snapshot) fails the whole statement, and the batch is stored again one message at a time
-- by app_receive_inbound.

-- A retry of a stored MessageSid: nothing is written for it. The batch statements read a table
-- by key through a LATERAL subquery with LIMIT 1 (the LIMIT keeps PostgreSQL from flattening it
-- back into a join), so the key is a condition of the table's index scan: as a join, a generic
-- plan made before a new database's first ANALYZE read all of the tenant's rows through the
-- row-level security predicate and filtered them, until the next ANALYZE. How far this goes,
-- and what it does not cover (the UPDATEs' targets): ADR 0021's addendum.
stored AS (
    SELECT i.ordinal, m.*
      FROM input i
     CROSS JOIN LATERAL (
            SELECT m.owner_id, m.id, m.conversation_id, m.direction, m.sender, m.message_type, m.body, m.media,
                   m.context, m.metadata, m.provider_sid, m.delivery_status, m.error_code, m.error_message,
                   m.created_at, m.updated_at
              FROM messages m
             WHERE m.owner_id = i.owner_id AND m.provider_sid = i.provider_sid
             LIMIT 1) m
),
fresh AS (
    SELECT i.* FROM input i WHERE NOT EXISTS (SELECT FROM stored s WHERE s.ordinal = i.ordinal)
),
-- An active conversation past its expiry, not swept yet, is closed before the message opens a
-- new one (the upsert below runs after this: it reads its count).
expired AS (
    UPDATE conversations c
       SET status = 'expired', closed_at = f.at, close_reason = 'expired before a new message arrived',
           updated_at = f.at
      FROM fresh f
     WHERE c.owner_id = f.owner_id AND c.channel = f.channel AND c.business_phone = f.business_phone
       AND c.customer_phone = f.customer_phone AND c.status IN ('pending', 'progress')
       AND c.expires_at <= f.at
 RETURNING f.ordinal, c AS rec
),
-- Record the message on the active conversation, or open the candidate with it recorded: the
-- same columns app_receive_inbound changes (an update of an active conversation stays HOT).
-- ON CONFLICT waits for a transaction that opened or changed the same conversation
-- concurrently and records on its outcome, as a second statement would.
recorded AS (
    INSERT INTO conversations AS c (owner_id, id, channel, customer_phone, business_phone, status, context,
                                    metadata, expires_at, idle_timeout_seconds, idle_deadline_at,
                                    max_extension_seconds, max_expires_at, last_message_at, last_inbound_at,
                                    last_inbound_message_id, message_count, created_at, updated_at)
    SELECT f.owner_id, f.conversation_id, f.channel, f.customer_phone, f.business_phone, 'progress',
           f.conversation_context, f.conversation_metadata, f.expires_at, f.idle_timeout_seconds,
           f.at + make_interval(secs => f.idle_timeout_seconds), f.max_extension_seconds, f.max_expires_at,
           f.at, f.at, f.message_id, 1, f.at, f.at
      FROM fresh f
     WHERE (SELECT count(*) FROM expired) >= 0
     ORDER BY f.ordinal
        ON CONFLICT (owner_id, channel, business_phone, customer_phone) WHERE status IN ('pending', 'progress')
        DO UPDATE SET status = CASE WHEN c.status = 'pending' THEN 'progress' ELSE c.status END,
                      last_message_at = greatest(c.last_message_at, excluded.last_message_at),
                      last_inbound_at = greatest(c.last_inbound_at, excluded.last_inbound_at),
                      message_count = c.message_count + 1,
                      last_inbound_message_id = excluded.last_inbound_message_id,
                      -- A newer customer message ends any pending closure.
                      pending_closure_message_id = NULL, pending_closure_closes_at = NULL,
                      pending_closure_score = NULL, pending_closure_reason = NULL,
                      updated_at = excluded.updated_at
                WHERE c.expires_at > excluded.updated_at
 RETURNING c AS rec, c.*
),
conversation AS (
    SELECT f.ordinal, r.id = f.conversation_id AS created, r.*
      FROM fresh f
      JOIN recorded r ON r.owner_id = f.owner_id AND r.channel = f.channel AND r.business_phone = f.business_phone
                     AND r.customer_phone = f.customer_phone
),
inserted AS (
    INSERT INTO messages AS m (owner_id, id, conversation_id, direction, sender, message_type, body, media, context,
                          metadata, provider_sid, delivery_status, created_at, updated_at)
    SELECT f.owner_id, f.message_id, c.id, f.direction, f.sender, f.message_type, f.body, f.media, f.context,
           f.metadata, f.provider_sid, f.delivery_status, f.at, f.at
      FROM conversation c
      JOIN fresh f ON f.ordinal = c.ordinal
     ORDER BY c.ordinal
        ON CONFLICT DO NOTHING
 RETURNING m AS rec, m.*
),
-- The statement's events, as the triggers of 000013 would write them (they stand aside: the
-- transaction set app.events), for each message in turn: the closed expired conversation, the
-- opened one, the message.
written AS (
    INSERT INTO events (owner_id, id, type, conversation_id, occurred_at, txid, seq, data)
    SELECT e.owner_id, app_uuid_v7(), e.type, e.conversation_id, now(), pg_current_xact_id()::text::bigint,
           nextval('events_seq'), e.data
      FROM (SELECT (x.rec).owner_id, 'conversation.closed' AS type, (x.rec).id AS conversation_id,
                   app_conversation_json(x.rec) AS data, x.ordinal, 1 AS rank
              FROM expired x
            UNION ALL
            SELECT c.owner_id, 'conversation.created', c.id, app_conversation_json(c.rec), c.ordinal, 2
              FROM conversation c
             WHERE c.created
            UNION ALL
            SELECT m.owner_id, 'message.created', m.conversation_id, app_message_json(m.rec), c.ordinal, 3
              FROM inserted m
              JOIN conversation c ON c.owner_id = m.owner_id AND c.id = m.conversation_id) e
     ORDER BY e.ordinal, e.rank
 RETURNING 1
),
answer AS (
    SELECT c.ordinal, c.owner_id, c.id, c.channel, c.customer_phone, c.business_phone, c.status, c.context,
           c.metadata, c.expires_at, c.idle_timeout_seconds, c.idle_deadline_at, c.max_extension_seconds,
           c.max_expires_at, c.last_message_at, c.last_inbound_at, c.message_count, c.closed_at, c.close_reason,
           c.created_at, c.updated_at, c.last_inbound_message_id, c.pending_closure_message_id,
           c.pending_closure_closes_at, c.pending_closure_score, c.pending_closure_reason,
           m.owner_id, m.id, m.conversation_id, m.direction, m.sender, m.message_type, m.body, m.media,
           m.context, m.metadata, m.provider_sid, m.delivery_status, m.error_code, m.error_message,
           m.created_at, m.updated_at, c.created, false AS duplicate
      FROM conversation c
      JOIN inserted m ON m.owner_id = c.owner_id AND m.conversation_id = c.id
    UNION ALL
    SELECT s.ordinal, c.owner_id, c.id, c.channel, c.customer_phone, c.business_phone, c.status, c.context,
           c.metadata, c.expires_at, c.idle_timeout_seconds, c.idle_deadline_at, c.max_extension_seconds,
           c.max_expires_at, c.last_message_at, c.last_inbound_at, c.message_count, c.closed_at, c.close_reason,
           c.created_at, c.updated_at, c.last_inbound_message_id, c.pending_closure_message_id,
           c.pending_closure_closes_at, c.pending_closure_score, c.pending_closure_reason,
           s.owner_id, s.id, s.conversation_id, s.direction, s.sender, s.message_type, s.body, s.media,
           s.context, s.metadata, s.provider_sid, s.delivery_status, s.error_code, s.error_message,
           s.created_at, s.updated_at, false, true
      FROM stored s
     CROSS JOIN LATERAL (SELECT * FROM conversations c
                          WHERE c.owner_id = s.owner_id AND c.id = s.conversation_id
                          LIMIT 1) c
)
-- Every message recorded (and nothing else half-done): else the statement fails as a whole.
SELECT * FROM answer
 WHERE app_inbound_batch_complete((SELECT count(*) FROM inserted), (SELECT count(*) FROM fresh))
   AND (SELECT count(*) FROM written) >= 0
 ORDER BY ordinal
