-- Helpers pgbench needs to do what the service does (installed in the bench database only).
-- UUID v7 ids, as the service mints them: 48 bits of Unix milliseconds, then random bits with
-- the version and variant set. Index locality of v7 keys differs from random v4 keys, so using
-- v4 here would make PostgreSQL's side of the comparison slower than the service's.
CREATE FUNCTION bench_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(set_bit(set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1), 54, 0), 55, 0),
        'hex')::uuid
$$;
