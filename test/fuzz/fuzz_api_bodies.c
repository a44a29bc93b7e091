/*
 * fuzz_api_bodies.c
 *	  libFuzzer target: every parser of the REST api that reads what a
 *	  client sends (src/common/api): request bodies (POST /switchover and
 *	  /failover, PATCH and PUT /config, {"force": ...}), query values
 *	  (?lag=, tag_*), paths, host:port settings, and the JSON re-dump.
 *
 * Input layout: the first byte picks the parser (modulo 8); the rest is
 * given to it with its exact length (not NUL-terminated, in a heap buffer
 * of exactly that size, so that AddressSanitizer sees any read past it),
 * and as a NUL-terminated copy where the parser takes a C string.  A body
 * that parses is also checked against a small cluster (the switchover's
 * prechecks) or merged into a config, and the results are rendered again.
 *
 * Build and run: make fuzz-run (see README.md, "Fuzzing").
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_body.h"
#include "api_policy.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const current_config =
"{\"ttl\":30,\"loop_wait\":10,\"postgresql\":{\"parameters\":{\"max_connections\":100}}}";

static void
small_cluster(PghaCluster *cl)
{
	memset(cl, 0, sizeof(*cl));
	cl->has_leader = true;
	strcpy(cl->leader, "pg2");
	cl->nmembers = 2;
	strcpy(cl->members[0].name, "pg1");
	strcpy(cl->members[0].conn_url, "postgres://127.0.0.1:5441/postgres");
	strcpy(cl->members[0].state, "running");
	strcpy(cl->members[0].role, "replica");
	cl->members[0].xlog_location = 100;
	cl->members[0].failover_priority = 1;
	strcpy(cl->members[1].name, "pg2");
	strcpy(cl->members[1].role, "master");
	cl->members[1].xlog_location = -1;
	cl->members[1].failover_priority = 1;
	cl->config_valid = true;
	cl->has_optime = true;
	cl->optime = 200;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		err[256];
	char	   *body;
	char	   *text;
	size_t		len;

	if (size < 1)
		return 0;
	len = size - 1;
	body = malloc(len ? len : 1);
	text = malloc(len + 1);
	if (body == NULL || text == NULL)
	{
		free(body);
		free(text);
		return 0;
	}
	memcpy(body, data + 1, len);
	memcpy(text, data + 1, len);
	text[len] = '\0';

	switch (data[0] % 8)
	{
		case 0:
			{
				PghaApiFailoverRequest r;
				PghaCluster *cl = malloc(sizeof(PghaCluster));

				if (cl != NULL && pgha_api_parse_failover(body, len, &r, err, sizeof(err)) == 0)
				{
					small_cluster(cl);
					(void) pgha_api_failover_precheck(cl, (data[0] & 8) != 0, &r,
													  1.8e9, err, sizeof(err));
				}
				free(cl);
				break;
			}
		case 1:
			{
				bool		changed;
				int			code;
				char	   *s = pgha_api_config_patch(current_config, body, len,
													  &changed, &code, err, sizeof(err));

				free(pgha_api_json_python(s));
				free(s);
				/* the input as the stored config, patched with a fixed body */
				s = pgha_api_config_patch(text, "{\"ttl\":null,\"a\":{\"b\":1}}", 24,
										  &changed, &code, err, sizeof(err));
				free(s);
				break;
			}
		case 2:
			{
				int			code;

				free(pgha_api_config_put(body, len, &code, err, sizeof(err)));
				break;
			}
		case 3:
			{
				bool		force;

				PghaApiRestartRequest rr;

				(void) pgha_api_parse_force(body, len, &force, err, sizeof(err));
				(void) pgha_api_parse_restart(body, len, false, 1.8e9, &rr, err, sizeof(err));
				(void) pgha_api_parse_restart(body, len, true, 0, &rr, err, sizeof(err));
				break;
			}
		case 4:
			{
				int64_t		v;
				PghaApiQuery q;
				PghaApiNode n;

				(void) pgha_api_parse_bytes(text, &v);
				memset(&q, 0, sizeof(q));
				memset(&n, 0, sizeof(n));
				/* "key=value&key=value" as query arguments */
				{
					char	   *save = NULL;

					for (char *kv = strtok_r(text, "&", &save); kv; kv = strtok_r(NULL, "&", &save))
					{
						char	   *eq = strchr(kv, '=');

						if (eq)
							*eq++ = '\0';
						pgha_api_query_add(&q, kv, eq);
					}
				}
				n.state = "running";
				n.role = "replica";
				n.leader_optime = 1000;
				n.replication_state = "streaming";
				for (int ep = PGHA_EP_PRIMARY; ep <= PGHA_EP_HEALTH; ep++)
					(void) pgha_api_check_code((PghaApiEndpoint) ep, &n, &q);
				break;
			}
		case 5:
			{
				char		host[64];
				int			port;

				(void) pgha_api_split_host_port(text, host, sizeof(host), &port,
												err, sizeof(err));
				(void) pgha_api_endpoint(text);
				(void) pgha_api_method(text);
				break;
			}
		case 6:
			free(pgha_api_json_python(text));
			break;
		case 7:
			{
				/* render a status with the input's strings in every text field */
				PghaApiStatus st;
				PghaApiMetrics m;

				memset(&st, 0, sizeof(st));
				memset(&m, 0, sizeof(m));
				snprintf(st.state, sizeof(st.state), "%s", text);
				snprintf(st.role, sizeof(st.role), "%s", text);
				snprintf(st.scope, sizeof(st.scope), "%s", text);
				snprintf(st.replayed_timestamp, sizeof(st.replayed_timestamp), "%s", text);
				st.have_postgres = (len % 2) == 0;
				st.nreplication = 1;
				snprintf(st.replication[0].application_name,
						 sizeof(st.replication[0].application_name), "%s", text);
				free(pgha_api_status_json(&st));
				free(pgha_api_metrics_text(&st, &m, text));
				break;
			}
	}
	free(body);
	free(text);
	return 0;
}
