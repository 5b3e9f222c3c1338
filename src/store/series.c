/* series.c: metrics across runs, oldest run first (what `ntflow metrics` prints and the
 * dashboard's trend charts read), and the nodes' resource use the performance record
 * (gov/perf.c) compares with the same nodes' earlier runs. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void
nf_metric_point_list_free(nf_metric_point *p, size_t n)
{
	for (size_t i = 0; p && i < n; i++) {
		free(p[i].pipeline);
		free(p[i].logical_date);
		free(p[i].node);
		free(p[i].name);
	}
	free(p);
}

static char *
col_dup(sqlite3_stmt *q, int col)
{
	const unsigned char *s = sqlite3_column_text(q, col);

	return xstrdup(s ? (const char *)s : "");
}

int
nf_metric_series(nf_store *st, const char *pipeline, const char *node, const char *name,
		 nf_metric_point **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_metric_point *ps = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	/* By name first when one is given: the metrics_name index finds its rows directly. */
	(void)nf_store__nodes_sync(st);   /* it reads the state of nodes: see the batch's pending writes */
	if ((rc = sqlite3_prepare_v2(st->db,
			       "SELECT r.id, r.pipeline, r.logical_date, r.started_ms, n.name, m.name, m.value"
			       " FROM metrics m JOIN nodes n ON n.id = m.node_id JOIN runs r ON r.id = n.run_id"
			       " WHERE (?1 IS NULL OR m.name = ?1) AND (?2 IS NULL OR r.pipeline = ?2)"
			       " AND (?3 IS NULL OR n.name = ?3 OR n.stage = ?3)"
			       " ORDER BY r.id, n.seq, m.name", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the metrics");
	if (name)
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (pipeline)
		sqlite3_bind_text(q, 2, pipeline, -1, SQLITE_STATIC);
	if (node)
		sqlite3_bind_text(q, 3, node, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_metric_point *p;

		ps = xgrow(ps, sizeof(*ps), *n + 1, &cap);
		p = &ps[(*n)++];
		p->run_id = sqlite3_column_int64(q, 0);
		p->pipeline = col_dup(q, 1);
		p->logical_date = col_dup(q, 2);
		p->started_ms = sqlite3_column_int64(q, 3);
		p->node = col_dup(q, 4);
		p->name = col_dup(q, 5);
		p->value = sqlite3_column_double(q, 6);
	}
	if (rc != SQLITE_DONE) {
		err = nf_store__table_error(st, rc, "cannot read the metrics");
		nf_metric_point_list_free(ps, *n);
		ps = NULL;
		*n = 0;
	}
	sqlite3_finalize(q);
	*out = ps;
	return err;
}

void
nf_perf_row_list_free(nf_perf_row *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].node);
		free(r[i].state);
	}
	free(r);
}

int
nf_store_perf_rows(nf_store *st, int64_t run_id, nf_perf_row **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_perf_row *rows = NULL;
	size_t nrows = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	(void)nf_store__nodes_sync(st);   /* it reads the state of nodes: see the batch's pending writes */
	if ((rc = sqlite3_prepare_v2(st->db,
			       "SELECT n.name, n.state, n.cached, coalesce(a.wall_ms, 0),"
			       " coalesce(a.user_ms, 0) + coalesce(a.sys_ms, 0), coalesce(a.max_rss_kb, 0), n.attempts"
			       " FROM nodes n LEFT JOIN " NF_SQL_LATEST_ATTEMPT
			       " WHERE n.run_id = ? ORDER BY n.seq", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the performance record");
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
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		nf_perf_row_list_free(rows, nrows);
		return nf_store__table_error(st, rc, "cannot read the performance record");
	}
	*out = rows;
	*n = nrows;
	return 0;
}

/* A node's last runs of the same pipeline where it succeeded without the cache, newest
 * first: the partial index nodes_perf (name, run_id) walks them backwards from the run, so
 * a long history costs nothing (check_store asserts the plan). ?1 name, ?2 run, ?3 window. */
const char nf_store__perf_history_sql[] =
	"SELECT a.wall_ms, a.user_ms + a.sys_ms, a.max_rss_kb FROM nodes h"
	" JOIN runs r ON r.id = h.run_id"
	" JOIN attempts a ON a.node_id = h.id AND a.attempt = h.attempts"
	" WHERE h.name = ?1 AND h.run_id < ?2 AND h.state = 'succeeded' AND h.cached = 0"
	" AND r.pipeline = (SELECT pipeline FROM runs WHERE id = ?2)"
	" ORDER BY h.run_id DESC LIMIT ?3";

int
nf_store_perf_history(nf_store *st, int64_t run_id, size_t window,
		      void (*fn)(void *ctx, const char *node, int64_t wall_ms, int64_t cpu_ms, int64_t rss_kb),
		      void *ctx)
{
	sqlite3_stmt *names = NULL, *q = NULL;
	int rc;

	(void)nf_store__nodes_sync(st);   /* it reads the state of nodes: see the batch's pending writes */
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT name FROM nodes WHERE run_id = ? ORDER BY seq",
				     -1, &names, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(st->db, nf_store__perf_history_sql, -1, &q, NULL)) != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(names, 1, run_id);
	sqlite3_bind_int64(q, 2, run_id);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)window);
	while ((rc = sqlite3_step(names)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(names, 0);

		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW)
			fn(ctx, name, sqlite3_column_int64(q, 0), sqlite3_column_int64(q, 1),
			   sqlite3_column_int64(q, 2));
		sqlite3_reset(q);
		if (rc != SQLITE_DONE)
			goto done;
	}
done:
	sqlite3_finalize(names);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : nf_store__table_error(st, rc, "cannot read the performance record");
}
