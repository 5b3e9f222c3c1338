/* perf.c: the performance record of a run: each node's wall time, CPU time and peak RSS
 * next to the medians of the same node's last few successful runs that did real work
 * (cached ones cost nothing and would drag the medians down). */
#include "config.h"
#include "ntflow/gov.h"

#include <stdlib.h>
#include <string.h>

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of n values (sorts them); the mean of the middle two for an even n. */
static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

typedef struct perf_hist {
	nf_perf_row *rows;
	nf_strmap *by_name;
	double (*hist)[3];            /* window samples per row: wall, cpu, rss */
	size_t window;
} perf_hist;

static void
add_sample(void *vctx, const char *node, int64_t wall_ms, int64_t cpu_ms, int64_t rss_kb)
{
	perf_hist *h = vctx;
	uintptr_t k = (uintptr_t)nf_strmap_get(h->by_name, node);
	nf_perf_row *r;

	if (!k)
		return;
	r = &h->rows[k - 1];
	if (r->nhist >= h->window)
		return;
	h->hist[(k - 1) * h->window + r->nhist][0] = (double)wall_ms;
	h->hist[(k - 1) * h->window + r->nhist][1] = (double)cpu_ms;
	h->hist[(k - 1) * h->window + r->nhist][2] = (double)rss_kb;
	r->nhist++;
}

int
nf_perf_record(nf_store *st, int64_t run_id, size_t window, nf_perf_row **out, size_t *n)
{
	nf_perf_row *rows = NULL;
	size_t nrows = 0;
	perf_hist h = { 0 };
	int err;

	*out = NULL;
	*n = 0;
	if (window == 0)
		window = 5;
	if (window > 64)
		window = 64;   /* the medians are taken on the stack */
	if ((err = nf_store_perf_rows(st, run_id, &rows, &nrows)) < 0)
		return err;
	h.rows = rows;
	h.window = window;
	h.by_name = nf_strmap_new(nrows);
	for (size_t i = 0; i < nrows; i++)
		nf_strmap_put(h.by_name, rows[i].node, (void *)(uintptr_t)(i + 1));
	h.hist = xcalloc(nrows * window + 1, sizeof(*h.hist));
	/* Each node's last window runs that did real work, newest first, found by index. */
	if ((err = nf_store_perf_history(st, run_id, window, add_sample, &h)) < 0)
		goto done;
	for (size_t i = 0; i < nrows; i++) {
		nf_perf_row *r = &rows[i];
		double v[3][64];
		size_t m = r->nhist < 64 ? r->nhist : 64;

		for (size_t j = 0; j < m; j++)
			for (int c = 0; c < 3; c++)
				v[c][j] = h.hist[i * window + j][c];
		if (m) {
			r->med_wall_ms = median(v[0], m);
			r->med_cpu_ms = median(v[1], m);
			r->med_rss_kb = median(v[2], m);
		}
		r->nhist = m;
	}
	*out = rows;
	*n = nrows;
	rows = NULL;
done:
	nf_perf_row_list_free(rows, nrows);
	nf_strmap_free(h.by_name);
	free(h.hist);
	return err;
}
