-- Conversa's tables. Every tenant table carries owner_id, and every primary key, unique key and
-- foreign key includes it: the schema can later be distributed by tenant (Citus) unchanged.

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION set_updated_at() IS 'Trigger function: stamps updated_at on every UPDATE.';

CREATE TABLE owners (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email       text        NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE owners IS 'Tenants: businesses running conversations through Conversa.';
COMMENT ON COLUMN owners.id IS 'Tenant id (UUID v7); the owner_id of every tenant row.';
COMMENT ON COLUMN owners.name IS 'Display name.';
COMMENT ON COLUMN owners.email IS 'Contact address, lower-case, unique across tenants.';
COMMENT ON COLUMN owners.active IS 'An inactive tenant''s API keys and webhooks are refused.';
COMMENT ON COLUMN owners.created_at IS 'When the tenant was created.';
COMMENT ON COLUMN owners.updated_at IS 'When the row last changed (trigger).';

CREATE TABLE users (
    owner_id    uuid        NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email       text        NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    role        text        NOT NULL CHECK (role IN ('admin', 'agent', 'viewer')),
    active      boolean     NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, id),
    UNIQUE (owner_id, email)
);
COMMENT ON TABLE users IS 'People and integrations acting for a tenant.';
COMMENT ON COLUMN users.owner_id IS 'Tenant.';
COMMENT ON COLUMN users.id IS 'User id (UUID v7).';
COMMENT ON COLUMN users.name IS 'Display name.';
COMMENT ON COLUMN users.email IS 'Login address, unique within the tenant.';
COMMENT ON COLUMN users.role IS 'viewer reads; agent also writes messages, closes, extends; admin also administers the tenant.';
COMMENT ON COLUMN users.active IS 'An inactive user''s API keys are refused.';
COMMENT ON COLUMN users.created_at IS 'When the user was created.';
COMMENT ON COLUMN users.updated_at IS 'When the row last changed (trigger).';

CREATE TABLE api_keys (
    owner_id     uuid        NOT NULL,
    id           uuid        NOT NULL,
    user_id      uuid        NOT NULL,
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    prefix       text        NOT NULL,
    key_hash     text        NOT NULL UNIQUE,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, id),
    FOREIGN KEY (owner_id, user_id) REFERENCES users (owner_id, id) ON DELETE CASCADE
);
CREATE INDEX api_keys_user_idx ON api_keys (owner_id, user_id);
COMMENT ON TABLE api_keys IS 'API keys, stored only as a SHA-256 hash.';
COMMENT ON COLUMN api_keys.owner_id IS 'Tenant.';
COMMENT ON COLUMN api_keys.id IS 'Key id (UUID v7).';
COMMENT ON COLUMN api_keys.user_id IS 'The user the key acts as.';
COMMENT ON COLUMN api_keys.name IS 'Label chosen by the key''s creator.';
COMMENT ON COLUMN api_keys.prefix IS 'First characters of the key, shown in listings.';
COMMENT ON COLUMN api_keys.key_hash IS 'Hex SHA-256 of the key; the key itself is never stored. Globally unique: authentication looks keys up by it before the tenant is known.';
COMMENT ON COLUMN api_keys.last_used_at IS 'Last successful authentication (updated at most once a minute).';
COMMENT ON COLUMN api_keys.revoked_at IS 'When revoked; a revoked key authenticates nothing.';
COMMENT ON COLUMN api_keys.created_at IS 'When the key was created.';
COMMENT ON COLUMN api_keys.updated_at IS 'When the row last changed (trigger).';

CREATE TABLE features (
    owner_id    uuid        NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    name        text        NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,63}$'),
    enabled     boolean     NOT NULL DEFAULT true,
    config      jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(config) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, id),
    UNIQUE (owner_id, name)
);
COMMENT ON TABLE features IS 'Per-tenant feature switches with a JSON configuration.';
COMMENT ON COLUMN features.owner_id IS 'Tenant.';
COMMENT ON COLUMN features.id IS 'Feature id (UUID v7).';
COMMENT ON COLUMN features.name IS 'Feature name, unique per tenant (closure_detection, conversation_lifecycle, auto_reply, ...).';
COMMENT ON COLUMN features.enabled IS 'Whether the feature is on.';
COMMENT ON COLUMN features.config IS 'Configuration object; known features are validated by the service before writing.';
COMMENT ON COLUMN features.created_at IS 'When the feature was created.';
COMMENT ON COLUMN features.updated_at IS 'When the row last changed (trigger).';

