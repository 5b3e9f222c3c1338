/* violations.c: the violations table (each failed gate criterion of a run, typed and graded)
 * and the reads by logical date that cohorts and their risk are judged over: a window of
 * runs with cohort and risk, the violations of a cohort since a date. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* A window's run columns, in nf_store__run_from_row's order (runs.c). */
#define WINDOW_RUN_COLS \
	"id, pipeline, file, logical_date, trigger, params, git_commit, dirty, started_ms, finished_ms," \
	" status, pid, coalesce(nodes_total, 0), coalesce(nodes_done, 0), interval_start, interval_end," \
	" cohort, risk_score, risk_tier, pruned_ms"

/* The day a violation counts on: its run's logical date, or the day it was recorded once
 * the run's row is gone (run_id outlives the run). */
#define VIOLATION_DAY \
	"coalesce(r.logical_date, date(v.created_ms / 1000, 'unixepoch'))"

#define VIOLATION_COLS \
	"v.id, v.pipeline, v.run_id, v.cohort, v.gate, v.idx, v.expr, v.type, v.severity, v.value," \
	" v.threshold, v.model, v.version, v.created_ms, " VIOLATION_DAY

static nf_severity
severity_parse(const char *s)
{
	if (s && strcmp(s, "low") == 0)
		return NF_SEV_LOW;
	if (s && strcmp(s, "high") == 0)
		return NF_SEV_HIGH;
	return NF_SEV_MEDIUM;
}

void
nf_violation_release(nf_violation *v)
{
	if (!v)
		return;
	free(v->pipeline);
	free(v->cohort);
	free(v->gate);
	free(v->expr);
	free(v->type);
	free(v->model);
	free(v->logical_date);
	memset(v, 0, sizeof(*v));
}

void
nf_violation_list_free(nf_violation *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		nf_violation_release(&v[i]);
	free(v);
}

int
nf_store_violation_put(nf_store *st, const nf_violation *v)
{
	sqlite3_stmt *q = NULL;
	int err, rc;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db,
			"INSERT OR REPLACE INTO violations (pipeline, run_id, cohort, gate, idx, expr, type, severity,"
			" value, threshold, model, version, created_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
			-1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot record the violation");
	sqlite3_bind_text(q, 1, v->pipeline ? v->pipeline : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, v->run_id);
	nf_store__bind_text_or_null(q, 3, v->cohort);
	sqlite3_bind_text(q, 4, v->gate ? v->gate : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 5, v->idx);
	sqlite3_bind_text(q, 6, v->expr ? v->expr : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 7, v->type ? v->type : (v->gate ? v->gate : ""), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 8, nf_severity_name(v->severity == NF_SEV_NONE ? NF_SEV_MEDIUM : v->severity), -1,
			  SQLITE_STATIC);
	if (v->has_value)
		sqlite3_bind_double(q, 9, v->value);
	if (v->has_threshold)
		sqlite3_bind_double(q, 10, v->threshold);
	nf_store__bind_text_or_null(q, 11, v->model);
	if (v->model)
		sqlite3_bind_int(q, 12, v->version);
	sqlite3_bind_int64(q, 13, v->created_ms);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : nf_store__table_error(st, rc, "cannot record the violation");
}

int
nf_store_violation_set_model(nf_store *st, int64_t run_id, const char *gate, const char *model, int version)
{
	sqlite3_stmt *q = NULL;
	int err, rc;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db, "UPDATE violations SET model = ?, version = ? WHERE run_id = ? AND (?4 IS NULL OR gate = ?4)",
				     -1, &q,
				     NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot record the violation's model version");
	sqlite3_bind_text(q, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, version);
	sqlite3_bind_int64(q, 3, run_id);
	nf_store__bind_text_or_null(q, 4, gate);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : nf_store__table_error(st, rc, "cannot record the violation's model version");
}

