-- The functions that change the cluster: privileges and argument checks.
-- This instance is the only real node; etcd also lists "laggard" (far
-- behind) and "tagged" (nofailover), written by test/run-regress.sh.
SET pgha.switchover_timeout = '5s';

-- not for PUBLIC: pgha_admin is granted by a superuser
CREATE ROLE pgha_regress_plain;
CREATE ROLE pgha_regress_op IN ROLE pgha_admin;
SET ROLE pgha_regress_plain;
SELECT pgha_switchover();
SELECT pgha_failover('laggard');
SELECT pgha_pause();
SELECT pgha_resume();
SELECT pgha_switchover_cancel();
SELECT role FROM pgha_status();		-- reading is for everyone
\set VERBOSITY sqlstate
SELECT pgha_switchover();			-- insufficient_privilege
\set VERBOSITY default
RESET ROLE;

SET ROLE pgha_regress_op;
-- unknown candidate
SELECT pgha_switchover('nobody');
-- the candidate is the leader
SELECT pgha_switchover('regress1');
-- a lagging candidate (the lag in bytes varies from run to run)
DO $$
DECLARE
	state text;
	msg text;
	detail text;
BEGIN
	PERFORM pgha_switchover('laggard');
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		detail = PG_EXCEPTION_DETAIL;
	RAISE NOTICE '% %: %', state, msg, regexp_replace(detail, '[0-9]+ bytes', 'N bytes');
END
$$;
-- a candidate tagged nofailover
SELECT pgha_switchover('tagged');
-- the same with its SQLSTATE: 55000 object_not_in_prerequisite_state
\set VERBOSITY sqlstate
SELECT pgha_switchover('tagged');
SELECT pgha_switchover('nobody');	-- 42704 undefined_object
SELECT pgha_switchover('regress1');	-- 22023 invalid_parameter_value
\set VERBOSITY default
-- no candidate given and none qualifies
SELECT pgha_switchover();
-- a time in the past is refused before anything else
SELECT pgha_switchover('laggard', now() - interval '1 hour');
-- manual failover while the leader is healthy
SELECT pgha_failover('laggard');
-- nothing to cancel
SELECT pgha_switchover_cancel();

-- maintenance mode: shown by pgha_status(), refuses a switchover
SELECT pgha_pause();
DO $$
BEGIN
	FOR i IN 1..100 LOOP
		PERFORM 1 FROM pgha_status() WHERE paused;
		IF FOUND THEN
			RETURN;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RAISE EXCEPTION 'pgha_status() does not show the pause';
END
$$;
SELECT paused, state FROM pgha_status();
SELECT pgha_switchover('laggard');
SELECT pgha_resume();
DO $$
BEGIN
	FOR i IN 1..100 LOOP
		PERFORM 1 FROM pgha_status() WHERE NOT paused;
		IF FOUND THEN
			RETURN;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RAISE EXCEPTION 'pgha_status() still shows the pause';
END
$$;
SELECT paused, state FROM pgha_status();
RESET ROLE;

DROP ROLE pgha_regress_plain;
DROP ROLE pgha_regress_op;