CREATE TABLE twilio_accounts (
    owner_id              uuid        NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    id                    uuid        NOT NULL,
    account_sid           text        NOT NULL UNIQUE CHECK (account_sid ~ '^AC[0-9a-fA-F]{32}$'),
    auth_token_encrypted  bytea       NOT NULL,
    friendly_name         text,
    phone_numbers         text[]      NOT NULL CHECK (cardinality(phone_numbers) > 0),
    active                boolean     NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, id)
);
CREATE INDEX twilio_accounts_numbers_idx ON twilio_accounts USING gin (phone_numbers);
COMMENT ON TABLE twilio_accounts IS 'Tenants'' Twilio accounts: credentials to send with and to validate webhooks against.';
COMMENT ON COLUMN twilio_accounts.owner_id IS 'Tenant.';
COMMENT ON COLUMN twilio_accounts.id IS 'Account id in Conversa (UUID v7).';
COMMENT ON COLUMN twilio_accounts.account_sid IS 'Twilio Account SID (AC...); unique: webhooks identify the tenant by it.';
COMMENT ON COLUMN twilio_accounts.auth_token_encrypted IS 'Auth token, AES-256-GCM: 12-byte nonce followed by ciphertext and tag. Never returned by an API query.';
COMMENT ON COLUMN twilio_accounts.friendly_name IS 'Label.';
COMMENT ON COLUMN twilio_accounts.phone_numbers IS 'Numbers in Twilio''s form (+E164 for SMS, whatsapp:+E164 for WhatsApp).';
COMMENT ON COLUMN twilio_accounts.active IS 'Inactive accounts neither receive nor send.';
COMMENT ON COLUMN twilio_accounts.created_at IS 'When the account was registered.';
COMMENT ON COLUMN twilio_accounts.updated_at IS 'When the row last changed (trigger).';

CREATE TABLE conversations (
    owner_id              uuid        NOT NULL REFERENCES owners (id) ON DELETE CASCADE,
    id                    uuid        NOT NULL,
    channel               text        NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    customer_phone        text        NOT NULL CHECK (customer_phone ~ '^\+[1-9][0-9]{7,14}$'),
    business_phone        text        NOT NULL CHECK (business_phone ~ '^\+[1-9][0-9]{7,14}$'),
    status                text        NOT NULL DEFAULT 'pending' CHECK (status IN
                              ('pending', 'progress', 'agent_closed', 'support_closed', 'user_closed',
                               'expired', 'idle_timeout', 'failed')),
    context               jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(context) = 'object'),
    metadata              jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    expires_at            timestamptz NOT NULL,
    idle_timeout_seconds  integer     NOT NULL CHECK (idle_timeout_seconds > 0),
    idle_deadline_at      timestamptz NOT NULL,
    max_extension_seconds integer     NOT NULL CHECK (max_extension_seconds > 0),
    max_expires_at        timestamptz NOT NULL,
    last_message_at       timestamptz,
    last_inbound_at       timestamptz,
    message_count         bigint      NOT NULL DEFAULT 0 CHECK (message_count >= 0),
    closed_at             timestamptz,
    close_reason          text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, id),
    CHECK ((status IN ('pending', 'progress')) = (closed_at IS NULL))
);
-- At most one active conversation per (tenant, channel, business number, customer number):
-- two concurrent first messages from a new customer cannot open two.
CREATE UNIQUE INDEX conversations_one_active_idx ON conversations (owner_id, channel, business_phone, customer_phone)
    WHERE status IN ('pending', 'progress');
