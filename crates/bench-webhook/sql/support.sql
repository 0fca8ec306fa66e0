-- Helpers for growing Conversa's bench database to 1M messages (installed there only).
-- UUID v7 ids, as the service mints them: 48 bits of Unix milliseconds, then random bits with
-- the version and variant set. Index locality of v7 keys differs from random v4 keys, so rows
-- bulk-inserted with v4 ids would make the grown database unlike one the service filled.
CREATE FUNCTION bench_uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(
        set_bit(set_bit(set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1), 54, 0), 55, 0),
        'hex')::uuid
$$;
