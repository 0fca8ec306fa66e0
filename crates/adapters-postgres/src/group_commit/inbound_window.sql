-- The rest of the window statement, after `WITH input AS (…)` (owner_id, message_id,
-- window_size, ordinal): for each message the batch statement recorded, the turns before it in
-- closure detection's window (sender, body, time), oldest first, as app_receive_inbound reads
-- them. A statement of its own, after the batch statement in the same transaction, so its
-- snapshot holds every message committed before the batch took the conversation's row lock.
-- A message the batch found stored already (a retry) is not among them: its window is empty,
-- as is that of a conversation the message opened.
SELECT i.ordinal,
       coalesce(w.senders, '{}'), coalesce(w.bodies, '{}'), coalesce(w.created_at, '{}')
  FROM input i
  -- Lookups by key are LATERAL subqueries (see inbound_batch.sql's first one for why).
  LEFT JOIN LATERAL (
        SELECT m.owner_id, m.id, m.conversation_id
          FROM messages m
         WHERE m.owner_id = i.owner_id AND m.id = i.message_id AND i.window_size > 1
         LIMIT 1) m ON true
  LEFT JOIN LATERAL (
        SELECT array_agg(r.sender::text ORDER BY r.id) AS senders,
               array_agg(r.body::text ORDER BY r.id) AS bodies,
               array_agg(r.created_at ORDER BY r.id) AS created_at
          FROM (SELECT p.id, p.sender, p.body, p.created_at
                  FROM messages p
                 WHERE p.owner_id = m.owner_id AND p.conversation_id = m.conversation_id AND p.id <> m.id
                 ORDER BY p.id DESC
                 LIMIT greatest(i.window_size - 1, 0)) r) w ON true
 ORDER BY i.ordinal
