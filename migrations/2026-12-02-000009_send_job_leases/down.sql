DROP FUNCTION app_claim_send_jobs(timestamptz, integer, interval);
CREATE FUNCTION app_claim_send_jobs(p_now timestamptz, p_limit integer, p_lease interval)
RETURNS TABLE (owner_id uuid, id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    UPDATE send_jobs j SET run_at = p_now + p_lease
      FROM (SELECT s.owner_id, s.id FROM send_jobs s
             WHERE s.run_at <= p_now
             ORDER BY s.run_at
             LIMIT p_limit
             FOR UPDATE SKIP LOCKED) due
     WHERE j.owner_id = due.owner_id AND j.id = due.id
    RETURNING j.owner_id, j.id
$$;
COMMENT ON FUNCTION app_claim_send_jobs(timestamptz, integer, interval) IS 'Claims due send jobs across tenants with FOR UPDATE SKIP LOCKED and leases them.';
ALTER FUNCTION app_claim_send_jobs(timestamptz, integer, interval) OWNER TO conversa_maintenance;
REVOKE ALL ON FUNCTION app_claim_send_jobs(timestamptz, integer, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app_claim_send_jobs(timestamptz, integer, interval) TO conversa_app;

ALTER TABLE send_jobs DROP COLUMN lease_id;