-- Keyset pagination of a tenant's conversations, newest first: active ones, and by status.
CREATE INDEX conversations_active_page_idx ON conversations (owner_id, id DESC) WHERE status IN ('pending', 'progress');
CREATE INDEX conversations_status_page_idx ON conversations (owner_id, status, id DESC);
-- The lifecycle sweep: active conversations by expiry and by idle deadline.
CREATE INDEX conversations_expiry_sweep_idx ON conversations (expires_at) WHERE status IN ('pending', 'progress');
CREATE INDEX conversations_idle_sweep_idx ON conversations (idle_deadline_at) WHERE status IN ('pending', 'progress');
COMMENT ON TABLE conversations IS 'Conversations between a customer number and a tenant''s business number, with their lifecycle.';
COMMENT ON COLUMN conversations.owner_id IS 'Tenant.';
COMMENT ON COLUMN conversations.id IS 'Conversation id (UUID v7, sorts by creation).';
COMMENT ON COLUMN conversations.channel IS 'sms or whatsapp.';
COMMENT ON COLUMN conversations.customer_phone IS 'Customer number, E.164.';
COMMENT ON COLUMN conversations.business_phone IS 'Tenant number, E.164.';
COMMENT ON COLUMN conversations.status IS 'pending -> progress -> one final state (agent_closed, support_closed, user_closed, expired, idle_timeout, failed).';
COMMENT ON COLUMN conversations.context IS 'Free-form context for agents and AI.';
COMMENT ON COLUMN conversations.metadata IS 'Free-form metadata.';
COMMENT ON COLUMN conversations.expires_at IS 'When the conversation expires unless extended.';
COMMENT ON COLUMN conversations.idle_timeout_seconds IS 'The tenant''s idle timeout when the conversation opened.';
COMMENT ON COLUMN conversations.idle_deadline_at IS 'coalesce(last_message_at, created_at) + idle timeout, kept by the service so the idle sweep is an index range scan.';
COMMENT ON COLUMN conversations.max_extension_seconds IS 'The most one extension may add.';
COMMENT ON COLUMN conversations.max_expires_at IS 'Extensions never move expires_at past this.';
COMMENT ON COLUMN conversations.last_message_at IS 'Latest message in either direction.';
COMMENT ON COLUMN conversations.last_inbound_at IS 'Latest customer message (opens WhatsApp''s 24-hour window).';
COMMENT ON COLUMN conversations.message_count IS 'Messages recorded.';
COMMENT ON COLUMN conversations.closed_at IS 'When a final state was reached; NULL exactly while active.';
COMMENT ON COLUMN conversations.close_reason IS 'Why it was closed.';
COMMENT ON COLUMN conversations.created_at IS 'When the conversation opened.';
COMMENT ON COLUMN conversations.updated_at IS 'When the row last changed (trigger).';

CREATE TABLE messages (
    owner_id        uuid        NOT NULL,
    id              uuid        NOT NULL,
    conversation_id uuid        NOT NULL,
    direction       text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sender          text        NOT NULL CHECK (sender IN ('user', 'agent', 'system', 'tool', 'support')),
    message_type    text        NOT NULL CHECK (message_type IN ('text', 'image', 'audio', 'video', 'document')),
    body            text        CHECK (length(body) BETWEEN 1 AND 4096),
    media           jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(media) = 'array'),
    context         jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(context) = 'object'),
    metadata        jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
    provider_sid    text,
    delivery_status text        NOT NULL CHECK (delivery_status IN
                        ('accepted', 'scheduled', 'queued', 'sending', 'sent', 'delivered', 'read',
                         'undelivered', 'failed', 'canceled', 'receiving', 'received')),
    error_code      integer,
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, id),
    FOREIGN KEY (owner_id, conversation_id) REFERENCES conversations (owner_id, id) ON DELETE CASCADE,
    CHECK (body IS NOT NULL OR jsonb_array_length(media) > 0)
);
-- Keyset pagination of a conversation's messages (oldest first) and closure detection's window.
CREATE INDEX messages_conversation_page_idx ON messages (owner_id, conversation_id, id);
-- A Twilio MessageSid is stored once; webhook retries and status callbacks look it up.
CREATE UNIQUE INDEX messages_provider_sid_idx ON messages (owner_id, provider_sid) WHERE provider_sid IS NOT NULL;
COMMENT ON TABLE messages IS 'Messages of conversations, inbound and outbound.';
COMMENT ON COLUMN messages.owner_id IS 'Tenant.';
COMMENT ON COLUMN messages.id IS 'Message id (UUID v7, sorts by creation).';
COMMENT ON COLUMN messages.conversation_id IS 'Conversation.';
COMMENT ON COLUMN messages.direction IS 'inbound (from the customer) or outbound.';
COMMENT ON COLUMN messages.sender IS 'Author: user (the customer), agent, system, tool or support.';
COMMENT ON COLUMN messages.message_type IS 'text, image, audio, video or document.';
COMMENT ON COLUMN messages.body IS 'Text, 1-4096 characters; NULL for media-only messages.';
COMMENT ON COLUMN messages.media IS 'Attachments: array of {url, content_type}.';
COMMENT ON COLUMN messages.context IS 'Free-form context.';
COMMENT ON COLUMN messages.metadata IS 'Free-form metadata (WhatsApp ProfileName, WaId, ...).';
COMMENT ON COLUMN messages.provider_sid IS 'Twilio MessageSid; unique per tenant.';
COMMENT ON COLUMN messages.delivery_status IS 'Twilio delivery status; only ever moves forward.';
COMMENT ON COLUMN messages.error_code IS 'Twilio error code of a failed delivery.';
COMMENT ON COLUMN messages.error_message IS 'Description of a failed delivery.';
COMMENT ON COLUMN messages.created_at IS 'When the message was stored.';
COMMENT ON COLUMN messages.updated_at IS 'When the row last changed (trigger).';

