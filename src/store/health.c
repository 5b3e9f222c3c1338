/* health.c: what monitoring reads of a workspace (ntflow export --prometheus): per pipeline
 * its newest run, how its nodes were decided, and the end of its newest successful run; and
 * the SQLite the store runs on (ntflow --version). */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

const char *
nf_store_sqlite_version(void)
{
	return sqlite3_libversion();
}

void
nf_pipeline_health_list_free(nf_pipeline_health *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].pipeline);
	free(p);
}

/* runs_pipeline (pipeline, id) gives each pipeline's newest run without reading the
 * others' rows; the newest success is one more probe of the same index per pipeline. */
int
nf_store_pipeline_health(nf_store *st, nf_pipeline_health **out, size_t *n)
{
	static const char sql[] =
		"SELECT r.pipeline, r.id, r.status, r.started_ms, r.finished_ms,"
		" (SELECT max(s.finished_ms) FROM runs s WHERE s.pipeline = r.pipeline AND s.status = 'succeeded'),"
		" (SELECT count(*) FROM nodes c WHERE c.run_id = r.id AND c.state = 'cached'),"
		" (SELECT count(*) FROM nodes c WHERE c.run_id = r.id"
		"   AND c.state IN ('succeeded','failed','timed-out') AND c.kind != 'gate')"
		" FROM runs r WHERE r.id IN (SELECT max(id) FROM runs GROUP BY pipeline)"
		" ORDER BY r.pipeline";
	sqlite3_stmt *q = NULL;
	nf_pipeline_health *v = NULL;
	size_t len = 0, cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot read the runs");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_pipeline_health *h;
		const char *status = (const char *)sqlite3_column_text(q, 2);

		v = xgrow(v, sizeof(*v), len + 1, &cap);
		h = &v[len++];
		memset(h, 0, sizeof(*h));
		h->pipeline = nf_store__col_strdup(q, 0);
		h->last_run = sqlite3_column_int64(q, 1);
		if (!status || nf_run_status_parse(&h->last_status, status) < 0)
			h->last_status = NF_RUN_CRASHED;
		h->last_started_ms = sqlite3_column_int64(q, 3);
		h->last_finished_ms = sqlite3_column_int64(q, 4);
		h->last_success_ms = sqlite3_column_int64(q, 5);
		h->cached = sqlite3_column_int(q, 6);
		h->ran = sqlite3_column_int(q, 7);
	}
	if (rc != SQLITE_DONE)
		err = nf_store__error(st, rc, "cannot read the runs");
	sqlite3_finalize(q);
	if (err < 0) {
		nf_pipeline_health_list_free(v, len);
		return err;
	}
	*out = v;
	*n = len;
	return 0;
}
