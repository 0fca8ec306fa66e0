-- One Twilio account, one Account SID: SIDs are stored in Twilio's own form, `AC` and 32
-- lower-case hex digits, whatever case they were registered in. Before this, `AC…ABC` and
-- `AC…abc` were two SIDs: the same account could be registered twice (by two tenants), and a
-- webhook found its account only when Twilio's spelling matched the registration's exactly.
-- The service now writes the canonical form (domain::AccountSid); this rewrites older rows and
-- makes the form a rule.
--
-- Row-level security is FORCEd, so the schema owner sees no tenant's rows: the rewrite runs as
-- conversa_maintenance (whose policy sees every account; the migrating role is its member since
-- 000002), until RESET ROLE below.
SET ROLE conversa_maintenance;

-- Two rows that differ only in case cannot both keep their SID: an operator must decide which
-- registration stays (the two may belong to different tenants), so the migration stops.
DO $$
DECLARE
    repeated text;
BEGIN
    SELECT string_agg(canonical, ', ' ORDER BY canonical) INTO repeated
      FROM (SELECT 'AC' || lower(substr(account_sid, 3)) AS canonical
              FROM twilio_accounts
             GROUP BY 1
            HAVING count(*) > 1) twice;
    IF repeated IS NOT NULL THEN
        RAISE EXCEPTION 'Twilio Account SIDs registered more than once in different letter case: %', repeated
            USING HINT = 'Keep one row of each (SELECT owner_id, id, account_sid FROM twilio_accounts WHERE lower(account_sid) = lower(''<sid>'')), delete the others, then migrate again.';
    END IF;
END;
$$;

UPDATE twilio_accounts SET account_sid = 'AC' || lower(substr(account_sid, 3))
 WHERE account_sid <> 'AC' || lower(substr(account_sid, 3));

RESET ROLE;

-- Validated against every row (constraints see past row-level security): a row the rewrite
-- could not reach fails the migration instead of staying unreachable by its webhooks.
ALTER TABLE twilio_accounts
    DROP CONSTRAINT twilio_accounts_account_sid_check,
    ADD CONSTRAINT twilio_accounts_account_sid_check CHECK (account_sid ~ '^AC[0-9a-f]{32}$');
COMMENT ON COLUMN twilio_accounts.account_sid IS 'Twilio Account SID in Twilio''s form (AC and 32 lower-case hex digits); unique: webhooks identify the tenant by it.';