static void
violation_from_row(nf_violation *v, sqlite3_stmt *q)
{
	memset(v, 0, sizeof(*v));
	v->id = sqlite3_column_int64(q, 0);
	v->pipeline = nf_store__col_strdup(q, 1);
	v->run_id = sqlite3_column_int64(q, 2);
	v->cohort = nf_store__col_strdup(q, 3);
	v->gate = nf_store__col_strdup(q, 4);
	v->idx = sqlite3_column_int(q, 5);
	v->expr = nf_store__col_strdup(q, 6);
	v->type = nf_store__col_strdup(q, 7);
	v->severity = severity_parse((const char *)sqlite3_column_text(q, 8));
	v->has_value = sqlite3_column_type(q, 9) != SQLITE_NULL;
	v->value = v->has_value ? sqlite3_column_double(q, 9) : 0;
	v->has_threshold = sqlite3_column_type(q, 10) != SQLITE_NULL;
	v->threshold = v->has_threshold ? sqlite3_column_double(q, 10) : 0;
	v->model = nf_store__col_strdup(q, 11);
	v->version = sqlite3_column_int(q, 12);
	v->created_ms = sqlite3_column_int64(q, 13);
	v->logical_date = nf_store__col_strdup(q, 14);
}

int
nf_store_violation_list(nf_store *st, const nf_violation_filter *f, nf_violation **out, size_t *n)
{
	static const nf_violation_filter all = { 0 };
	sqlite3_stmt *q = NULL;
	nf_violation *v = NULL;
	size_t nv = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!f)
		f = &all;
	/* Each filter is bound as NULL when unset, which its clause lets through. */
	if ((rc = sqlite3_prepare_v2(st->db,
			"SELECT " VIOLATION_COLS " FROM violations v LEFT JOIN runs r ON r.id = v.run_id"
			" WHERE (?1 IS NULL OR v.pipeline = ?1) AND (?2 IS NULL OR v.cohort = ?2)"
			" AND (?3 IS NULL OR " VIOLATION_DAY " >= ?3) AND (?4 IS NULL OR " VIOLATION_DAY " <= ?4)"
			" AND (?5 IS NULL OR v.run_id = ?5)"
			" ORDER BY " VIOLATION_DAY ", v.run_id, v.gate, v.idx", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the violations");
	nf_store__bind_text_or_null(q, 1, f->pipeline);
	nf_store__bind_text_or_null(q, 2, f->cohort);
	nf_store__bind_text_or_null(q, 3, f->from);
	nf_store__bind_text_or_null(q, 4, f->to);
	if (f->run_id > 0)
		sqlite3_bind_int64(q, 5, f->run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = xgrow(v, sizeof(*v), nv + 1, &cap);
		violation_from_row(&v[nv++], q);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		nf_violation_list_free(v, nv);
		return nf_store__table_error(st, rc, "cannot read the violations");
	}
	*out = v;
	*n = nv;
	return 0;
}

int
nf_store_run_set_risk(nf_store *st, int64_t run_id, double score, const char *tier)
{
	sqlite3_stmt *q = NULL;
	int err, rc;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db, "UPDATE runs SET risk_score = ?, risk_tier = ? WHERE id = ?", -1, &q,
				     NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot record the run's risk");
	sqlite3_bind_double(q, 1, score);
	nf_store__bind_text_or_null(q, 2, tier);
	sqlite3_bind_int64(q, 3, run_id);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return nf_store__table_error(st, rc, "cannot record the run's risk");
	if (sqlite3_changes(st->db) == 0)
		return nf_error_set(NF_ENOTFOUND, "no run %lld", (long long)run_id);
	return 0;
}

int
nf_store_run_window(nf_store *st, const char *pipeline, const char *from, const char *to, nf_run_info **out,
		    size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_run_info *runs = NULL;
	size_t count = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db,
			"SELECT " WINDOW_RUN_COLS " FROM runs"
			" WHERE (?1 IS NULL OR pipeline = ?1) AND (?2 IS NULL OR logical_date >= ?2)"
			" AND (?3 IS NULL OR logical_date <= ?3)"
			" ORDER BY logical_date, id", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the runs");
	nf_store__bind_text_or_null(q, 1, pipeline);
	nf_store__bind_text_or_null(q, 2, from);
	nf_store__bind_text_or_null(q, 3, to);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		runs = xgrow(runs, sizeof(*runs), count + 1, &cap);
		runs[count] = (nf_run_info){ 0 };
		nf_store__run_from_row(&runs[count++], q);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		nf_run_info_list_free(runs, count);
		return nf_store__table_error(st, rc, "cannot read the runs");
	}
	*out = runs;
	*n = count;
	return 0;
}
