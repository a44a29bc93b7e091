/* pgha 1.0: high availability for PostgreSQL with etcd */

\echo Use "CREATE EXTENSION pgha" to load this file. \quit

CREATE FUNCTION pgha_status(
	OUT node text,
	OUT scope text,
	OUT role text,
	OUT state text,
	OUT leader text,
	OUT timeline integer,
	OUT wal_lsn pg_lsn,
	OUT lag_bytes bigint,
	OUT last_etcd_contact timestamptz,
	OUT last_error text,
	OUT paused boolean,
	OUT ttl integer,
	OUT loop_wait integer,
	OUT retry_timeout integer,
	OUT synchronous_mode text,
	OUT sync_standby text,
	OUT pending_restart boolean,
	OUT scheduled_restart text)
RETURNS record
AS 'MODULE_PATHNAME', 'pgha_status'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pgha_status() IS
'this node as the pgha keeper sees it: role, state, leader, WAL position, etcd contact';

CREATE FUNCTION pgha_members(
	OUT member text,
	OUT host text,
	OUT role text,
	OUT state text,
	OUT timeline integer,
	OUT lag_mb bigint,
	OUT pending_restart boolean,
	OUT scheduled_restart text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgha_members'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED ROWS 3;

COMMENT ON FUNCTION pgha_members() IS
'the members of the cluster as patronictl list shows them, from the keeper''s last read of etcd';

CREATE FUNCTION pgha_history(
	OUT timeline integer,
	OUT lsn pg_lsn,
	OUT reason text,
	OUT switched_at timestamptz,
	OUT new_leader text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgha_history'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pgha_history() IS
'the timeline history of the cluster (the history key): one row per failover or switchover';

-- Changing the cluster: not for PUBLIC.  A superuser grants pgha_admin.
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgha_admin') THEN
		CREATE ROLE pgha_admin NOLOGIN;
	END IF;
END
$$;

CREATE FUNCTION pgha_switchover(
	candidate text DEFAULT NULL,
	scheduled_at timestamptz DEFAULT NULL,
	wait boolean DEFAULT true)
RETURNS text
AS 'MODULE_PATHNAME', 'pgha_switchover'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgha_switchover(text, timestamptz, boolean) IS
'planned switchover to candidate (NULL: the best replica), now or at scheduled_at; returns the new leader';

CREATE FUNCTION pgha_switchover_cancel()
RETURNS void
AS 'MODULE_PATHNAME', 'pgha_switchover_cancel'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgha_switchover_cancel() IS
'cancel a pending (scheduled) switchover';

CREATE FUNCTION pgha_failover(candidate text DEFAULT NULL, force boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'pgha_failover'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgha_failover(text, boolean) IS
'manual failover to candidate when the cluster has no healthy leader (force: even when it has one)';

CREATE FUNCTION pgha_pause()
RETURNS void
AS 'MODULE_PATHNAME', 'pgha_pause'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgha_pause() IS
'maintenance mode: no automatic failover or fencing (the config key''s pause flag)';

CREATE FUNCTION pgha_resume()
RETURNS void
AS 'MODULE_PATHNAME', 'pgha_resume'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgha_resume() IS
'leave maintenance mode';

CREATE FUNCTION pgha_restart(
	pending_only boolean DEFAULT false,
	scheduled_at timestamptz DEFAULT NULL,
	role text DEFAULT NULL,
	postgres_version text DEFAULT NULL)
RETURNS text
AS 'MODULE_PATHNAME', 'pgha_restart'
LANGUAGE C CALLED ON NULL INPUT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgha_restart(boolean, timestamptz, text, text) IS
'restart this node''s postgres (a leader keeps the leader key), now or at scheduled_at; only if a setting waits for it (pending_only), in that role, or below that version';

CREATE FUNCTION pgha_restart_cancel()
RETURNS text
AS 'MODULE_PATHNAME', 'pgha_restart_cancel'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgha_restart_cancel() IS
'forget this node''s scheduled restart';

CREATE FUNCTION pgha_reload()
RETURNS text
AS 'MODULE_PATHNAME', 'pgha_reload'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgha_reload() IS
'reload this node''s configuration (its files and postgresql.parameters of the config key)';

CREATE FUNCTION pgha_reinit()
RETURNS text
AS 'MODULE_PATHNAME', 'pgha_reinit'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION pgha_reinit() IS
'wipe this replica''s data directory and clone the leader again (refused on the leader)';

REVOKE ALL ON FUNCTION pgha_switchover(text, timestamptz, boolean), pgha_switchover_cancel(),
	pgha_failover(text, boolean), pgha_pause(), pgha_resume(),
	pgha_restart(boolean, timestamptz, text, text), pgha_restart_cancel(), pgha_reload(),
	pgha_reinit() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgha_switchover(text, timestamptz, boolean), pgha_switchover_cancel(),
	pgha_failover(text, boolean), pgha_pause(), pgha_resume(),
	pgha_restart(boolean, timestamptz, text, text), pgha_restart_cancel(), pgha_reload(),
	pgha_reinit() TO pgha_admin;
