DROP FUNCTION app_twilio_account_by_sid(text);
CREATE FUNCTION app_twilio_account_by_sid(p_account_sid text)
RETURNS TABLE (owner_id uuid, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT a.owner_id, a.id
      FROM twilio_accounts a
      JOIN owners o ON o.id = a.owner_id AND o.active
     WHERE a.account_sid = p_account_sid AND a.active
$$;
COMMENT ON FUNCTION app_twilio_account_by_sid(text) IS 'Finds which tenant an inbound webhook belongs to; the caller then reads the account as that tenant.';
ALTER FUNCTION app_twilio_account_by_sid(text) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_twilio_account_by_sid(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_twilio_account_by_sid(text) TO conversa_app;

DROP POLICY maintenance ON features;
REVOKE SELECT ON features FROM conversa_maintenance;
