/*-------------------------------------------------------------------------
 *
 * table.c
 *	  patronictl's table layout (patroni/ctl.py, PatronictlPrettyTable).
 *
 * Rules reproduced from prettytable 3.6 as patronictl configures it: one
 * space of padding, header cells aligned like their column, rules of '-'
 * joined by '+', the title (" Cluster: name ") overwriting the top rule
 * from its second character and truncated to keep the final '+'.  A cell
 * holding several lines makes the table draw a rule after every row
 * (hrules=ALL); otherwise only the frame is drawn.  Widths are terminal
 * columns (wcwidth), as prettytable counts them; the title is cut by
 * characters, as Python slices it.
 *
 *-------------------------------------------------------------------------
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

void
pghactl_table_init(PghactlTable *t)
{
	memset(t, 0, sizeof(*t));
}

void
pghactl_table_add_column(PghactlTable *t, const char *header, bool right_aligned)
{
	if (t->ncols >= PGHACTL_TABLE_MAX_COLS)
		return;
	t->headers[t->ncols] = header;
	t->right[t->ncols] = right_aligned;
	t->ncols++;
}

bool
pghactl_table_add_row(PghactlTable *t, const char *const *cells)
{
	int			c;

	if (t->nrows == t->caprows)
	{
		int			cap = t->caprows ? t->caprows * 2 : 8;
		char	  **grown = realloc(t->cells, (size_t) cap * t->ncols * sizeof(char *));

		if (grown == NULL)
			return false;
		t->cells = grown;
		t->caprows = cap;
	}
	for (c = 0; c < t->ncols; c++)
	{
		char	   *copy = strdup(cells[c] ? cells[c] : "");

		if (copy == NULL)
		{
			while (--c >= 0)
				free(t->cells[t->nrows * t->ncols + c]);
			return false;
		}
		t->cells[t->nrows * t->ncols + c] = copy;
	}
	t->nrows++;
	return true;
}

void
pghactl_table_free(PghactlTable *t)
{
	int			i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	pghactl_table_init(t);
}

/*
 * Terminal columns of s[0..len), as prettytable measures them with
 * wcwidth: wide (East Asian) characters take two, combining marks none.
 * Needs a UTF-8 LC_CTYPE (main() sets one); without it, or on bytes that
 * are not UTF-8, each character counts one.
 */
static int
text_width(const char *s, size_t len)
{
	mbstate_t	ps;
	int			total = 0;
	size_t		i = 0;

	memset(&ps, 0, sizeof(ps));
	while (i < len)
	{
		wchar_t		wc;
		size_t		n = mbrtowc(&wc, s + i, len - i, &ps);
		int			w;

		if (n == (size_t) -1 || n == (size_t) -2 || n == 0)
		{
			memset(&ps, 0, sizeof(ps));
			/* one column for the character this byte starts, if any */
			if (((unsigned char) s[i] & 0xc0) != 0x80)
				total++;
			i++;
			continue;
		}
		w = wcwidth(wc);
		total += (w < 0) ? 1 : w;
		i += n;
	}
	return total;
}

/* line number `line` of a multi-line cell; *len 0 past its last line */
static const char *
cell_line(const char *cell, int line, size_t *len)
{
	const char *p = cell;
	const char *nl;

	while (line-- > 0)
	{
		nl = strchr(p, '\n');
		if (nl == NULL)
		{
			*len = 0;
			return "";
		}
		p = nl + 1;
	}
	nl = strchr(p, '\n');
	*len = nl ? (size_t) (nl - p) : strlen(p);
	return p;
}

static int
cell_lines(const char *cell)
{
	int			n = 1;

	for (; *cell != '\0'; cell++)
		if (*cell == '\n')
			n++;
	return n;
}

static void
put_rule(const int *widths, int ncols, const char *title, FILE *out)
{
	char		rule[4096];
	size_t		n = 0;
	int			c,
				k;

	rule[n++] = '+';
	for (c = 0; c < ncols; c++)
	{
		for (k = 0; k < widths[c] + 2 && n < sizeof(rule) - 2; k++)
			rule[n++] = '-';
		if (n < sizeof(rule) - 2)
			rule[n++] = '+';
	}
	rule[n] = '\0';

	if (title != NULL && title[0] != '\0')
	{
		/* line[0] + title[:len(line) - 2] + line[1 + len(title):] */
		int			room = (int) n - 2;
		size_t		tbytes = 0;
		int			tchars = 0;

		while (title[tbytes] != '\0')
		{
			size_t		next = tbytes + 1;

			while (((unsigned char) title[next] & 0xc0) == 0x80)
				next++;
			if (tchars == room)
				break;
			tchars++;
			tbytes = next;
		}
		fputc('+', out);
		fwrite(title, 1, tbytes, out);
		fputs(rule + 1 + tchars, out);
		fputc('\n', out);
		return;
	}
	fputs(rule, out);
	fputc('\n', out);
}

static void
put_cell(const char *s, size_t len, int width, bool right, FILE *out)
{
	int			pad = width - text_width(s, len);

	fputs(" ", out);
	if (right)
		fprintf(out, "%*s", pad, "");
	fwrite(s, 1, len, out);
	if (!right)
		fprintf(out, "%*s", pad, "");
	fputs(" |", out);
}

void
pghactl_table_print(const PghactlTable *t, const char *title, FILE *out)
{
	int			widths[PGHACTL_TABLE_MAX_COLS];
	bool		multiline = false;
	int			r,
				c,
				line;

	for (c = 0; c < t->ncols; c++)
		widths[c] = text_width(t->headers[c], strlen(t->headers[c]));
	for (r = 0; r < t->nrows; r++)
	{
		for (c = 0; c < t->ncols; c++)
		{
			const char *cell = t->cells[r * t->ncols + c];
			int			nl = cell_lines(cell);

			if (nl > 1)
				multiline = true;
			for (line = 0; line < nl; line++)
			{
				size_t		len;
				const char *s = cell_line(cell, line, &len);
				int			w = text_width(s, len);

				if (w > widths[c])
					widths[c] = w;
			}
		}
	}

	put_rule(widths, t->ncols, title, out);
	fputc('|', out);
	for (c = 0; c < t->ncols; c++)
		put_cell(t->headers[c], strlen(t->headers[c]), widths[c], t->right[c], out);
	fputc('\n', out);
	put_rule(widths, t->ncols, NULL, out);

	for (r = 0; r < t->nrows; r++)
	{
		int			height = 1;

		for (c = 0; c < t->ncols; c++)
		{
			int			nl = cell_lines(t->cells[r * t->ncols + c]);

			if (nl > height)
				height = nl;
		}
		for (line = 0; line < height; line++)
		{
			fputc('|', out);
			for (c = 0; c < t->ncols; c++)
			{
				size_t		len;
				const char *s = cell_line(t->cells[r * t->ncols + c], line, &len);

				put_cell(s, len, widths[c], t->right[c], out);
			}
			fputc('\n', out);
		}
		if (multiline)
			put_rule(widths, t->ncols, NULL, out);
	}
	if (!multiline || t->nrows == 0)
		put_rule(widths, t->ncols, NULL, out);
}
