DROP FUNCTION app_send_queue_depth(timestamptz);
