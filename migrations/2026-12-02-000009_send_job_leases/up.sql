-- Fenced sends (ADR 0014). Each claim of a send job draws a fresh lease id and returns it; every
-- outcome the worker records (sent, retry, failed) names it in its WHERE clause, so an outcome
-- applies only while that claim still holds the job. A worker whose lease lapsed (a slow
-- database, a stalled process) and was claimed again by another can no longer drop, delay or
-- fail the job under the new holder.
--
-- The lease id is random, not the attempt count: a lapsed lease is not a failed attempt (the
-- attempt counter stays as it is), so two claims in a row can share an attempt number.

ALTER TABLE send_jobs ADD COLUMN lease_id uuid;
COMMENT ON COLUMN send_jobs.lease_id IS 'Token of the claim that holds the job (new at every claim); outcomes apply only with it. NULL before the first claim and after a retry is scheduled.';

-- The return type changes (lease_id is added), which CREATE OR REPLACE cannot do. Callers that
-- select `owner_id, id` by name (the previous binary during a rolling deploy) keep working, and
-- their claims rotate the lease id too, so a newer worker's stale outcome is fenced off from them.
DROP FUNCTION app_claim_send_jobs(timestamptz, integer, interval);
CREATE FUNCTION app_claim_send_jobs(p_now timestamptz, p_limit integer, p_lease interval)
RETURNS TABLE (owner_id uuid, id uuid, lease_id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE send_jobs j SET run_at = p_now + p_lease, lease_id = gen_random_uuid()
      FROM (SELECT s.owner_id, s.id FROM send_jobs s
             WHERE s.run_at <= p_now
             ORDER BY s.run_at
             LIMIT p_limit
             FOR UPDATE SKIP LOCKED) due
     WHERE j.owner_id = due.owner_id AND j.id = due.id
    RETURNING j.owner_id, j.id, j.lease_id
$$;
COMMENT ON FUNCTION app_claim_send_jobs(timestamptz, integer, interval) IS 'Claims due send jobs across tenants with FOR UPDATE SKIP LOCKED, leases them and gives each claim a fresh lease id.';

ALTER FUNCTION app_claim_send_jobs(timestamptz, integer, interval) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_claim_send_jobs(timestamptz, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_claim_send_jobs(timestamptz, integer, interval) TO conversa_app;
