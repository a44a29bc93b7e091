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
	OUT sync_standby text)
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
	OUT lag_mb bigint)
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

REVOKE ALL ON FUNCTION pgha_switchover(text, timestamptz, boolean), pgha_switchover_cancel(),
	pgha_failover(text, boolean), pgha_pause(), pgha_resume() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgha_switchover(text, timestamptz, boolean), pgha_switchover_cancel(),
	pgha_failover(text, boolean), pgha_pause(), pgha_resume() TO pgha_admin;
