DROP TRIGGER owners_notify ON owners;
DROP TRIGGER features_notify ON features;
DROP TRIGGER twilio_accounts_notify ON twilio_accounts;
DROP FUNCTION app_notify_webhook_account_change();
DROP FUNCTION app_close_detected;
DROP FUNCTION app_receive_inbound;
ALTER TABLE conversations RESET (fillfactor);
COMMENT ON COLUMN conversations.idle_deadline_at IS 'coalesce(last_message_at, created_at) + idle timeout, kept by the service so the idle sweep is an index range scan.';
ALTER TABLE messages
    ALTER COLUMN direction TYPE text,
    ALTER COLUMN sender TYPE text,
    ALTER COLUMN message_type TYPE text,
    ALTER COLUMN body TYPE text,
    ALTER COLUMN media TYPE jsonb,
    ALTER COLUMN context TYPE jsonb,
    ALTER COLUMN metadata TYPE jsonb,
    ALTER COLUMN delivery_status TYPE text,
    ADD CONSTRAINT messages_direction_check CHECK (direction IN ('inbound', 'outbound')),
    ADD CONSTRAINT messages_sender_check CHECK (sender IN ('user', 'agent', 'system', 'tool', 'support')),
    ADD CONSTRAINT messages_message_type_check CHECK (message_type IN ('text', 'image', 'audio', 'video', 'document')),
    ADD CONSTRAINT messages_body_check CHECK (length(body) BETWEEN 1 AND 4096),
    ADD CONSTRAINT messages_media_check CHECK (jsonb_typeof(media) = 'array'),
    ADD CONSTRAINT messages_context_check CHECK (jsonb_typeof(context) = 'object'),
    ADD CONSTRAINT messages_metadata_check CHECK (jsonb_typeof(metadata) = 'object'),
    ADD CONSTRAINT messages_delivery_status_check CHECK (delivery_status IN
        ('accepted', 'scheduled', 'queued', 'sending', 'sent', 'delivered', 'read', 'undelivered', 'failed', 'canceled',
         'receiving', 'received'));
ALTER TABLE conversations
    ALTER COLUMN channel TYPE text,
    ALTER COLUMN customer_phone TYPE text,
    ALTER COLUMN business_phone TYPE text,
    ALTER COLUMN status TYPE text,
    ALTER COLUMN context TYPE jsonb,
    ALTER COLUMN metadata TYPE jsonb,
    ALTER COLUMN idle_timeout_seconds TYPE integer,
    ALTER COLUMN max_extension_seconds TYPE integer,
    ALTER COLUMN message_count TYPE bigint,
    ADD CONSTRAINT conversations_channel_check CHECK (channel IN ('sms', 'whatsapp')),
    ADD CONSTRAINT conversations_customer_phone_check CHECK (customer_phone ~ '^\+[1-9][0-9]{7,14}$'),
    ADD CONSTRAINT conversations_business_phone_check CHECK (business_phone ~ '^\+[1-9][0-9]{7,14}$'),
    ADD CONSTRAINT conversations_status_check CHECK (status IN
        ('pending', 'progress', 'agent_closed', 'support_closed', 'user_closed', 'expired', 'idle_timeout', 'failed')),
    ADD CONSTRAINT conversations_context_check CHECK (jsonb_typeof(context) = 'object'),
    ADD CONSTRAINT conversations_metadata_check CHECK (jsonb_typeof(metadata) = 'object'),
    ADD CONSTRAINT conversations_idle_timeout_seconds_check CHECK (idle_timeout_seconds > 0),
    ADD CONSTRAINT conversations_max_extension_seconds_check CHECK (max_extension_seconds > 0),
    ADD CONSTRAINT conversations_message_count_check CHECK (message_count >= 0);
DROP DOMAIN conversa_delivery_status, conversa_message_body, conversa_message_type, conversa_sender, conversa_direction,
    conversa_count, conversa_positive_seconds, conversa_json_array, conversa_json_object, conversa_conversation_status,
    conversa_e164, conversa_channel;
