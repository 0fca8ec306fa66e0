DROP FUNCTION app_reseal_webhook_secrets(uuid, uuid, bytea, bytea);
DROP FUNCTION app_sealed_webhook_secrets(uuid, uuid, integer);
DROP FUNCTION app_webhook_queue_depth(timestamptz);
DROP FUNCTION app_claim_webhook_deliveries(timestamptz, integer, integer, interval);
DROP FUNCTION app_webhook_fan_out(timestamptz, integer);
DROP FUNCTION app_events_end(uuid);
DROP TABLE webhook_delivery_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
