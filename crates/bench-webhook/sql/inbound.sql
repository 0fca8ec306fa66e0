-- One inbound webhook, statement for statement as the service runs it (see
-- crates/bench-webhook/README.md), as the application role under row-level security.
-- Variables from the command line: owner, account_sid, business, customers, tag.
\set c random(0, :customers - 1)
\set phone 5511900000000 + :c
\set r random(1, 999999999999999)
-- The tenant, its account (with the sealed token) and its features, by the webhook's AccountSid.
SELECT owner_id, id, account_sid, friendly_name, phone_numbers, active, created_at, updated_at, auth_token_encrypted,
       features
  FROM app_twilio_account_by_sid(:account_sid);
-- Store the message once per MessageSid in the active conversation, and read the latest turns,
-- in the service's three round trips: scope and duplicate check (pipelined), the locked active
-- conversation, then message, conversation and earlier turns (pipelined).
BEGIN;
\startpipeline
SELECT set_config('app.owner_id', :owner, true);
SELECT owner_id, id, conversation_id, direction, sender, message_type, body, media, context, metadata, provider_sid,
       delivery_status, error_code, error_message, created_at, updated_at
  FROM messages WHERE owner_id = :owner::uuid AND provider_sid = 'SMpg' || :tag::text || :r::text LIMIT 1;
\endpipeline
SELECT id AS conversation_id, expires_at, idle_deadline_at, max_expires_at, message_count, created_at AS opened_at,
       owner_id, channel, customer_phone, business_phone, status, context, metadata, idle_timeout_seconds,
       max_extension_seconds, last_message_at, last_inbound_at, closed_at, close_reason, updated_at
  FROM conversations
 WHERE owner_id = :owner::uuid AND channel = 'sms' AND business_phone = :business
   AND customer_phone = '+' || :phone::text AND status = ANY('{pending,progress}'::text[])
 LIMIT 1 FOR UPDATE \gset
\startpipeline
INSERT INTO messages (owner_id, id, conversation_id, direction, sender, message_type, body, media, context, metadata,
                      provider_sid, delivery_status, error_code, error_message, created_at, updated_at)
VALUES (:owner::uuid, bench_uuid_v7(), :conversation_id::uuid, 'inbound', 'user', 'text',
        'Qual é o prazo de entrega para São Paulo?', '[]', '{}', '{}', 'SMpg' || :tag::text || :r::text, 'received',
        NULL, NULL, now(), now())
ON CONFLICT DO NOTHING
RETURNING owner_id, id, conversation_id, direction, sender, message_type, body, media, context, metadata,
          provider_sid, delivery_status, error_code, error_message, created_at, updated_at;
UPDATE conversations
   SET channel = 'sms', customer_phone = '+' || :phone::text, business_phone = :business, status = 'progress',
       context = '{}', metadata = '{}', expires_at = :expires_at::timestamptz, idle_timeout_seconds = 3600,
       idle_deadline_at = now() + interval '1 hour', max_extension_seconds = 86400,
       max_expires_at = :max_expires_at::timestamptz, last_message_at = now(), last_inbound_at = now(),
       message_count = :message_count + 1, closed_at = NULL, close_reason = NULL,
       created_at = :opened_at::timestamptz, updated_at = now()
 WHERE owner_id = :owner::uuid AND id = :conversation_id::uuid
RETURNING owner_id, id, channel, customer_phone, business_phone, status, context, metadata, expires_at,
          idle_timeout_seconds, idle_deadline_at, max_extension_seconds, max_expires_at, last_message_at,
          last_inbound_at, message_count, closed_at, close_reason, created_at, updated_at;
-- The window's earlier turns (the service excludes the new message by id; here, the newest
-- other than this run's message).
SELECT owner_id, id, conversation_id, direction, sender, message_type, body, media, context, metadata, provider_sid,
       delivery_status, error_code, error_message, created_at, updated_at
  FROM messages
 WHERE owner_id = :owner::uuid AND conversation_id = :conversation_id::uuid
   AND provider_sid IS DISTINCT FROM 'SMpg' || :tag::text || :r::text
 ORDER BY id DESC LIMIT 5;
\endpipeline
COMMIT;
