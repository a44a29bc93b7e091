/*-------------------------------------------------------------------------
 *
 * config_edit.c
 *	  Editing and validating the shared "config" key (see config_edit.h).
 *
 * The config key is shared with Patroni's tools: patronictl show-config
 * must still read it after pghactl wrote it, and a Patroni reading it
 * applies int() to its integer settings and stops on a value int() cannot
 * read.  So the edit keeps every key it does not touch, in its order, and
 * the validation refuses what either pgha or Patroni would misread.
 *
 *-------------------------------------------------------------------------
 */
#include "config_edit.h"
#include "errbuf.h"

#include "cluster.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pg_params.h"
#include "pgha_json.h"
#include "settings.h"

/* Patroni's defaults (patroni/config.py) for the timing check */
#define DEFAULT_TTL				30
#define DEFAULT_LOOP_WAIT		10
#define DEFAULT_RETRY_TIMEOUT	10

#define MAX_PATH_PARTS			32

/* above this many line pairs the diff shows every line as changed */
#define DIFF_MAX_CELLS			(4 * 1024 * 1024)
#define DIFF_CONTEXT			3


/*
 * Reals print with 17 significant digits by default, which turns 0.9
 * (checkpoint_completion_target) into 0.90000000000000002.  Use 15 digits
 * when every real of the document survives that unchanged, as all values
 * people write do; otherwise keep 17, which never changes a value.
 */
static bool
reals_fit(json_t *v, int precision)
{
	const char *key;
	json_t	   *item;
	size_t		i;

	if (json_is_real(v))
	{
		char		buf[64];

		snprintf(buf, sizeof(buf), "%.*g", precision, json_real_value(v));
		return strtod(buf, NULL) == json_real_value(v);
	}
	if (json_is_object(v))
	{
		json_object_foreach(v, key, item)
		{
			if (!reals_fit(item, precision))
				return false;
		}
	}
	else if (json_is_array(v))
	{
		json_array_foreach(v, i, item)
		{
			if (!reals_fit(item, precision))
				return false;
		}
	}
	return true;
}

static char *
dump(json_t *v, size_t flags)
{
	return json_dumps(v, flags | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER |
					  JSON_REAL_PRECISION(reals_fit(v, 15) ? 15 : 17));
}

/* Patroni writes JSON as Python's json.dumps(separators=(',', ':')) */
static char *
dump_compact(json_t *v, char *errbuf, size_t errlen)
{
	char	   *out = dump(v, JSON_COMPACT | JSON_ENSURE_ASCII);

	if (out == NULL)
		pgha_set_error(errbuf, errlen, "out of memory");
	return out;
}

