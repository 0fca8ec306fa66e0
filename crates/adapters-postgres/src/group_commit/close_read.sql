-- The rest of the close read, after `WITH input AS (…)` (owner_id, conversation_id,
-- message_id, result_id, ordinal): what each verdict of the close statement before it came to,
-- as app_close_detected answers it: the conversation as it stands (NULLs when the tenant has
-- none with that id), whether the verdict closed it (its assessment is stored), whether the
-- message is the conversation's, whether it is the customer's latest, and the assessment.
SELECT i.ordinal,
       c.owner_id, c.id, c.channel, c.customer_phone, c.business_phone, c.status, c.context, c.metadata,
       c.expires_at, c.idle_timeout_seconds, c.idle_deadline_at, c.max_extension_seconds, c.max_expires_at,
       c.last_message_at, c.last_inbound_at, c.message_count, c.closed_at, c.close_reason, c.created_at,
       c.updated_at, c.last_inbound_message_id, c.pending_closure_message_id, c.pending_closure_closes_at,
       c.pending_closure_score, c.pending_closure_reason,
       a.id IS NOT NULL,
       m.id IS NOT NULL,
       c.last_inbound_message_id IS NOT DISTINCT FROM i.message_id,
       a.owner_id, a.id, a.conversation_id, a.message_id, a.kind, a.model, a.content, a.score, a.created_at
  FROM input i
  -- Lookups by key are LATERAL subqueries (see inbound_batch.sql's first one for why).
  LEFT JOIN LATERAL (SELECT * FROM conversations c
                      WHERE c.owner_id = i.owner_id AND c.id = i.conversation_id LIMIT 1) c ON true
  LEFT JOIN LATERAL (SELECT * FROM ai_results a
                      WHERE a.owner_id = i.owner_id AND a.id = i.result_id LIMIT 1) a ON true
  LEFT JOIN LATERAL (SELECT m.id FROM messages m
                      WHERE m.owner_id = i.owner_id AND m.id = i.message_id AND m.conversation_id = i.conversation_id
                      LIMIT 1) m ON true
 ORDER BY i.ordinal
