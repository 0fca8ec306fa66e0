-- The SIDs stay in canonical form (any case was accepted before).
ALTER TABLE twilio_accounts
    DROP CONSTRAINT twilio_accounts_account_sid_check,
    ADD CONSTRAINT twilio_accounts_account_sid_check CHECK (account_sid ~ '^AC[0-9a-fA-F]{32}$');
COMMENT ON COLUMN twilio_accounts.account_sid IS 'Twilio Account SID (AC...); unique: webhooks identify the tenant by it.';