CREATE TABLE ai_results (
    owner_id        uuid             NOT NULL,
    id              uuid             NOT NULL,
    conversation_id uuid             NOT NULL,
    message_id      uuid             NOT NULL,
    kind            text             NOT NULL CHECK (length(kind) BETWEEN 1 AND 64),
    model           text,
    content         jsonb            NOT NULL,
    score           double precision CHECK (score BETWEEN 0 AND 1),
    created_at      timestamptz      NOT NULL DEFAULT now(),
    updated_at      timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, id),
    FOREIGN KEY (owner_id, message_id) REFERENCES messages (owner_id, id) ON DELETE CASCADE,
    FOREIGN KEY (owner_id, conversation_id) REFERENCES conversations (owner_id, id) ON DELETE CASCADE
);
CREATE INDEX ai_results_message_idx ON ai_results (owner_id, message_id, id);
CREATE INDEX ai_results_conversation_idx ON ai_results (owner_id, conversation_id);
COMMENT ON TABLE ai_results IS 'Results of automated analysis attached to messages (closure detection, classifiers, LLMs).';
COMMENT ON COLUMN ai_results.owner_id IS 'Tenant.';
COMMENT ON COLUMN ai_results.id IS 'Result id (UUID v7).';
COMMENT ON COLUMN ai_results.conversation_id IS 'Conversation of the message.';
COMMENT ON COLUMN ai_results.message_id IS 'Message analysed.';
COMMENT ON COLUMN ai_results.kind IS 'What produced it (closure_detection, sentiment, ...).';
COMMENT ON COLUMN ai_results.model IS 'Model or detector version.';
COMMENT ON COLUMN ai_results.content IS 'The result, JSON.';
COMMENT ON COLUMN ai_results.score IS 'Score or confidence in 0..1.';
COMMENT ON COLUMN ai_results.created_at IS 'When the result was recorded.';
COMMENT ON COLUMN ai_results.updated_at IS 'When the row last changed (trigger).';

CREATE TABLE send_jobs (
    owner_id        uuid        NOT NULL,
    id              uuid        NOT NULL,
    conversation_id uuid        NOT NULL,
    message_id      uuid        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    run_at          timestamptz NOT NULL,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner_id, id),
    UNIQUE (owner_id, message_id),
    FOREIGN KEY (owner_id, message_id) REFERENCES messages (owner_id, id) ON DELETE CASCADE,
    FOREIGN KEY (owner_id, conversation_id) REFERENCES conversations (owner_id, id) ON DELETE CASCADE
);
CREATE INDEX send_jobs_due_idx ON send_jobs (run_at);
CREATE INDEX send_jobs_conversation_idx ON send_jobs (owner_id, conversation_id);
COMMENT ON TABLE send_jobs IS 'Outbound send queue: one row per message waiting to be handed to the provider; deleted once sent or failed.';
COMMENT ON COLUMN send_jobs.owner_id IS 'Tenant.';
COMMENT ON COLUMN send_jobs.id IS 'Job id (UUID v7).';
COMMENT ON COLUMN send_jobs.conversation_id IS 'Conversation of the message.';
COMMENT ON COLUMN send_jobs.message_id IS 'Message to send.';
COMMENT ON COLUMN send_jobs.attempts IS 'Failed attempts so far.';
COMMENT ON COLUMN send_jobs.run_at IS 'When the job may next be claimed: its due time, or the end of a worker''s lease.';
COMMENT ON COLUMN send_jobs.last_error IS 'Error of the last failed attempt.';
COMMENT ON COLUMN send_jobs.created_at IS 'When the job was enqueued.';
COMMENT ON COLUMN send_jobs.updated_at IS 'When the row last changed (trigger).';

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['owners', 'users', 'api_keys', 'features', 'twilio_accounts', 'conversations',
                             'messages', 'ai_results', 'send_jobs'] LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION set_updated_at()',
                       t || '_updated_at', t);
    END LOOP;
END;
$$;
