/* drift.c: the read of the cohort drift report (`ntflow report drift`): the runs whose
 * logical date lies in a window, each with its cohort, status, risk, whether its gate put a
 * version of its into production, and the metrics of the version it registered (the numbers
 * its gate judged), parsed here so that the report gets values, not JSON text. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "store-internal.h"

/* Logical dates are YYYY-MM-DD text, so the window is a text range. */
const char nf_store__drift_runs_sql[] =
	"SELECT r.id, r.pipeline, r.logical_date, r.cohort, r.status, r.risk_score, r.risk_tier,"
	" EXISTS (SELECT 1 FROM model_versions v WHERE v.run_id = r.id AND v.gate_outcome = 'pass'"
	"         AND v.promoted_ms > 0),"
	" (SELECT v.metrics FROM model_versions v WHERE v.run_id = r.id ORDER BY v.id LIMIT 1)"
	" FROM runs r WHERE (?1 IS NULL OR r.pipeline = ?1) AND r.logical_date >= ?2 AND r.logical_date <= ?3"
	" ORDER BY r.logical_date, r.id";

static char *
col_dup(sqlite3_stmt *q, int i)
{
	const unsigned char *s = sqlite3_column_text(q, i);

	return s ? xstrdup((const char *)s) : NULL;
}

/* The numbers of a version's metrics object; anything else in it is not a metric. */
static void
take_metrics(nf_drift_run *r, const char *json)
{
	cJSON *o = json ? cJSON_Parse(json) : NULL, *it;
	size_t n = 0;

	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return;
	}
	cJSON_ArrayForEach(it, o)
		n += cJSON_IsNumber(it) && it->string;
	r->metric_names = xcalloc(n + 1, sizeof(char *));
	r->metric_values = xcalloc(n + 1, sizeof(double));
	cJSON_ArrayForEach(it, o) {
		if (!cJSON_IsNumber(it) || !it->string)
			continue;
		r->metric_names[r->nmetrics] = xstrdup(it->string);
		r->metric_values[r->nmetrics++] = it->valuedouble;
	}
	cJSON_Delete(o);
}

int
nf_store_drift_runs(nf_store *st, const char *pipeline, const char *from, const char *to, nf_drift_run **out,
		    size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_drift_run *runs = NULL;
	size_t nr = 0, cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db, nf_store__drift_runs_sql, -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the runs");
	if (pipeline)
		sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, to, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_drift_run r = { 0 };
		const char *status = (const char *)sqlite3_column_text(q, 4);

		r.id = sqlite3_column_int64(q, 0);
		r.pipeline = col_dup(q, 1);
		r.date = col_dup(q, 2);
		r.cohort = col_dup(q, 3);
		if (!status || nf_run_status_parse(&r.status, status) < 0)
			r.status = NF_RUN_CRASHED;   /* a status this ntflow does not know: not a success */
		r.has_risk = sqlite3_column_type(q, 5) != SQLITE_NULL;
		r.risk_score = r.has_risk ? sqlite3_column_double(q, 5) : 0;
		r.risk_tier = col_dup(q, 6);
		r.promoted = sqlite3_column_int(q, 7) != 0;
		take_metrics(&r, (const char *)sqlite3_column_text(q, 8));
		NF_PUSH(runs, nr, cap, r);
	}
	if (rc != SQLITE_DONE) {
		err = nf_store__table_error(st, rc, "cannot read the runs");
		nf_drift_run_list_free(runs, nr);
	} else {
		*out = runs;
		*n = nr;
	}
	sqlite3_finalize(q);
	return err;
}

void
nf_drift_run_list_free(nf_drift_run *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].pipeline);
		free(r[i].date);
		free(r[i].cohort);
		free(r[i].risk_tier);
		for (size_t k = 0; k < r[i].nmetrics; k++)
			free(r[i].metric_names[k]);
		free(r[i].metric_names);
		free(r[i].metric_values);
	}
	free(r);
}
