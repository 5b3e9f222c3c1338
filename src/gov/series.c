/* series.c: a metric across runs, oldest run first: what `ntflow metrics` prints and what
 * the dashboard's trend charts read. */
#include "config.h"
#include "ntflow/gov.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

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
	sqlite3 *db = nf_store_db(st);
	sqlite3_stmt *q = NULL;
	nf_metric_point *ps = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	/* By name first when one is given: the metrics_name index finds its rows directly. */
	if (sqlite3_prepare_v2(db,
			       "SELECT r.id, r.pipeline, r.logical_date, r.started_ms, n.name, m.name, m.value"
			       " FROM metrics m JOIN nodes n ON n.id = m.node_id JOIN runs r ON r.id = n.run_id"
			       " WHERE (?1 IS NULL OR m.name = ?1) AND (?2 IS NULL OR r.pipeline = ?2)"
			       " AND (?3 IS NULL OR n.name = ?3 OR n.stage = ?3)"
			       " ORDER BY r.id, n.seq, m.name", -1, &q, NULL) != SQLITE_OK)
		return nf_error_set(NF_ERROR, "cannot read the metrics: %s", sqlite3_errmsg(db));
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
		err = nf_error_set(NF_ERROR, "cannot read the metrics: %s", sqlite3_errmsg(db));
		nf_metric_point_list_free(ps, *n);
		ps = NULL;
		*n = 0;
	}
	sqlite3_finalize(q);
	*out = ps;
	return err;
}
