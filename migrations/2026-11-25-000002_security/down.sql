DROP FUNCTION app_claim_due_conversations(timestamptz, integer);
DROP FUNCTION app_claim_send_jobs(timestamptz, integer, interval);
DROP FUNCTION app_twilio_account_by_sid(text);
DROP FUNCTION app_user_owner(uuid);
DROP FUNCTION app_authenticate(text, timestamptz);
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['owners', 'users', 'api_keys', 'features', 'twilio_accounts', 'conversations', 'messages',
                             'ai_results', 'send_jobs'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %I', t);
        EXECUTE format('DROP POLICY IF EXISTS maintenance ON %I', t);
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
        EXECUTE format('REVOKE ALL ON %I FROM conversa_app, conversa_maintenance', t);
    END LOOP;
END;
$$;
DROP FUNCTION app_current_owner();
REVOKE USAGE ON SCHEMA public FROM conversa_app, conversa_maintenance;
-- The roles are cluster-wide and may serve other databases: they are left in place.
