-- Row-level security and the roles the service runs as.
--
-- conversa_app          the service logs in as it: owns no table, has no BYPASSRLS, sees only the
--                       rows of the tenant set with set_config('app.owner_id', ..., true).
-- conversa_maintenance  NOLOGIN; owns the few SECURITY DEFINER functions that must work before a
--                       tenant is known (authentication, webhook account lookup) or across
--                       tenants (send-queue claims, lifecycle sweep). Nobody can act as it
--                       except through those functions.
-- Roles are cluster-wide, so they are created once and reused by every database.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'conversa_app') THEN
        CREATE ROLE conversa_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'conversa_maintenance') THEN
        CREATE ROLE conversa_maintenance NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END;
$$;
-- The migration role must be able to hand functions to conversa_maintenance.
GRANT conversa_maintenance TO CURRENT_USER;

CREATE FUNCTION app_current_owner() RETURNS uuid LANGUAGE sql STABLE AS $$
    SELECT NULLIF(current_setting('app.owner_id', true), '')::uuid
$$;
COMMENT ON FUNCTION app_current_owner() IS 'The tenant of the current transaction (set_config(''app.owner_id'', ..., true)), or NULL: after a pooled connection used the setting once it reads '''', not NULL.';

GRANT USAGE ON SCHEMA public TO conversa_app, conversa_maintenance;
GRANT SELECT, INSERT, UPDATE, DELETE ON owners, users, api_keys, features, twilio_accounts, conversations, messages,
    ai_results, send_jobs TO conversa_app;
GRANT SELECT, UPDATE ON api_keys, users, owners, twilio_accounts, send_jobs, conversations TO conversa_maintenance;

ALTER TABLE owners ENABLE ROW LEVEL SECURITY;
ALTER TABLE owners FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON owners
    USING (id = app_current_owner()) WITH CHECK (id = app_current_owner());
CREATE POLICY maintenance ON owners TO conversa_maintenance USING (true);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'api_keys', 'features', 'twilio_accounts', 'conversations', 'messages',
                             'ai_results', 'send_jobs'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (owner_id = app_current_owner()) '
                       'WITH CHECK (owner_id = app_current_owner())', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['users', 'api_keys', 'twilio_accounts', 'conversations', 'send_jobs'] LOOP
        EXECUTE format('CREATE POLICY maintenance ON %I TO conversa_maintenance USING (true) WITH CHECK (true)', t);
    END LOOP;
END;
$$;

-- Authentication: the principal behind an API key hash. Revoked keys, inactive users and
-- inactive tenants resolve to nothing. last_used_at is written at most once a minute, so
-- authentication is not a write per request.
CREATE FUNCTION app_authenticate(p_key_hash text, p_now timestamptz)
RETURNS TABLE (owner_id uuid, user_id uuid, api_key_id uuid, role text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    RETURN QUERY
    UPDATE api_keys k SET last_used_at = p_now
      FROM users u, owners o
     WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
       AND u.owner_id = k.owner_id AND u.id = k.user_id AND u.active
       AND o.id = k.owner_id AND o.active
       AND (k.last_used_at IS NULL OR k.last_used_at < p_now - interval '1 minute')
    RETURNING k.owner_id, k.user_id, k.id, u.role;
    IF NOT FOUND THEN
        RETURN QUERY
        SELECT k.owner_id, k.user_id, k.id, u.role
          FROM api_keys k
          JOIN users u ON u.owner_id = k.owner_id AND u.id = k.user_id AND u.active
          JOIN owners o ON o.id = k.owner_id AND o.active
         WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL;
    END IF;
END;
$$;
COMMENT ON FUNCTION app_authenticate(text, timestamptz) IS 'Resolves an API key hash to its tenant, user and role before any tenant is set.';

-- Webhooks: the tenant's active Twilio account by Account SID, with its encrypted token.
CREATE FUNCTION app_twilio_account_by_sid(p_account_sid text)
RETURNS TABLE (owner_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT a.owner_id, a.id
      FROM twilio_accounts a
      JOIN owners o ON o.id = a.owner_id AND o.active
     WHERE a.account_sid = p_account_sid AND a.active
$$;
COMMENT ON FUNCTION app_twilio_account_by_sid(text) IS 'Finds which tenant an inbound webhook belongs to; the caller then reads the account as that tenant.';

-- Operators: the tenant of a user, for `conversa api-key create --user <id>`.
CREATE FUNCTION app_user_owner(p_user_id uuid) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.owner_id FROM users u WHERE u.id = p_user_id
$$;
COMMENT ON FUNCTION app_user_owner(uuid) IS 'The tenant of a user, for operator commands that start from a user id.';

-- Send queue: claims due jobs of any tenant, leasing them until p_now + p_lease. Rows locked by
-- another worker are skipped, so concurrent workers never claim the same job.
CREATE FUNCTION app_claim_send_jobs(p_now timestamptz, p_limit integer, p_lease interval)
RETURNS TABLE (owner_id uuid, id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE send_jobs j SET run_at = p_now + p_lease
      FROM (SELECT s.owner_id, s.id FROM send_jobs s
             WHERE s.run_at <= p_now
             ORDER BY s.run_at
             LIMIT p_limit
             FOR UPDATE SKIP LOCKED) due
     WHERE j.owner_id = due.owner_id AND j.id = due.id
    RETURNING j.owner_id, j.id
$$;
COMMENT ON FUNCTION app_claim_send_jobs(timestamptz, integer, interval) IS 'Claims due send jobs across tenants with FOR UPDATE SKIP LOCKED and leases them.';

-- Lifecycle sweep: locks active conversations of any tenant that are due at p_now (expired or
-- idle). The lock lasts until the caller's transaction ends, in which it closes them.
CREATE FUNCTION app_claim_due_conversations(p_now timestamptz, p_limit integer)
RETURNS TABLE (owner_id uuid, id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT c.owner_id, c.id FROM conversations c
     WHERE c.status IN ('pending', 'progress')
       AND (c.expires_at <= p_now OR c.idle_deadline_at <= p_now)
     LIMIT p_limit
     FOR UPDATE SKIP LOCKED
$$;
COMMENT ON FUNCTION app_claim_due_conversations(timestamptz, integer) IS 'Locks due active conversations across tenants with FOR UPDATE SKIP LOCKED for the lifecycle sweep.';

ALTER FUNCTION app_authenticate(text, timestamptz) OWNER TO conversa_maintenance;
ALTER FUNCTION app_twilio_account_by_sid(text) OWNER TO conversa_maintenance;
ALTER FUNCTION app_user_owner(uuid) OWNER TO conversa_maintenance;
ALTER FUNCTION app_claim_send_jobs(timestamptz, integer, interval) OWNER TO conversa_maintenance;
ALTER FUNCTION app_claim_due_conversations(timestamptz, integer) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_authenticate(text, timestamptz), app_twilio_account_by_sid(text), app_user_owner(uuid),
    app_claim_send_jobs(timestamptz, integer, interval), app_claim_due_conversations(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_authenticate(text, timestamptz), app_twilio_account_by_sid(text), app_user_owner(uuid),
    app_claim_send_jobs(timestamptz, integer, interval), app_claim_due_conversations(timestamptz, integer),
    app_current_owner() TO conversa_app;
