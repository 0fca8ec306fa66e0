-- Tenant configuration is bounded, and what one tenant stores costs no other tenant time.
--
-- The webhook's account lookup runs before the signature is checked, on connections every
-- tenant shares. It used to carry all of the tenant's features: any admin could make every one
-- of its webhooks pull megabytes through it (200 features of 60 KiB: 17 MB, 2.7 s of database
-- time per lookup). It now carries only the features the service itself reads; the others are
-- for the tenant's own systems and never leave the features API.
CREATE OR REPLACE FUNCTION app_twilio_account_by_sid(p_account_sid text)
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

-- At most 64 features per tenant, exactly, however many requests race: a tenant's inserts take
-- a transaction-scoped advisory lock of that tenant, then count. The count leaves out the
-- feature's own name, so replacing an existing feature (INSERT … ON CONFLICT DO UPDATE fires
-- this trigger too) is never refused.
CREATE FUNCTION app_features_per_tenant_limit() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('conversa.features:' || NEW.owner_id::text, 0));
    IF (SELECT count(*) FROM features WHERE owner_id = NEW.owner_id AND name <> NEW.name) >= 64 THEN
        RAISE EXCEPTION 'a tenant has at most 64 features'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'features_per_tenant_limit';
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION app_features_per_tenant_limit() IS 'Trigger function: refuses a tenant''s 65th feature (constraint name features_per_tenant_limit).';
CREATE TRIGGER features_per_tenant_limit BEFORE INSERT ON features
    FOR EACH ROW EXECUTE FUNCTION app_features_per_tenant_limit();
