DROP TRIGGER features_per_tenant_limit ON features;
DROP FUNCTION app_features_per_tenant_limit();
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
              FROM features f WHERE f.owner_id = a.owner_id)
      FROM twilio_accounts a
      JOIN owners o ON o.id = a.owner_id AND o.active
     WHERE a.account_sid = p_account_sid AND a.active
$$;
COMMENT ON FUNCTION app_twilio_account_by_sid(text) IS 'The active account (encrypted token included) a webhook names and its tenant''s features, before the tenant is known.';
