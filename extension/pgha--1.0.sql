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
	OUT retry_timeout integer)
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
