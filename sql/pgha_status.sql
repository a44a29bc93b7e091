-- pgha_status(): the keeper of this single node takes the leader key.
CREATE EXTENSION pgha;

-- wait (bounded) until the keeper has taken the leader key
DO $$
BEGIN
	FOR i IN 1..150 LOOP
		PERFORM 1 FROM pgha_status() WHERE leader = 'regress1' AND role = 'primary';
		IF FOUND THEN
			RETURN;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RAISE EXCEPTION 'keeper did not become leader: %', (SELECT row_to_json(s) FROM pgha_status() s);
END
$$;

SELECT node, scope, role, state, leader, timeline, paused, last_error,
       ttl, loop_wait, retry_timeout
  FROM pgha_status();

SELECT wal_lsn > '0/0' AS has_lsn,
       lag_bytes,
       last_etcd_contact > now() - interval '10 seconds' AS recent_contact
  FROM pgha_status();

-- readable as one composite value as well
SELECT (pgha_status()).role;
SELECT count(*) FROM (SELECT pgha_status()) s;

-- the columns, in order
SELECT * FROM pgha_status() WHERE false;

-- synchronous mode is off by default: no sync standby
SELECT synchronous_mode, sync_standby IS NULL AS no_sync_standby FROM pgha_status();
