-- Monitoring: how deep the send queue is across tenants, for GET /metrics. conversa_app sees one
-- tenant at a time under row-level security, so the count goes through a narrow SECURITY DEFINER
-- function owned by conversa_maintenance, like the claims of 2026-11-25-000002_security. It
-- returns three numbers and no tenant's data, and locks nothing.
--
-- A claimed job's lease is stored as its run_at, so "deferred" counts leased jobs and jobs
-- waiting for a retry alike. One scan of send_jobs, which holds only messages not sent yet.
CREATE FUNCTION app_send_queue_depth(p_now timestamptz)
RETURNS TABLE (due bigint, deferred bigint, oldest_due_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT count(*) FILTER (WHERE j.run_at <= p_now),
           count(*) FILTER (WHERE j.run_at > p_now),
           min(j.run_at) FILTER (WHERE j.run_at <= p_now)
      FROM send_jobs j
$$;
COMMENT ON FUNCTION app_send_queue_depth(timestamptz) IS 'Counts send jobs of every tenant due at p_now and not yet due (leased or retrying), for monitoring.';

ALTER FUNCTION app_send_queue_depth(timestamptz) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_send_queue_depth(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_send_queue_depth(timestamptz) TO conversa_app;
