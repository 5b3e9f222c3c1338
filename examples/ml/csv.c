/* csv.c: reading ntml's numeric CSV tables (a header, comma-separated numbers, no quoting;
 * the one text column is the slice column, `region`), either strictly (the first bad cell is an error naming file:line and column) or dropping
 * and counting bad rows, as `ntml prep` does. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "ntml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads the whole file into a NUL-terminated buffer. */
static int
slurp(char **out, size_t *outlen, const char *path)
{
	FILE *f = NULL;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int err = -1;

	*out = NULL;
	if (!(f = fopen(path, "r"))) {
		err = ntml_fail("cannot open '%s': %s", path, strerror(errno));
		goto done;
	}
	for (;;) {
		if (cap - len < 65536)
			buf = ntml_xrealloc(buf, cap = cap * 2 + 131072);
		size_t n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		err = ntml_fail("cannot read '%s': %s", path, strerror(errno));
		goto done;
	}
	buf[len] = 0;
	*out = buf;
	*outlen = len;
	buf = NULL;
	err = 0;
done:
	if (f)
		fclose(f);
	free(buf);
	return err;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

/* Cuts the next line out of *p (in place) and returns it, or NULL at the end. */
static char *
next_line(char **p)
{
	char *s = *p, *nl;

	if (!*s)
		return NULL;
	nl = strchr(s, '\n');
	if (nl) {
		*nl = 0;
		*p = nl + 1;
	} else {
		*p = s + strlen(s);
	}
	return s;
}

/* Splits LINE at commas in place; returns the number of fields, storing at most max. */
static size_t
split(char *line, char **fields, size_t max)
{
	size_t n = 0;

	for (char *s = line;;) {
		char *comma = strchr(s, ',');

		if (comma)
			*comma = 0;
		if (n < max)
			fields[n] = trim(s);
		n++;
		if (!comma)
			break;
		s = comma + 1;
	}
	return n;
}

enum cell_status { CELL_OK, CELL_MISSING, CELL_NUMBER, CELL_LABEL };

static enum cell_status
parse_cell(double *out, const char *cell, int is_label)
{
	char *end;
	double v;

	if (!*cell)
		return CELL_MISSING;
	errno = 0;
	v = strtod(cell, &end);
	if (end == cell || *end || !isfinite(v))
		return is_label ? CELL_LABEL : CELL_NUMBER;
	if (is_label && v != 0.0 && v != 1.0)
		return CELL_LABEL;
	*out = v;
	return CELL_OK;
}

/* A slice cell: its level's index (a new value becomes a new level). */
static enum cell_status
slice_cell(ntml_table *t, double *out, const char *cell)
{
	size_t i;

	if (!*cell)
		return CELL_MISSING;
	for (i = 0; i < t->nlevels; i++)
		if (!strcmp(t->levels[i], cell))
			break;
	if (i == t->nlevels) {
		t->levels = ntml_xrealloc(t->levels, (t->nlevels + 1) * sizeof(*t->levels));
		t->levels[t->nlevels++] = ntml_xstrdup(cell);
	}
	*out = (double)i;
	return CELL_OK;
}

int
ntml_table_read(ntml_table **out, const char *path, int mode, int need_label)
{
	ntml_table *t = ntml_xcalloc(1, sizeof(*t));
	char *buf = NULL, *p, *line, **fields = NULL;
	size_t len, cap = 0, lineno = 1;
	int err = -1;

	*out = NULL;
	t->path = ntml_xstrdup(path);
	t->label = -1;
	t->slice = -1;
	if (slurp(&buf, &len, path) < 0)
		goto done;
	p = buf;
	line = next_line(&p);
	if (!line || !*trim(line)) {
		err = ntml_fail("%s: empty file (no header line)", path);
		goto done;
	}

	/* The header: unique, non-empty names. */
	t->ncol = 1;
	for (const char *c = line; (c = strchr(c, ',')); c++)
		t->ncol++;
	fields = ntml_xcalloc(t->ncol, sizeof(*fields));
	split(line, fields, t->ncol);
	t->names = ntml_xcalloc(t->ncol, sizeof(*t->names));
	for (size_t j = 0; j < t->ncol; j++) {
		if (!*fields[j]) {
			err = ntml_fail("%s:1: column %zu has no name", path, j + 1);
			goto done;
		}
		for (size_t k = 0; k < j; k++)
			if (!strcmp(t->names[k], fields[j])) {
				err = ntml_fail("%s:1: duplicate column '%s'", path, fields[j]);
				goto done;
			}
		t->names[j] = ntml_xstrdup(fields[j]);
		if (!strcmp(fields[j], NTML_LABEL))
			t->label = (int)j;
		if (!strcmp(fields[j], NTML_SLICE))
			t->slice = (int)j;
	}
	if (t->label < 0 && need_label) {
		err = ntml_fail("%s: no '%s' column in the header", path, NTML_LABEL);
		goto done;
	}

	/* The rows: blank lines are ignored, everything else must be a row of numbers. */
	while ((line = next_line(&p))) {
		size_t n;
		double *row;
		int bad = 0;

		lineno++;
		if (!*trim(line))
			continue;
		t->rows_in++;
		if (t->nrow == cap)
			t->v = ntml_xrealloc(t->v, (cap = cap * 2 + 1024) * t->ncol * sizeof(*t->v));
		row = t->v + t->nrow * t->ncol;
		n = split(line, fields, t->ncol);
		if (n != t->ncol) {
			if (mode == NTML_CSV_STRICT) {
				err = ntml_fail("%s:%zu: expected %zu fields, got %zu", path, lineno, t->ncol, n);
				goto done;
			}
			t->drop_width++;
			continue;
		}
		for (size_t j = 0; j < t->ncol && !bad; j++) {
			int is_label = (int)j == t->label;
			enum cell_status st = (int)j == t->slice ? slice_cell(t, &row[j], fields[j])
								 : parse_cell(&row[j], fields[j], is_label);

			if (st == CELL_OK)
				continue;
			bad = 1;
			if (mode == NTML_CSV_DROP) {
				if (st == CELL_MISSING)
					t->drop_missing++;
				else if (st == CELL_NUMBER)
					t->drop_number++;
				else
					t->drop_label++;
				continue;
			}
			if (st == CELL_MISSING)
				err = ntml_fail("%s:%zu: column '%s': missing value", path, lineno, t->names[j]);
			else if (st == CELL_NUMBER)
				err = ntml_fail("%s:%zu: column '%s': not a number: '%s'", path, lineno,
						t->names[j], fields[j]);
			else
				err = ntml_fail("%s:%zu: column '%s': expected 0 or 1, got '%s'", path, lineno,
						t->names[j], fields[j]);
			goto done;
		}
		if (!bad)
			t->nrow++;
	}
	if (t->rows_in == 0) {
		err = ntml_fail("%s: no data rows after the header", path);
		goto done;
	}
	if (t->nrow == 0) {
		err = ntml_fail("%s: no usable rows (all %zu dropped)", path, t->rows_in);
		goto done;
	}
	*out = t;
	t = NULL;
	err = 0;
done:
	free(fields);
	free(buf);
	ntml_table_free(t);
	return err;
}

void
ntml_table_free(ntml_table *t)
{
	if (!t)
		return;
	for (size_t j = 0; j < t->ncol && t->names; j++)
		free(t->names[j]);
	free(t->names);
	for (size_t i = 0; i < t->nlevels; i++)
		free(t->levels[i]);
	free(t->levels);
	free(t->v);
	free(t->path);
	free(t);
}

int
ntml_table_is_feature(const ntml_table *t, size_t j)
{
	return (int)j != t->label && (int)j != t->slice;
}

int
ntml_table_col(const ntml_table *t, const char *name)
{
	for (size_t j = 0; j < t->ncol; j++)
		if (!strcmp(t->names[j], name))
			return (int)j;
	return -1;
}

double
ntml_table_label_share(const ntml_table *t)
{
	double pos = 0;

	if (t->label < 0)
		return 0.0;
	for (size_t i = 0; i < t->nrow; i++)
		pos += t->v[i * t->ncol + t->label];
	return t->nrow ? pos / (double)t->nrow : 0.0;
}

int
ntml_table_check_classes(const ntml_table *t)
{
	double share = ntml_table_label_share(t);

	if (share == 0.0 || share == 1.0)
		return ntml_fail("%s: only one class in '%s' (all %zu rows are %d)", t->path, NTML_LABEL,
				 t->nrow, share == 1.0);
	return 0;
}
