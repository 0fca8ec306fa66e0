-- `conversa keys rotate` re-seals every tenant's Twilio auth token under the current key
-- (ADR 0016). It runs as the schema owner (DATABASE_URL), whom FORCEd row-level security keeps
-- out of every tenant's rows like any other role; these two functions, owned by
-- conversa_maintenance like the other cross-tenant ones, are its way in. They are granted to the
-- migrating role only: the service's role never needs every tenant's sealed tokens at once.

-- A page of accounts in key order after (p_after_owner, p_after_id) (NULL: from the start),
-- locked until the caller's transaction ends, so a token changed meanwhile through the API is
-- not overwritten with the re-sealed old one.
CREATE FUNCTION app_sealed_twilio_tokens(p_after_owner uuid, p_after_id uuid, p_limit integer)
RETURNS TABLE (owner_id uuid, id uuid, auth_token_encrypted bytea)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT a.owner_id, a.id, a.auth_token_encrypted
      FROM twilio_accounts a
     WHERE p_after_owner IS NULL OR (a.owner_id, a.id) > (p_after_owner, p_after_id)
     ORDER BY a.owner_id, a.id
     LIMIT p_limit
       FOR UPDATE
$$;
COMMENT ON FUNCTION app_sealed_twilio_tokens(uuid, uuid, integer) IS 'Key rotation: a page of every tenant''s sealed Twilio tokens in (owner_id, id) order, locked FOR UPDATE.';

CREATE FUNCTION app_reseal_twilio_token(p_owner_id uuid, p_id uuid, p_auth_token_encrypted bytea)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE twilio_accounts SET auth_token_encrypted = p_auth_token_encrypted
     WHERE owner_id = p_owner_id AND id = p_id
$$;
COMMENT ON FUNCTION app_reseal_twilio_token(uuid, uuid, bytea) IS 'Key rotation: stores a token re-sealed under the current key (the change notification refreshes the services'' webhook caches).';

ALTER FUNCTION app_sealed_twilio_tokens(uuid, uuid, integer) OWNER TO conversa_maintenance;
ALTER FUNCTION app_reseal_twilio_token(uuid, uuid, bytea) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_sealed_twilio_tokens(uuid, uuid, integer), app_reseal_twilio_token(uuid, uuid, bytea)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_sealed_twilio_tokens(uuid, uuid, integer), app_reseal_twilio_token(uuid, uuid, bytea)
    TO CURRENT_USER;

COMMENT ON COLUMN twilio_accounts.auth_token_encrypted IS 'Auth token, AES-256-GCM: 0x01, the 8-byte id of the key, a 12-byte nonce, ciphertext and tag (owner_id and id bound as associated data); or, sealed before key ids, nonce, ciphertext and tag. Never returned by an API query.';