/* a JSON object, or an error naming what the text is */
static json_t *
load_object(const char *text, const char *what, char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;

	root = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (root == NULL)
	{
		pgha_set_error(errbuf, errlen, "%s is not valid JSON: %s (line %d, column %d)",
				  what, jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(root))
	{
		pgha_set_error(errbuf, errlen, "%s is not a JSON object", what);
		json_decref(root);
		return NULL;
	}
	return root;
}

char *
pgha_config_parse_object(const char *text, char *errbuf, size_t errlen)
{
	json_t	   *root = load_object(text, "the new configuration", errbuf, errlen);
	char	   *out;

	if (root == NULL)
		return NULL;
	out = dump_compact(root, errbuf, errlen);
	json_decref(root);
	return out;
}

/*
 * Split PATH into parts, in place in buf.  Below postgresql.parameters the
 * rest is one part (GUC names may contain dots).
 */
static int
split_path(char *buf, char **parts, char *errbuf, size_t errlen,
		   const char *path)
{
	int			n = 0;
	char	   *p = buf;

	for (;;)
	{
		char	   *dot;

		if (n == MAX_PATH_PARTS)
		{
			pgha_set_error(errbuf, errlen, "path \"%s\" is deeper than %d levels",
					  path, MAX_PATH_PARTS);
			return -1;
		}
		if (n == 2 && strcmp(parts[0], "postgresql") == 0 &&
			strcmp(parts[1], "parameters") == 0)
			dot = NULL;
		else
			dot = strchr(p, '.');
		if (dot != NULL)
			*dot = '\0';
		if (*p == '\0')
		{
			pgha_set_error(errbuf, errlen, "path \"%s\" has an empty part", path);
			return -1;
		}
		parts[n++] = p;
		if (dot == NULL)
			return n;
		p = dot + 1;
	}
}

/* set (value != NULL, reference stolen) or remove parts[0..n) below obj */
static bool
set_path(json_t *obj, char **parts, int n, json_t *value)
{
	json_t	   *child;

	if (n == 1)
	{
		if (value == NULL)
		{
			json_object_del(obj, parts[0]);
			return true;
		}
		return json_object_set_new(obj, parts[0], value) == 0;
	}
	child = json_object_get(obj, parts[0]);
	if (!json_is_object(child))
	{
		if (value == NULL)
			return true;		/* nothing there to remove */
		child = pgha_json_object();
		if (child == NULL || json_object_set_new(obj, parts[0], child) != 0)
		{
			json_decref(value);
			return false;
		}
	}
	if (!set_path(child, parts + 1, n - 1, value))
		return false;
	if (json_object_size(child) == 0)
		json_object_del(obj, parts[0]);
	return true;
}

char *
pgha_config_apply_set(const char *json, const char *assignment, char *errbuf,
					  size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	char		path[1024];
	char		shown[1024];	/* the path, for messages */
	char	   *start;
	char	   *end;
	char	   *parts[MAX_PATH_PARTS];
	int			nparts;
	json_t	   *root;
	json_t	   *value;
	char	   *out;
	size_t		len;

	if (eq == NULL)
	{
		pgha_set_error(errbuf, errlen, "\"%s\" is not PATH=VALUE", assignment);
		return NULL;
	}
	len = (size_t) (eq - assignment);
	if (len >= sizeof(path))
	{
		pgha_set_error(errbuf, errlen, "the path of \"%.40s...\" is too long", assignment);
		return NULL;
	}
	memcpy(path, assignment, len);
	path[len] = '\0';

	/* patronictl strips the path, not the value */
	start = path;
	while (isspace((unsigned char) *start))
		start++;
	end = start + strlen(start);
	while (end > start && isspace((unsigned char) end[-1]))
		*--end = '\0';
	if (*start == '\0')
	{
		pgha_set_error(errbuf, errlen, "\"%s\" has no path before \"=\"", assignment);
		return NULL;
	}
	snprintf(shown, sizeof(shown), "%s", start);
	nparts = split_path(start, parts, errbuf, errlen, shown);
	if (nparts < 0)
		return NULL;

	if (json == NULL || json[0] == '\0')
		root = pgha_json_object();
	else
		root = load_object(json, "the config key", errbuf, errlen);
	if (root == NULL)
	{
		if (json == NULL || json[0] == '\0')
			pgha_set_error(errbuf, errlen, "out of memory");
		return NULL;
	}

	value = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
	if (value == NULL)
	{
		value = json_string(eq + 1);
		if (value == NULL)
		{
			pgha_set_error(errbuf, errlen, "the value of \"%s\" is not valid UTF-8", shown);
			json_decref(root);
			return NULL;
		}
	}
	else if (json_is_null(value))
	{
		json_decref(value);
		value = NULL;
	}

	if (!set_path(root, parts, nparts, value))
	{
		pgha_set_error(errbuf, errlen, "cannot set \"%s\" (a name that is not valid UTF-8, or out of memory)",
				  shown);
		json_decref(root);
		return NULL;
	}
	out = dump_compact(root, errbuf, errlen);
	json_decref(root);
	return out;
}

/* a short rendering of a value for messages */
static void
show_value(json_t *v, char *buf, size_t len)
{
	char	   *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (text == NULL)
		snprintf(buf, len, "?");
	else if (strlen(text) > 40)
		snprintf(buf, len, "%.37s...", text);
	else
		snprintf(buf, len, "%s", text);
	free(text);
}

/* int(): a JSON integer or a decimal string with optional sign and spaces */
static bool
int_value(json_t *v, int64_t *out)
{
	if (json_is_integer(v))
	{
		*out = (int64_t) json_integer_value(v);
		return true;
	}
	return json_is_string(v) &&
		strlen(json_string_value(v)) == json_string_length(v) &&
		pgha_parse_int64_text(json_string_value(v), out);
}

typedef enum
{
	K_INT,
	K_BOOL,
	K_SYNC_MODE,
	K_OBJECT
} KeyKind;

typedef struct KnownKey
{
	const char *name;
	KeyKind		kind;
	int64_t		min;
	int64_t		max;
} KnownKey;

/* what Patroni 3 (config.py, __DEFAULT_CONFIG) and pgha read */
static const KnownKey known_keys[] = {
	{"ttl", K_INT, PGHA_TTL_MIN, PGHA_TTL_MAX},
	{"loop_wait", K_INT, PGHA_LOOP_WAIT_MIN, PGHA_LOOP_WAIT_MAX},
	{"retry_timeout", K_INT, PGHA_RETRY_TIMEOUT_MIN, PGHA_RETRY_TIMEOUT_MAX},
	{"maximum_lag_on_failover", K_INT, 0, INT64_MAX},
	{"maximum_lag_on_syncnode", K_INT, -1, INT64_MAX},
	{"primary_start_timeout", K_INT, 0, INT32_MAX},
	{"primary_stop_timeout", K_INT, 0, INT32_MAX},
	{"master_start_timeout", K_INT, 0, INT32_MAX},
	{"master_stop_timeout", K_INT, 0, INT32_MAX},
	{"synchronous_node_count", K_INT, 1, PGHA_MAX_SYNC},
	{"pause", K_BOOL, 0, 0},
	{"failsafe_mode", K_BOOL, 0, 0},
	{"synchronous_mode_strict", K_BOOL, 0, 0},
	{"synchronous_mode", K_SYNC_MODE, 0, 0},
	{"postgresql", K_OBJECT, 0, 0},
	{"standby_cluster", K_OBJECT, 0, 0},
};

static bool
check_key(const KnownKey *k, json_t *v, int64_t *n, char *errbuf, size_t errlen)
{
	char		shown[48];

	show_value(v, shown, sizeof(shown));
	switch (k->kind)
	{
		case K_INT:
			if (!int_value(v, n) || *n < k->min || *n > k->max)
			{
				if (k->max == INT64_MAX)
					pgha_set_error(errbuf, errlen, "\"%s\" must be an integer >= %lld, not %s",
							  k->name, (long long) k->min, shown);
				else
					pgha_set_error(errbuf, errlen, "\"%s\" must be an integer between %lld and %lld, not %s",
							  k->name, (long long) k->min, (long long) k->max, shown);
				return false;
			}
			return true;
		case K_BOOL:
			if (pgha_json_bool(v) < 0)
			{
				pgha_set_error(errbuf, errlen, "\"%s\" must be true or false, not %s",
						  k->name, shown);
				return false;
			}
			return true;
		case K_SYNC_MODE:
			if (pgha_json_bool(v) < 0 &&
				!(json_is_string(v) && strcmp(json_string_value(v), "strict") == 0))
			{
				pgha_set_error(errbuf, errlen, "\"%s\" must be true, false or \"strict\", not %s",
						  k->name, shown);
				return false;
			}
			return true;
		case K_OBJECT:
			if (!json_is_object(v))
			{
				pgha_set_error(errbuf, errlen, "\"%s\" must be an object, not %s",
						  k->name, shown);
				return false;
			}
			return true;
	}
	return false;
}

/*
 * Settings Patroni acts on that pgha does not implement yet: accepted
 * only when they ask for nothing (failsafe_mode off, no standby_cluster).
 */
static bool
check_not_implemented(json_t *root, char *errbuf, size_t errlen)
{
	json_t	   *v = json_object_get(root, "failsafe_mode");

	if (v != NULL && pgha_json_bool(v) == 1)
	{
		pgha_set_error(errbuf, errlen, "\"failsafe_mode\" is not implemented by pgha: without it a leader cut off from etcd stops writes at its lease deadline (remove the setting or set it to false)");
		return false;
	}
	v = json_object_get(root, "standby_cluster");
	if (json_is_object(v) && json_object_size(v) > 0)
	{
		pgha_set_error(errbuf, errlen, "\"standby_cluster\" is not implemented by pgha: the cluster cannot follow a remote primary (remove the setting)");
		return false;
	}
	return true;
}

bool
pgha_config_implemented(const char *json, char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t	   *root = json_loads(json, 0, &jerr);
	bool		ok;

	if (root == NULL)
		return true;			/* unparseable: pgha_config_validate's to say */
	ok = check_not_implemented(root, errbuf, errlen);
	json_decref(root);
	return ok;
}

/* every parameter one pgha applies (pg_params.c refuses the others) */
static bool
check_parameters(json_t *params, char *errbuf, size_t errlen)
{
	const char *name;
	json_t	   *v;

	if (!json_is_object(params))
		return true;
	json_object_foreach(params, name, v)
	{
		char		text[PGHA_PARAM_VALUE_LEN];
		char		shown[48];
		const char *why;
		bool		scalar = true;

		if (json_is_null(v))
			continue;
		if (json_is_string(v))
			snprintf(text, sizeof(text), "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(text, sizeof(text), "%lld", (long long) json_integer_value(v));
		else if (json_is_real(v))
			snprintf(text, sizeof(text), "%.15g", json_real_value(v));
		else if (json_is_boolean(v))
			snprintf(text, sizeof(text), "%s", json_is_true(v) ? "on" : "off");
		else
			scalar = false;
		if (!scalar)
		{
			show_value(v, shown, sizeof(shown));
			pgha_set_error(errbuf, errlen, "postgresql.parameters.%s must be a string, a number or a boolean, not %s",
						   name, shown);
			return false;
		}
		if (strlen(name) >= PGHA_PARAM_NAME_LEN ||
			(json_is_string(v) && json_string_length(v) >= PGHA_PARAM_VALUE_LEN) ||
			strchr(text, '\n') != NULL || strchr(text, '\r') != NULL)
		{
			pgha_set_error(errbuf, errlen, "postgresql.parameters.%.64s: the name or value is too long or has a line break",
						   name);
			return false;
		}
		if ((why = pgha_param_refusal(name, text)) != NULL)
		{
			pgha_set_error(errbuf, errlen, "postgresql.parameters.%s is refused: %s", name, why);
			return false;
		}
	}
	return true;
}

bool
pgha_config_validate(const char *json, char *errbuf, size_t errlen)
{
	json_t	   *root = load_object(json ? json : "", "the configuration",
								   errbuf, errlen);
	json_t	   *params;
	int64_t		timing[3] = {DEFAULT_TTL, DEFAULT_LOOP_WAIT, DEFAULT_RETRY_TIMEOUT};
	char		why[256];
	bool		ok = false;
	size_t		i;

	if (root == NULL)
		return false;
	for (i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++)
	{
		json_t	   *v = json_object_get(root, known_keys[i].name);
		int64_t		n = 0;

		if (v == NULL || json_is_null(v))
			continue;
		if (!check_key(&known_keys[i], v, &n, errbuf, errlen))
			goto done;
		if (i < 3)				/* ttl, loop_wait, retry_timeout */
			timing[i] = n;
	}
	params = json_object_get(json_object_get(root, "postgresql"), "parameters");
	if (params != NULL && !json_is_null(params) && !json_is_object(params))
	{
		char		shown[48];

		show_value(params, shown, sizeof(shown));
		pgha_set_error(errbuf, errlen, "\"postgresql.parameters\" must be an object, not %s",
				  shown);
		goto done;
	}
	if (!check_not_implemented(root, errbuf, errlen) ||
		!check_parameters(params, errbuf, errlen))
		goto done;
	if (!pgha_valid_timing((int) timing[0], (int) timing[1], (int) timing[2],
						   why, sizeof(why)))
	{
		pgha_set_error(errbuf, errlen, "%s (a leader must survive a missed loop and a retry before its lease expires)",
				  why);
		goto done;
	}
	ok = true;

done:
	json_decref(root);
	return ok;
}

bool
pgha_config_same(const char *a, const char *b)
{
	json_t	   *ja = json_loads(a ? a : "", JSON_DECODE_ANY, NULL);
	json_t	   *jb = json_loads(b ? b : "", JSON_DECODE_ANY, NULL);
	bool		same = ja != NULL && jb != NULL && json_equal(ja, jb);

	json_decref(ja);
	json_decref(jb);
	return same;
}

char *
pgha_config_pretty(const char *json)
{
	json_t	   *root = json_loads(json ? json : "", JSON_DECODE_ANY, NULL);
	char	   *out;

	if (root == NULL)
		return NULL;
	out = dump(root, JSON_INDENT(2));
	json_decref(root);
	return out;
}

/* --- the diff --- */

typedef struct Lines
{
	char	  **line;			/* pointers into a copy of the text */
	int			n;
	char	   *copy;
} Lines;

/* difflib's listify: rstrip('\n') then split('\n') */
static bool
split_lines(const char *text, Lines *l)
{
	size_t		len = strlen(text);
	int			cap = 1;
	char	   *p;

	memset(l, 0, sizeof(*l));
	while (len > 0 && text[len - 1] == '\n')
		len--;
	l->copy = malloc(len + 1);
	if (l->copy == NULL)
		return false;
	memcpy(l->copy, text, len);
	l->copy[len] = '\0';
	for (p = l->copy; *p; p++)
		if (*p == '\n')
			cap++;
	l->line = malloc(sizeof(char *) * cap);
	if (l->line == NULL)
	{
		free(l->copy);
		return false;
	}
	l->line[l->n++] = l->copy;
	for (p = l->copy; *p; p++)
		if (*p == '\n')
		{
			*p = '\0';
			l->line[l->n++] = p + 1;
		}
	return true;
}

static void
free_lines(Lines *l)
{
	free(l->line);
	free(l->copy);
}

/* one step of the edit script: ' ' both, '-' only in a, '+' only in b */
typedef struct DiffOp
{
	char		kind;
	int			a;				/* line of a (kind ' ' or '-') */
	int			b;				/* line of b (kind ' ' or '+') */
} DiffOp;

/* a longest common subsequence edit script; *nops entries */
static DiffOp *
edit_script(const Lines *a, const Lines *b, int *nops)
{
	DiffOp	   *ops = malloc(sizeof(DiffOp) * (size_t) (a->n + b->n + 1));
	int		   *lcs = NULL;
	int			w = b->n + 1;
	int			i,
				j,
				k = 0;

	if (ops == NULL)
		return NULL;
	if ((int64_t) (a->n + 1) * (b->n + 1) <= DIFF_MAX_CELLS)
		lcs = calloc((size_t) (a->n + 1) * (b->n + 1), sizeof(int));
	if (lcs != NULL)
	{
		/* lcs[i][j]: the longest common subsequence of a[i..] and b[j..] */
		for (i = a->n - 1; i >= 0; i--)
			for (j = b->n - 1; j >= 0; j--)
				lcs[i * w + j] = strcmp(a->line[i], b->line[j]) == 0
					? lcs[(i + 1) * w + j + 1] + 1
					: (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]
					   ? lcs[(i + 1) * w + j] : lcs[i * w + j + 1]);
	}
	i = j = 0;
	while (i < a->n || j < b->n)
	{
		if (lcs != NULL && i < a->n && j < b->n &&
			strcmp(a->line[i], b->line[j]) == 0)
		{
			ops[k++] = (DiffOp) {' ', i++, j++};
		}
		else if (i < a->n &&
				 (j == b->n || lcs == NULL ||
				  lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]))
		{
			ops[k++] = (DiffOp) {'-', i++, j};
		}
		else
			ops[k++] = (DiffOp) {'+', i, j++};
	}
	free(lcs);

	/*
	 * difflib shows a replaced block as all its removed lines, then all
	 * the added ones: reorder each run of changes so, then renumber.
	 */
	for (int r = 0; r < k;)
	{
		int			end = r;
		int			w2 = r;

		while (end < k && ops[end].kind != ' ')
			end++;
		for (int m = r; m < end; m++)
			if (ops[m].kind == '-')
				ops[w2++].kind = '-';
		for (; w2 < end; w2++)
			ops[w2].kind = '+';
		r = end == r ? r + 1 : end;
	}
	i = j = 0;
	for (int m = 0; m < k; m++)
	{
		ops[m].a = i;
		ops[m].b = j;
		i += ops[m].kind != '+';
		j += ops[m].kind != '-';
	}
	*nops = k;
	return ops;
}

