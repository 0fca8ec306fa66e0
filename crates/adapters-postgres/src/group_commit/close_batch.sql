-- The rest of the close statement, after `WITH input AS (…)` (one row per verdict, with its
-- ordinal): app_close_detected's writes for every verdict at once, set-based (ADR 0021). The
-- batch holds one tenant's verdicts (row-level security is scoped before it), at most one per
-- conversation. What each verdict came to is read by the statement after it
-- (close_read.sql), in the same transaction.

-- Closed only on the customer's latest message, and only when the message is the
-- conversation's: the row lock orders this against a newer message's update (which waits, or
-- is waited for and re-checked), so a verdict on message N never closes after N+1 is stored.
closed AS (
    UPDATE conversations c
       SET status = 'user_closed', closed_at = i.at, close_reason = i.reason, updated_at = i.at,
           pending_closure_message_id = NULL, pending_closure_closes_at = NULL,
           pending_closure_score = NULL, pending_closure_reason = NULL
      FROM input i
     WHERE c.owner_id = i.owner_id AND c.id = i.conversation_id AND c.status IN ('pending', 'progress')
       AND c.last_inbound_message_id = i.message_id
       AND EXISTS (SELECT FROM messages m
                    WHERE m.owner_id = i.owner_id AND m.id = i.message_id AND m.conversation_id = i.conversation_id)
 RETURNING i.ordinal, c AS rec
),
-- The assessment of each close.
assessed AS (
    INSERT INTO ai_results (owner_id, id, conversation_id, message_id, kind, model, content, score, created_at,
                            updated_at)
    SELECT i.owner_id, i.result_id, i.conversation_id, i.message_id, i.kind, i.model, i.content, i.score, i.at, i.at
      FROM closed k
      JOIN input i ON i.ordinal = k.ordinal
     ORDER BY i.ordinal
 RETURNING id
),
-- The closes' events, as the trigger of 000013 would write them (it stands aside: the
-- transaction set app.events).
written AS (
    INSERT INTO events (owner_id, id, type, conversation_id, occurred_at, txid, seq, data)
    SELECT (k.rec).owner_id, app_uuid_v7(), 'conversation.closed', (k.rec).id, now(),
           pg_current_xact_id()::text::bigint, nextval('events_seq'), app_conversation_json(k.rec)
      FROM closed k
     ORDER BY k.ordinal
 RETURNING 1
)
SELECT (SELECT count(*) FROM assessed) + 0 * (SELECT count(*) FROM written)
