/* perf.c: the performance record of a run: each node's wall time, CPU time and peak RSS
 * next to the medians of the same node's last few successful runs that did real work
 * (cached ones cost nothing and would drag the medians down). */
#include "config.h"
#include "ntflow/gov.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

void
nf_perf_row_list_free(nf_perf_row *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].node);
		free(r[i].state);
	}
	free(r);
}

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

int
nf_perf_record(nf_store *st, int64_t run_id, size_t window, nf_perf_row **out, size_t *n)
{
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL;
	nf_perf_row *rows = NULL;
	size_t nrows = 0, cap = 0;
	nf_strmap *by_name = NULL;
	double (*hist)[3] = NULL;     /* window samples per row: wall, cpu, rss */
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (window == 0)
		window = 5;
	if (window > 64)
		window = 64;   /* the medians are taken on the stack */
	if (sqlite3_prepare_v2(db,
			       "SELECT n.name, n.state, n.cached, coalesce(a.wall_ms, 0),"
			       " coalesce(a.user_ms, 0) + coalesce(a.sys_ms, 0), coalesce(a.max_rss_kb, 0), n.attempts"
			       " FROM nodes n LEFT JOIN attempts a ON a.node_id = n.id AND a.attempt = n.attempts"
			       " WHERE n.run_id = ? ORDER BY n.seq", -1, &q, NULL) != SQLITE_OK)
		goto db_fail;
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_perf_row *r;
		const char *state = (const char *)sqlite3_column_text(q, 1);

		rows = xgrow(rows, sizeof(*rows), nrows + 1, &cap);
		r = &rows[nrows++];
		memset(r, 0, sizeof(*r));
		r->node = xstrdup((const char *)sqlite3_column_text(q, 0));
		r->state = xstrdup(state ? state : "");
		r->wall_ms = sqlite3_column_int64(q, 3);
		r->cpu_ms = sqlite3_column_int64(q, 4);
		r->max_rss_kb = (long)sqlite3_column_int64(q, 5);
		/* A process ran and finished: its resource use means something. */
		r->measured = sqlite3_column_int(q, 2) == 0 && sqlite3_column_int(q, 6) > 0 &&
			      state && strcmp(state, "running") != 0 && strcmp(state, "cached") != 0 &&
			      strcmp(state, "waiting") != 0 && strcmp(state, "ready") != 0;
	}
	if (rc != SQLITE_DONE)
		goto db_fail;
	sqlite3_finalize(q);
	q = NULL;

	by_name = nf_strmap_new(nrows);
	for (size_t i = 0; i < nrows; i++)
		nf_strmap_put(by_name, rows[i].node, (void *)(uintptr_t)(i + 1));
	hist = xcalloc(nrows * window + 1, sizeof(*hist));
	/* The same node's history in one pass over the pipeline's earlier runs, newest first. */
	if (sqlite3_prepare_v2(db,
			       "SELECT n.name, a.wall_ms, a.user_ms + a.sys_ms, a.max_rss_kb FROM runs r"
			       " JOIN nodes n ON n.run_id = r.id"
			       " JOIN attempts a ON a.node_id = n.id AND a.attempt = n.attempts"
			       " WHERE r.pipeline = (SELECT pipeline FROM runs WHERE id = ?1) AND r.id < ?1"
			       " AND n.state = 'succeeded' AND n.cached = 0"
			       " ORDER BY r.id DESC", -1, &q, NULL) != SQLITE_OK)
		goto db_fail;
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		uintptr_t k = (uintptr_t)nf_strmap_get(by_name, (const char *)sqlite3_column_text(q, 0));
		nf_perf_row *r;

		if (!k)
			continue;
		r = &rows[k - 1];
		if (r->nhist >= window)
			continue;
		hist[(k - 1) * window + r->nhist][0] = (double)sqlite3_column_int64(q, 1);
		hist[(k - 1) * window + r->nhist][1] = (double)sqlite3_column_int64(q, 2);
		hist[(k - 1) * window + r->nhist][2] = (double)sqlite3_column_int64(q, 3);
		r->nhist++;
	}
	if (rc != SQLITE_DONE)
		goto db_fail;
	for (size_t i = 0; i < nrows; i++) {
		nf_perf_row *r = &rows[i];
		double v[3][64];
		size_t m = r->nhist < 64 ? r->nhist : 64;

		for (size_t j = 0; j < m; j++)
			for (int c = 0; c < 3; c++)
				v[c][j] = hist[i * window + j][c];
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
	goto done;
db_fail:
	err = nf_error_set(NF_ERROR, "cannot read the performance record: %s", sqlite3_errmsg(db));
done:
	sqlite3_finalize(q);
	nf_perf_row_list_free(rows, nrows);
	nf_strmap_free(by_name);
	free(hist);
	return err;
}