/* a growing output buffer */
typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} Buf;

static void
buf_add(Buf *b, const char *fmt,...)
__attribute__((format(printf, 2, 3)));

static void
buf_add(Buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (b->failed)
		return;
	for (;;)
	{
		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL,
					  b->data ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
		{
			b->failed = true;
			return;
		}
		if (b->data != NULL && b->len + (size_t) n < b->cap)
		{
			b->len += (size_t) n;
			return;
		}
		{
			size_t		cap = (b->cap ? b->cap * 2 : 256) + (size_t) n;
			char	   *grown = realloc(b->data, cap);

			if (grown == NULL)
			{
				b->failed = true;
				return;
			}
			b->data = grown;
			b->cap = cap;
		}
	}
}

/* difflib's _format_range_unified: "start,length" with its special cases */
static void
format_range(int start, int length, char *buf, size_t len)
{
	int			beginning = start + 1;

	if (length == 1)
		snprintf(buf, len, "%d", beginning);
	else
		snprintf(buf, len, "%d,%d", length == 0 ? beginning - 1 : beginning, length);
}

char *
pgha_text_diff(const char *before, const char *after)
{
	Lines		a,
				b;
	DiffOp	   *ops;
	int			nops;
	int			k;
	Buf			out = {0};
	bool		header = false;

	if (!split_lines(before, &a))
		return NULL;
	if (!split_lines(after, &b))
	{
		free_lines(&a);
		return NULL;
	}
	ops = edit_script(&a, &b, &nops);
	if (ops == NULL)
	{
		free_lines(&a);
		free_lines(&b);
		return NULL;
	}

	k = 0;
	while (k < nops)
	{
		int			first,
					last,
					start,
					stop,
					m,
					alen = 0,
					blen = 0;
		char		ra[32],
					rb[32];

		/* the next change, and the last one within two contexts of it */
		while (k < nops && ops[k].kind == ' ')
			k++;
		if (k == nops)
			break;
		first = last = k;
		for (m = k + 1; m < nops; m++)
		{
			if (ops[m].kind == ' ')
				continue;
			if (m - last - 1 > 2 * DIFF_CONTEXT)
				break;
			last = m;
		}
		start = first - DIFF_CONTEXT < 0 ? 0 : first - DIFF_CONTEXT;
		stop = last + DIFF_CONTEXT + 1 > nops ? nops : last + DIFF_CONTEXT + 1;
		for (m = start; m < stop; m++)
		{
			alen += ops[m].kind != '+';
			blen += ops[m].kind != '-';
		}
		if (!header)
		{
			buf_add(&out, "--- \n+++ \n");
			header = true;
		}
		format_range(ops[start].a, alen, ra, sizeof(ra));
		format_range(ops[start].b, blen, rb, sizeof(rb));
		buf_add(&out, "@@ -%s +%s @@\n", ra, rb);
		for (m = start; m < stop; m++)
			buf_add(&out, "%c%s\n", ops[m].kind,
					ops[m].kind == '+' ? b.line[ops[m].b] : a.line[ops[m].a]);
		k = stop;
	}
	if (!header)
		buf_add(&out, "%s", "");
	free(ops);
	free_lines(&a);
	free_lines(&b);
	if (out.failed)
	{
		free(out.data);
		return NULL;
	}
	return out.data;
}
