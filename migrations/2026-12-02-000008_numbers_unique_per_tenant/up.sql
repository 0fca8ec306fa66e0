-- A business number belongs to one of a tenant's Twilio accounts: sends from it and webhooks to
-- it must name one account. Unique within the tenant, not across tenants: a tenant cannot
-- claim (and so block) a number another tenant has registered, and each tenant's webhooks find
-- their account by AccountSid anyway. An array column has no unique index over its elements,
-- so a trigger checks, under a transaction-scoped advisory lock of the tenant that makes two
-- racing writes take turns. Rows written before this migration are not re-checked.
CREATE FUNCTION app_twilio_numbers_unique_per_tenant() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('conversa.twilio_numbers:' || NEW.owner_id::text, 0));
    IF EXISTS (SELECT FROM twilio_accounts
                WHERE owner_id = NEW.owner_id AND id <> NEW.id AND phone_numbers && NEW.phone_numbers
                  -- A second registration of the same Account SID is the unique index's to refuse
                  -- (account_sid_taken), not a number conflict.
                  AND account_sid <> NEW.account_sid) THEN
        RAISE EXCEPTION 'a number of the account belongs to another account of the tenant'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'twilio_accounts_number_taken';
    END IF;
    RETURN NEW;
END;
$$;
COMMENT ON FUNCTION app_twilio_numbers_unique_per_tenant() IS 'Trigger function: refuses a number another Twilio account of the tenant already has (constraint name twilio_accounts_number_taken).';
CREATE TRIGGER twilio_accounts_numbers_unique_per_tenant BEFORE INSERT OR UPDATE OF phone_numbers ON twilio_accounts
    FOR EACH ROW EXECUTE FUNCTION app_twilio_numbers_unique_per_tenant();
