/* cmd-compare.c: what `ntflow runs --params --metrics` and `ntflow diff` share: a run with its
 * params and metrics loaded, the metrics named as columns (bare METRIC when one node gives
 * it among the runs compared, NODE.METRIC when several do), and values as text. */
#include "config.h"
#include "ntflow/cmd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ntflow/store.h"

/* A marker in the name -> node map: the metric is given by more than one node. */
static const char ambiguous[] = "";

int
nf_cmp_runs_load(nf_store *st, nf_cmp_run *runs, size_t n)
{
	nf_strmap *by_name = nf_strmap_new(64);
	int err = 0;

	for (size_t i = 0; i < n; i++) {
		nf_cmp_run *r = &runs[i];

		r->params = cJSON_Parse(r->info.params_json ? r->info.params_json : "{}");
		if (!cJSON_IsObject(r->params)) {   /* a damaged row reads as no params */
			cJSON_Delete(r->params);
			r->params = cJSON_CreateObject();
		}
		if ((err = nf_store_metric_list(st, r->info.id, &r->metrics, &r->nmetrics)) < 0)
			goto done;
		for (size_t k = 0; k < r->nmetrics; k++) {
			const nf_metric *m = &r->metrics[k];
			const char *node = nf_strmap_get(by_name, m->name);

			if (!node)
				nf_strmap_put(by_name, m->name, m->node);
			else if (node != ambiguous && strcmp(node, m->node) != 0)
				nf_strmap_put(by_name, m->name, (void *)ambiguous);
		}
	}
	for (size_t i = 0; i < n; i++) {
		nf_cmp_run *r = &runs[i];

		r->mcols = xcalloc(r->nmetrics + 1, sizeof(*r->mcols));
		for (size_t k = 0; k < r->nmetrics; k++) {
			const nf_metric *m = &r->metrics[k];

			r->mcols[k] = nf_strmap_get(by_name, m->name) == ambiguous
				      ? xasprintf("%s.%s", m->node, m->name) : xstrdup(m->name);
		}
	}
done:
	nf_strmap_free(by_name);
	return err;
}

void
nf_cmp_run_release(nf_cmp_run *r)
{
	if (!r)
		return;
	for (size_t k = 0; r->mcols && k < r->nmetrics; k++)
		free(r->mcols[k]);
	free(r->mcols);
	nf_metric_list_free(r->metrics, r->nmetrics);
	cJSON_Delete(r->params);
	nf_run_info_release(&r->info);
	memset(r, 0, sizeof(*r));
}

const double *
nf_cmp_metric(const nf_cmp_run *r, const char *column)
{
	for (size_t k = 0; k < r->nmetrics; k++)
		if (strcmp(r->mcols[k], column) == 0)
			return &r->metrics[k].value;
	return NULL;
}

const cJSON *
nf_cmp_param(const nf_cmp_run *r, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(r->params, key);
}

char *
nf_cmp_param_text(const cJSON *v)
{
	char *s, *r;

	if (!v)
		return xstrdup("-");
	if (cJSON_IsString(v))
		return xstrdup(v->valuestring);
	if (cJSON_IsNumber(v))
		return nf_cmp_number_text(v->valuedouble, false);
	s = cJSON_PrintUnformatted(v);   /* true, false, null, a list as JSON text */
	r = xstrdup(s ? s : "-");
	cJSON_free(s);
	return r;
}

char *
nf_cmp_number_text(double v, bool brief)
{
	if (brief)
		return xasprintf("%.6g", v);
	/* The shortest text that reads back as the same double. */
	for (int prec = 15; prec <= 17; prec++) {
		char *s = xasprintf("%.*g", prec, v);

		if (prec == 17 || strtod(s, NULL) == v)
			return s;
		free(s);
	}
	return NULL;   /* not reached */
}

bool
nf_cmp_param_equal(const cJSON *a, const cJSON *b)
{
	if (!a || !b)
		return !a && !b;
	return cJSON_Compare(a, b, true) != 0;
}

void
nf_cmp_csv_field(nf_buf *b, const char *s)
{
	/* RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled. */
	if (!s[strcspn(s, ",\"\r\n")]) {
		nf_buf_puts(b, s);
		return;
	}
	nf_buf_putc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			nf_buf_putc(b, '"');
		nf_buf_putc(b, *s);
	}
	nf_buf_putc(b, '"');
}

/* Whether column (bare METRIC or NODE.METRIC) is the metric name, or has it as its metric. */
static bool
metric_matches(const char *column, const char *name)
{
	size_t lc = strlen(column), ln = strlen(name);

	if (strcmp(column, name) == 0)
		return true;
	return lc > ln + 1 && column[lc - ln - 1] == '.' && strcmp(column + lc - ln, name) == 0;
}

/* Adds s to the list (cols, *n) unless it is there already. */
static void
add_unique(char ***cols, size_t *n, size_t *cap, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*cols)[i], s) == 0)
			return;
	NF_PUSH(*cols, *n, *cap, xstrdup(s));
}

void
nf_cmp_metric_columns(const nf_cmp_run *runs, size_t n, const char *const *pick, size_t npick,
		      char ***out, size_t *nout)
{
	char **cols = NULL;
	size_t count = 0, cap = 0;

	if (!pick) {
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < runs[i].nmetrics; k++)
				add_unique(&cols, &count, &cap, runs[i].mcols[k]);
	}
	for (size_t p = 0; pick && p < npick; p++) {
		size_t before = count;

		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < runs[i].nmetrics; k++)
				if (metric_matches(runs[i].mcols[k], pick[p]))
					add_unique(&cols, &count, &cap, runs[i].mcols[k]);
		if (count == before)   /* no run has it: a column of "-" */
			add_unique(&cols, &count, &cap, pick[p]);
	}
	*out = cols;
	*nout = count;
}

void
nf_cmp_param_columns(const nf_cmp_run *runs, size_t n, const char *const *pick, size_t npick,
		     char ***out, size_t *nout)
{
	char **cols = NULL;
	size_t count = 0, cap = 0;

	for (size_t p = 0; p < (pick ? npick : 1); p++) {
		size_t before = count, lp = pick ? strlen(pick[p]) : 0;

		for (size_t i = 0; i < n; i++) {
			const cJSON *it;

			cJSON_ArrayForEach(it, runs[i].params) {
				/* A section (train) picks every key under it (train.n_est). */
				if (!pick || strcmp(it->string, pick[p]) == 0 ||
				    (strncmp(it->string, pick[p], lp) == 0 && it->string[lp] == '.'))
					add_unique(&cols, &count, &cap, it->string);
			}
		}
		if (pick && count == before)
			add_unique(&cols, &count, &cap, pick[p]);
	}
	*out = cols;
	*nout = count;
}

void
nf_cmp_columns_free(char **cols, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(cols[i]);
	free(cols);
}
