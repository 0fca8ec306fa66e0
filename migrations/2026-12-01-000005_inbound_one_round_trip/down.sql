DROP TRIGGER owners_notify ON owners;
DROP TRIGGER features_notify ON features;
DROP TRIGGER twilio_accounts_notify ON twilio_accounts;
DROP FUNCTION app_notify_webhook_account_change();
DROP FUNCTION app_receive_inbound;
