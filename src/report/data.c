/* data.c: the data files of plot blocks read into a table of text cells: CSV (RFC 4180:
 * quoted fields, "" inside quotes, CRLF), TSV (by the .tsv extension: fields split on tabs,
 * no quoting) and JSON, a list of objects whose keys are the columns (DVC's plots take the
 * same three). A cell becomes a number only where a chart needs one (nf_datatab_num). */
#include "config.h"
#include "ntflow/report.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>

/* Data files with more rows than this are cut: a chart of a million points helps no one
 * and would make a page of hundreds of megabytes. */
#define MAX_ROWS 20000
#define MAX_COLS 256

void
nf_datatab_release(nf_datatab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncols; i++)
		free(t->cols[i]);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cols);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

long
nf_datatab_col(const nf_datatab *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i], name) == 0)
			return (long)i;
	return -1;
}

bool
nf_datatab_num(const nf_datatab *t, size_t row, long col, double *v)
{
	const char *s, *p;
	size_t len;
	bool digit = false;

	if (col < 0 || (size_t)col >= t->ncols || row >= t->nrows || !(s = t->cells[row * t->ncols + (size_t)col]))
		return false;
	while (*s == ' ')
		s++;
	len = strlen(s);
	while (len && s[len - 1] == ' ')
		len--;
	/* [+-] digits [. digits] [e [+-] digits]: what strtod takes, minus hex, inf and nan */
	p = s;
	if (p < s + len && (*p == '+' || *p == '-'))
		p++;
	while (p < s + len && isdigit((unsigned char)*p))
		p++, digit = true;
	if (p < s + len && *p == '.')
		for (p++; p < s + len && isdigit((unsigned char)*p); p++)
			digit = true;
	if (digit && p < s + len && (*p == 'e' || *p == 'E')) {
		const char *e = p + 1;

		if (e < s + len && (*e == '+' || *e == '-'))
			e++;
		if (e < s + len && isdigit((unsigned char)*e)) {
			while (e < s + len && isdigit((unsigned char)*e))
				e++;
			p = e;
		}
	}
	if (!digit || p != s + len)
		return false;
	*v = nf_number_value(s, len);
	return isfinite(*v);
}

/* Splits one record of a delimited file starting at *pos; fields are appended to *fields. */
static int
read_record(const char *text, size_t len, size_t *pos, char sep, bool quotes, char ***fields, size_t *n,
	    size_t *cap, size_t lineno)
{
	nf_buf f = NF_BUF_INIT;
	size_t i = *pos;

	for (;;) {
		bool quoted = false;

		nf_buf_reset(&f);
		if (quotes && i < len && text[i] == '"') {
			quoted = true;
			for (i++;; i++) {
				if (i >= len) {
					nf_buf_release(&f);
					return nf_error_set(NF_EINVALID, "line %zu: a quoted field is not closed", lineno);
				}
				if (text[i] == '"') {
					if (i + 1 < len && text[i + 1] == '"') {
						nf_buf_putc(&f, '"');
						i++;
						continue;
					}
					i++;
					break;
				}
				nf_buf_putc(&f, text[i]);
			}
		}
		while (i < len && text[i] != sep && text[i] != '\n' && text[i] != '\r') {
			if (quoted) {
				nf_buf_release(&f);
				return nf_error_set(NF_EINVALID, "line %zu: text after a quoted field", lineno);
			}
			nf_buf_putc(&f, text[i++]);
		}
		*fields = xgrow(*fields, sizeof(char *), *n + 1, cap);
		(*fields)[(*n)++] = xstrdup(nf_buf_cstr(&f));
		if (i < len && text[i] == sep) {
			i++;
			continue;
		}
		break;
	}
	if (i < len && text[i] == '\r')
		i++;
	if (i < len && text[i] == '\n')
		i++;
	*pos = i;
	nf_buf_release(&f);
	return 0;
}

static bool
blank_line(const char *text, size_t len, size_t pos)
{
	return pos < len && (text[pos] == '\n' || text[pos] == '\r');
}

