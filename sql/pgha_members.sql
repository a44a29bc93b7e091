-- pgha_members(): what patronictl list shows, from the keeper's last read.
DO $$
BEGIN
	FOR i IN 1..150 LOOP
		PERFORM 1 FROM pgha_members() WHERE member = 'regress1' AND role = 'Leader';
		IF FOUND THEN
			RETURN;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RAISE EXCEPTION 'member regress1 not listed as Leader';
END
$$;

-- (laggard and tagged exist only in etcd: see test/run-regress.sh)
SELECT member, host, role, state, timeline, lag_mb > 0 AS lagging FROM pgha_members();

-- the functions are plain SQL citizens
SELECT count(*) FROM pgha_members() WHERE role = 'Leader';
EXPLAIN (COSTS OFF) SELECT * FROM pgha_members();

-- a new cluster has no timeline history yet
SELECT * FROM pgha_history();
