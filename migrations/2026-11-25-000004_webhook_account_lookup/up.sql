-- Webhooks: the account a webhook names, with what the signature check and the tenant's settings
-- need, in one call. The webhook is the hot path; reading the account and then the features as
-- the tenant cost two transactions (eight round trips) per message. Still narrow: one active
-- account of an active tenant, by its Account SID, its token only as the application encrypted
-- it, and that tenant's features.
-- The function reads features now: its owner may read them (only them, only through it).
GRANT SELECT ON features TO conversa_maintenance;
CREATE POLICY maintenance ON features TO conversa_maintenance USING (true);

DROP FUNCTION app_twilio_account_by_sid(text);
CREATE FUNCTION app_twilio_account_by_sid(p_account_sid text)
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
ALTER FUNCTION app_twilio_account_by_sid(text) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_twilio_account_by_sid(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_twilio_account_by_sid(text) TO conversa_app;
