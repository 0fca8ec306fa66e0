DROP FUNCTION app_reseal_twilio_token(uuid, uuid, bytea);
DROP FUNCTION app_sealed_twilio_tokens(uuid, uuid, integer);
COMMENT ON COLUMN twilio_accounts.auth_token_encrypted IS 'Auth token, AES-256-GCM: 12-byte nonce followed by ciphertext and tag. Never returned by an API query.';
