/*-------------------------------------------------------------------------
 *
 * cmd_edit_config.c
 *	  pghactl edit-config: change the shared config key, checked.
 *
 * Like patronictl edit-config without the editor: --replace FILE starts
 * from a whole new JSON object, then every --set PATH=VALUE and --pg
 * NAME=VALUE is applied in command-line order (config_edit.c).  The result
 * is validated (timing, booleans, integers Patroni int()s) before anything
 * is shown or written, so a typo never reaches the keepers, which would
 * otherwise ignore the whole key (pgha) or stop on it (Patroni).  The
 * change is shown as a diff of the indented JSON, confirmed on a terminal
 * unless --force, and written with a compare-and-swap on the mod_revision
 * that was read: when someone else changed the key meanwhile nothing is
 * written, since the diff the operator approved is no longer the change.
 *
 *-------------------------------------------------------------------------
 */
#include "pghactl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_edit.h"

#define MAX_CONFIG_FILE	(1024 * 1024)

/* the whole file ("-": stdin), NUL-terminated; NULL with a message */
static char *
read_file(const char *path)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char	   *buf;
	size_t		n;

	if (f == NULL)
	{
		fprintf(stderr, "pghactl: could not open \"%s\": %s\n", path, strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_CONFIG_FILE + 1);
	if (buf == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		if (f != stdin)
			fclose(f);
		return NULL;
	}
	n = fread(buf, 1, MAX_CONFIG_FILE + 1, f);
	if (ferror(f) || n > MAX_CONFIG_FILE || memchr(buf, '\0', n) != NULL)
	{
		fprintf(stderr, "pghactl: could not read \"%s\": %s\n", path,
				ferror(f) ? strerror(errno) :
				n > MAX_CONFIG_FILE ? "larger than 1 MB" : "it contains a NUL byte");
		free(buf);
		if (f != stdin)
			fclose(f);
		return NULL;
	}
	buf[n] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

/* the starting point and every --set / --pg; NULL with a message and *rc */
static char *
apply_edits(const PghactlArgs *args, const char *current, int *rc)
{
	char		err[512];
	char	   *cur;
	int			i;

	*rc = PGHACTL_EXIT_USAGE;
	if (args->replace != NULL)
	{
		char	   *text = read_file(args->replace);

		if (text == NULL)
			return NULL;
		cur = pgha_config_parse_object(text, err, sizeof(err));
		free(text);
		if (cur == NULL)
		{
			fprintf(stderr, "pghactl: --replace %s: %s\n", args->replace, err);
			return NULL;
		}
	}
	else
	{
		cur = strdup(current ? current : "{}");
		if (cur == NULL)
		{
			fprintf(stderr, "pghactl: out of memory\n");
			return NULL;
		}
	}
	for (i = 0; i < args->nedits; i++)
	{
		const PghactlEdit *e = &args->edits[i];
		char	   *assignment;
		char	   *next;
		const char *a = e->assignment;

		/* --pg NAME=VALUE is --set postgresql.parameters.NAME=VALUE */
		if (e->pg)
		{
			while (*a == ' ' || *a == '\t')
				a++;
			assignment = malloc(strlen(a) + sizeof("postgresql.parameters."));
			if (assignment != NULL)
				sprintf(assignment, "postgresql.parameters.%s", a);
		}
		else
			assignment = strdup(a);
		if (assignment == NULL)
		{
			fprintf(stderr, "pghactl: out of memory\n");
			free(cur);
			return NULL;
		}
		next = pgha_config_apply_set(cur, assignment, err, sizeof(err));
		free(assignment);
		free(cur);
		if (next == NULL)
		{
			fprintf(stderr, "pghactl: %s %s: %s\n", e->pg ? "--pg" : "--set",
					e->assignment, err);
			return NULL;
		}
		cur = next;
	}
	*rc = PGHACTL_EXIT_OK;
	return cur;
}

int
pghactl_cmd_edit_config(const PghactlSettings *st, const PghactlArgs *args)
{
	char		prefix[PGHACTL_PREFIX_LEN];
	char		key[PGHACTL_PREFIX_LEN + 8];
	EtcdClient *client = NULL;
	EtcdKVList	kvs;
	EtcdTxnResult txn;
	EtcdError	err;
	const EtcdKV *kv;
	const char *current = NULL;
	char	   *updated = NULL;
	char	   *before = NULL;
	char	   *after = NULL;
	char	   *diff = NULL;
	char		why[512];
	bool		current_ok;
	int			rc;

	memset(&kvs, 0, sizeof(kvs));
	memset(&txn, 0, sizeof(txn));
	if (args->nedits == 0 && args->replace == NULL)
	{
		fprintf(stderr, "pghactl: edit-config needs --set, --pg or --replace (it starts no editor)\n"
				"Try \"pghactl edit-config --help\" for more information.\n");
		return PGHACTL_EXIT_USAGE;
	}
	if ((rc = pghactl_prefix(st, prefix, sizeof(prefix))) != PGHACTL_EXIT_OK)
		return rc;
	snprintf(key, sizeof(key), "%sconfig", prefix);
	client = pghactl_client(st, &rc);
	if (client == NULL)
		return rc;
	if ((rc = pghactl_read_cluster(st, client, prefix, &kvs, NULL)) != PGHACTL_EXIT_OK)
		goto done;

	kv = etcd_kvlist_find(&kvs, key);
	if (kv != NULL)
		current = kv->value;
	current_ok = kv == NULL ||
		(strlen(kv->value) == kv->value_len &&
		 (before = pgha_config_parse_object(kv->value, why, sizeof(why))) != NULL);
	free(before);
	before = NULL;
	if (!current_ok && args->replace == NULL)
	{
		if (kv != NULL && strlen(kv->value) != kv->value_len)
			snprintf(why, sizeof(why), "the config key contains a NUL byte");
		pghactl_refuse("edit-config refused", why,
					   "--set edits a JSON object.",
					   "\"--replace FILE\" writes a whole new configuration.");
		rc = PGHACTL_EXIT_REFUSED;
		goto done;
	}

	updated = apply_edits(args, current_ok ? current : NULL, &rc);
	if (updated == NULL)
		goto done;
	if (!pgha_config_validate(updated, why, sizeof(why)))
	{
		pghactl_refuse("edit-config refused", "invalid configuration", why,
					   "Nothing was written.");
		rc = PGHACTL_EXIT_REFUSED;
		goto done;
	}
	if (current_ok && pgha_config_same(current ? current : "{}", updated))
	{
		printf("Not changed\n");
		rc = PGHACTL_EXIT_OK;
		goto done;
	}

	/* a value that is not JSON is shown as it is */
	before = current_ok ? pgha_config_pretty(current ? current : "{}")
		: strdup(strlen(kv->value) == kv->value_len ? kv->value : "");
	after = pgha_config_pretty(updated);
	diff = (before && after) ? pgha_text_diff(before, after) : NULL;
	if (diff == NULL)
	{
		fprintf(stderr, "pghactl: out of memory\n");
		rc = PGHACTL_EXIT_ETCD;
		goto done;
	}
	fputs(diff, stdout);

	if (args->dry_run)
	{
		printf("\nDry run, nothing written.  The new configuration would be:\n%s\n", after);
		rc = PGHACTL_EXIT_OK;
		goto done;
	}
	if (args->replace != NULL && strcmp(args->replace, "-") == 0 && !args->force)
	{
		/* stdin held the file: there is no one left to ask */
		printf("Use --force option to apply changes\n");
		rc = PGHACTL_EXIT_ABORTED;
		goto done;
	}
	if (!args->force && pghactl_interactive() &&
		!pghactl_confirm("Apply these changes?"))
	{
		fprintf(stderr, "pghactl: not applied\n");
		rc = PGHACTL_EXIT_ABORTED;
		goto done;
	}

	if (etcd_cas_mod(client, key, kv ? kv->mod_revision : 0, updated, 0,
					 &txn, &err) != ETCD_OK)
	{
		rc = pghactl_report_etcd(st, &err);
		if (err.status == ETCD_ERR_TIMEOUT)
			fprintf(stderr, "pghactl: the change may or may not have been written: \"pghactl show-config\" tells\n");
	}
	else if (!txn.succeeded)
	{
		pghactl_refuse("edit-config", "config modification aborted due to concurrent changes",
					   "The config key changed after it was read; nothing was written.",
					   "Run the command again to edit the current configuration.");
		rc = PGHACTL_EXIT_REFUSED;
	}
	else
	{
		printf("Configuration changed\n");
		rc = PGHACTL_EXIT_OK;
	}

done:
	fflush(stdout);
	etcd_txn_result_free(&txn);
	free(diff);
	free(after);
	free(before);
	free(updated);
	etcd_kvlist_free(&kvs);
	pghactl_client_done(client);
	return rc;
}
