DROP TABLE send_jobs, ai_results, messages, conversations, twilio_accounts, features, api_keys, users, owners;
DROP FUNCTION set_updated_at();
