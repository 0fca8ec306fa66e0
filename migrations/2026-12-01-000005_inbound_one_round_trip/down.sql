DROP TRIGGER owners_notify ON owners;
DROP TRIGGER features_notify ON features;
DROP TRIGGER twilio_accounts_notify ON twilio_accounts;
DROP FUNCTION app_notify_webhook_account_change();
DROP FUNCTION app_close_detected;
DROP FUNCTION app_receive_inbound;
ALTER TABLE conversations RESET (fillfactor);
COMMENT ON COLUMN conversations.idle_deadline_at IS 'coalesce(last_message_at, created_at) + idle timeout, kept by the service so the idle sweep is an index range scan.';