static int
parse_delimited(nf_datatab *t, const char *text, size_t len, char sep, bool quotes)
{
	char **fields = NULL;
	size_t n = 0, cap = 0, pos = 0, lineno = 1, ccap = 0;
	int err;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;   /* a byte-order mark */
	while (blank_line(text, len, pos))
		pos++;
	if (pos >= len)
		return nf_error_set(NF_EINVALID, "the file is empty: a header line naming the columns comes first");
	if ((err = read_record(text, len, &pos, sep, quotes, &fields, &n, &cap, lineno)) < 0)
		goto fail;
	if (n > MAX_COLS) {
		err = nf_error_set(NF_EINVALID, "more than %d columns", MAX_COLS);
		goto fail;
	}
	t->cols = fields;
	t->ncols = n;
	fields = NULL;
	n = cap = 0;
	while (pos < len && t->nrows < MAX_ROWS) {
		lineno++;
		if (blank_line(text, len, pos)) {
			pos++;
			continue;
		}
		if ((err = read_record(text, len, &pos, sep, quotes, &fields, &n, &cap, lineno)) < 0)
			goto fail;
		t->cells = xgrow(t->cells, sizeof(char *), (t->nrows + 1) * t->ncols, &ccap);
		for (size_t i = 0; i < t->ncols; i++)
			t->cells[t->nrows * t->ncols + i] = i < n ? fields[i] : NULL;
		for (size_t i = t->ncols; i < n; i++)
			free(fields[i]);
		t->nrows++;
		n = 0;
	}
	free(fields);
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		free(fields[i]);
	free(fields);
	nf_datatab_release(t);
	return err;
}

static char *
json_cell(const cJSON *v)
{
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (cJSON_IsNumber(v)) {
		char b[64];

		/* all the digits: the chart scales them, the table shows them */
		snprintf(b, sizeof(b), "%.17g", v->valuedouble);
		{
			char *c = strchr(b, ',');   /* a locale's decimal comma */

			if (c)
				*c = '.';
		}
		return xstrdup(b);
	}
	if (cJSON_IsBool(v))
		return xstrdup(cJSON_IsTrue(v) ? "true" : "false");
	return NULL;
}

static int
parse_json(nf_datatab *t, const char *text, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(text, len), *list = root, *row, *v;
	size_t ccap = 0, colcap = 0;

	/* DVC also writes {"train": [{...}, ...]}: an object whose one member is the list */
	if (cJSON_IsObject(root) && cJSON_GetArraySize(root) == 1 && cJSON_IsArray(root->child))
		list = root->child;
	if (!list || !cJSON_IsArray(list)) {
		cJSON_Delete(root);
		return nf_error_set(NF_EINVALID, "not a JSON list of objects");
	}
	/* the columns: every key, in order of first appearance */
	cJSON_ArrayForEach(row, list) {
		if (!cJSON_IsObject(row)) {
			cJSON_Delete(root);
			nf_datatab_release(t);
			return nf_error_set(NF_EINVALID, "not a JSON list of objects: an item is no object");
		}
		cJSON_ArrayForEach(v, row) {
			if (nf_datatab_col(t, v->string) >= 0 || t->ncols >= MAX_COLS)
				continue;
			t->cols = xgrow(t->cols, sizeof(char *), t->ncols + 1, &colcap);
			t->cols[t->ncols++] = xstrdup(v->string);
		}
	}
	cJSON_ArrayForEach(row, list) {
		if (t->nrows >= MAX_ROWS)
			break;
		t->cells = xgrow(t->cells, sizeof(char *), (t->nrows + 1) * (t->ncols ? t->ncols : 1), &ccap);
		for (size_t i = 0; i < t->ncols; i++)
			t->cells[t->nrows * t->ncols + i] = json_cell(cJSON_GetObjectItemCaseSensitive(row, t->cols[i]));
		t->nrows++;
	}
	cJSON_Delete(root);
	return 0;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

int
nf_datatab_parse(nf_datatab *out, const char *name, const char *text, size_t len)
{
	memset(out, 0, sizeof(*out));
	if (ends_with(name, ".json"))
		return parse_json(out, text, len);
	if (ends_with(name, ".tsv"))
		return parse_delimited(out, text, len, '\t', false);
	return parse_delimited(out, text, len, ',', true);
}
