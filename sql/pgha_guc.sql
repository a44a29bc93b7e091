-- pgha's settings: names, defaults seen by the regress instance, validation.
SELECT name, setting, unit, context
  FROM pg_settings
 WHERE name LIKE 'pgha.%' AND name NOT IN ('pgha.etcd_password', 'pgha.api_password')
 ORDER BY name;

-- node identity needs a restart; etcd settings need a reload
SET pgha.scope = 'other';
SET pgha.etcd_endpoints = 'http://127.0.0.1:2379';

-- a typo in the reserved prefix is an error, not silently accepted
SET pgha.etcd_endpoint = 'http://127.0.0.1:2379';

-- ALTER SYSTEM runs the check hooks: malformed values are refused
ALTER SYSTEM SET pgha.etcd_endpoints = '127.0.0.1:2379';
ALTER SYSTEM SET pgha.etcd_endpoints = 'http://127.0.0.1:2379/v3';
ALTER SYSTEM SET pgha.etcd_endpoints = 'http://127.0.0.1:99999';
ALTER SYSTEM SET pgha.etcd_endpoints = 'http://127.0.0.1:2379,,http://127.0.0.1:2380';
ALTER SYSTEM SET pgha.connect_address = '127.0.0.1';
ALTER SYSTEM SET pgha.connect_address = 'db1.example.com:0';
ALTER SYSTEM SET pgha.scope = 'bad scope';
ALTER SYSTEM SET pgha.node_name = 'node/1';
ALTER SYSTEM SET pgha.namespace = 'service';
ALTER SYSTEM SET pgha.etcd_cacert = 'relative/ca.crt';
ALTER SYSTEM SET pgha.ttl = 1;
ALTER SYSTEM SET pgha.loop_wait = 0;
ALTER SYSTEM SET pgha.retry_timeout = '61min';
ALTER SYSTEM SET pgha.ttl = 'ten';
ALTER SYSTEM SET pgha.api_listen = '127.0.0.1';
ALTER SYSTEM SET pgha.api_connect_address = '127.0.0.1:99999';
ALTER SYSTEM SET pgha.api_verify_client = 'sometimes';
ALTER SYSTEM SET pgha.api_certfile = 'server.crt';

-- valid values are accepted (and taken back)
ALTER SYSTEM SET pgha.etcd_endpoints = 'http://127.0.0.1:2379, https://[::1]:2379';
ALTER SYSTEM SET pgha.connect_address = '[::1]:5432';
ALTER SYSTEM SET pgha.ttl = '30s';
ALTER SYSTEM RESET ALL;

-- the password is hidden from SHOW ALL and from non-superusers
SELECT count(*) FROM pg_settings WHERE name = 'pgha.etcd_password';
SELECT count(*) FROM pg_settings WHERE name = 'pgha.api_password';
CREATE ROLE pgha_regress_user;
SET ROLE pgha_regress_user;
SHOW pgha.etcd_password;
SHOW pgha.etcd_endpoints;
RESET ROLE;
DROP ROLE pgha_regress_user;
