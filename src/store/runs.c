/* runs.c: the runs table: a run begins committed at once (so a crash right after still
 * leaves a record to recover), ends with its outcome, and is read back for listings. */
#include "config.h"
#include "ntflow/store.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "store-internal.h"

void
nf_run_info_release(nf_run_info *r)
{
	if (!r)
		return;
	free(r->pipeline);
	free(r->file);
	free(r->logical_date);
	free(r->interval_start);
	free(r->interval_end);
	free(r->trigger);
	free(r->params_json);
	free(r->commit);
	free(r->cohort);
	free(r->risk_tier);
	*r = (nf_run_info){ 0 };
}

void
nf_run_info_list_free(nf_run_info *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nf_run_info_release(&runs[i]);
	free(runs);
}

void
nf_store__bind_text_or_null(sqlite3_stmt *q, int col, const char *s)
{
	if (s)
		sqlite3_bind_text(q, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, col);
}

int
nf_store_run_begin(nf_store *st, nf_run_info *info)
{
	sqlite3_stmt *q;
	int64_t now = nf_now_realtime_ms();
	pid_t pid = getpid();
	int err;

	/* The run row is committed on its own: anything batched before belongs to earlier work. */
	if ((err = nf_store_flush(st)) < 0)
		return err;
	if (!(q = nf_store__stmt(st, SQL_RUN_INSERT)))
		return NF_ERROR;
	sqlite3_bind_text(q, 1, info->pipeline ? info->pipeline : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, info->file ? info->file : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, info->logical_date ? info->logical_date : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, info->trigger ? info->trigger : "manual", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, info->params_json ? info->params_json : "{}", -1, SQLITE_STATIC);
	nf_store__bind_text_or_null(q, 6, info->commit);
	sqlite3_bind_int(q, 7, info->dirty);
	sqlite3_bind_int64(q, 8, now);
	sqlite3_bind_text(q, 9, nf_run_status_name(NF_RUN_RUNNING), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 10, pid);
	sqlite3_bind_int64(q, 11, nf_store__proc_start(pid));
	sqlite3_bind_text(q, 12, nf_store__boot_id(), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 13, nf_store__host(), -1, SQLITE_STATIC);
	nf_store__bind_text_or_null(q, 14, info->interval_start);
	nf_store__bind_text_or_null(q, 15, info->interval_end);
	nf_store__bind_text_or_null(q, 16, info->cohort);
	if ((err = nf_store__step_done(st, q, "cannot record the run")) < 0)
		return err;
	info->id = sqlite3_last_insert_rowid(st->db);
	info->started_ms = now;
	info->finished_ms = 0;
	info->status = NF_RUN_RUNNING;
	info->pid = pid;
	return 0;
}

int
nf_store_run_end(nf_store *st, int64_t run_id, nf_run_status status)
{
	sqlite3_stmt *q;
	int err;

	int64_t total, done;
	bool counted;

	if ((err = nf_store_flush(st)) < 0)
		return err;
	/* The run being written: its counts as the store recorded its nodes' states, not
	 * counted again from its rows (each row's state read: 2% of a cached rerun). */
	counted = nf_store__node_counts(st, run_id, &total, &done);
	if (!(q = nf_store__stmt(st, counted ? SQL_RUN_END_COUNTED : SQL_RUN_END)))
		return NF_ERROR;
	sqlite3_bind_text(q, 1, nf_run_status_name(status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, nf_now_realtime_ms());
	sqlite3_bind_int64(q, 3, run_id);
	if (counted) {
		sqlite3_bind_int64(q, 4, total);
		sqlite3_bind_int64(q, 5, done);
	}
	if ((err = nf_store__step_done(st, q, "cannot record the end of the run")) < 0)
		return err;
	if (sqlite3_changes(st->db) == 0)
		return nf_error_set(NF_ENOTFOUND, "no run %lld", (long long)run_id);
	return 0;
}

int
nf_store_run_error_set(nf_store *st, int64_t run_id, const char *error)
{
	sqlite3_stmt *q = NULL;
	int rc, err;

	if ((err = nf_store__batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db, "UPDATE runs SET error = ?1 WHERE id = ?2", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot record why the run failed");
	sqlite3_bind_text(q, 1, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, run_id);
	err = nf_store__step_done(st, q, "cannot record why the run failed");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_run_error_get(nf_store *st, int64_t run_id, char **error)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*error = NULL;
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT error FROM runs WHERE id = ?1", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot read the run");
	sqlite3_bind_int64(q, 1, run_id);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		*error = nf_store__col_strdup(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : nf_store__error(st, rc, "cannot read the run");
}

int
nf_store_run_ending(nf_store *st, int64_t run_id, nf_run_status status)
{
	sqlite3_stmt *q = NULL;
	int rc, err;

	if ((err = nf_store_flush(st)) < 0 || (err = nf_store__batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db, "UPDATE runs SET ending = ?1 WHERE id = ?2", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot record the outcome of the run");
	sqlite3_bind_text(q, 1, nf_run_status_name(status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, run_id);
	err = nf_store__step_done(st, q, "cannot record the outcome of the run");
	sqlite3_finalize(q);
	return err < 0 ? err : nf_store_flush(st);
}

int
nf_store_run_summarize(nf_store *st, int64_t run_id)
{
	sqlite3_stmt *q;
	int err;

	if ((err = nf_store__batch(st)) < 0)
		return err;
	if (!(q = nf_store__stmt(st, SQL_RUN_SUMMARY)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	return nf_store__step_done(st, q, "cannot record the end of the run");
}

/* Fills r from a row of SQL_RUN_GET / SQL_RUN_LIST (and violations.c's window). */
void
nf_store__run_from_row(nf_run_info *r, sqlite3_stmt *q)
{
	const char *status = (const char *)sqlite3_column_text(q, 10);

	r->id = sqlite3_column_int64(q, 0);
	r->pipeline = nf_store__col_strdup(q, 1);
	r->file = nf_store__col_strdup(q, 2);
	r->logical_date = nf_store__col_strdup(q, 3);
	r->trigger = nf_store__col_strdup(q, 4);
	r->params_json = nf_store__col_strdup(q, 5);
	r->commit = nf_store__col_strdup(q, 6);
	r->dirty = sqlite3_column_int(q, 7) != 0;
	r->started_ms = sqlite3_column_int64(q, 8);
	r->finished_ms = sqlite3_column_int64(q, 9);
	/* A status this binary does not know (written by a newer one) reads as crashed
	 * rather than failing the whole listing. */
	if (!status || nf_run_status_parse(&r->status, status) < 0)
		r->status = NF_RUN_CRASHED;
	r->pid = (pid_t)sqlite3_column_int64(q, 11);
	r->nnodes = sqlite3_column_int(q, 12);
	r->ndone = sqlite3_column_int(q, 13);
	r->interval_start = nf_store__col_strdup(q, 14);
	r->interval_end = nf_store__col_strdup(q, 15);
	r->cohort = nf_store__col_strdup(q, 16);
	r->has_risk = sqlite3_column_type(q, 17) != SQLITE_NULL;
	r->risk_score = r->has_risk ? sqlite3_column_double(q, 17) : 0;
	r->risk_tier = nf_store__col_strdup(q, 18);
	r->pruned_ms = sqlite3_column_int64(q, 19);
}

int
nf_store_run_get(nf_store *st, int64_t id, nf_run_info *out)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	*out = (nf_run_info){ 0 };
	if (!(q = nf_store__stmt(st, SQL_RUN_GET)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		nf_store__run_from_row(out, q);
	else if (rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "no run %lld", (long long)id);
	else
		err = nf_store__error(st, rc, "cannot read the run");
	sqlite3_reset(q);
	return err;
}

int
nf_store_run_last(nf_store *st, int64_t *id)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	*id = 0;
	if (!(q = nf_store__stmt(st, SQL_RUN_LAST)))
		return NF_ERROR;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
		*id = sqlite3_column_int64(q, 0);
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "no runs yet");
	else
		err = nf_store__error(st, rc, "cannot read the runs");
	sqlite3_reset(q);
	return err;
}

int
nf_store_run_rebooted(nf_store *st, int64_t run_id, bool *rebooted)
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	*rebooted = false;
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT boot_id, host FROM runs WHERE id = ?1", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot read the runs");
	sqlite3_bind_int64(q, 1, run_id);
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *boot = (const char *)sqlite3_column_text(q, 0), *host = (const char *)sqlite3_column_text(q, 1);

		/* another host's boot says nothing of this one's; an unknown boot is no reboot */
		*rebooted = boot && *boot && host && strcmp(host, nf_store__host()) == 0 &&
			    strcmp(boot, nf_store__boot_id()) != 0;
	} else if (rc == SQLITE_DONE) {
		err = nf_error_set(NF_ENOTFOUND, "no run %lld", (long long)run_id);
	} else {
		err = nf_store__error(st, rc, "cannot read the runs");
	}
	sqlite3_finalize(q);
	return err;
}

int
nf_store_run_for_interval(nf_store *st, const char *pipeline, const char *interval_start, int64_t *id)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	*id = 0;
	if (!(q = nf_store__stmt(st, SQL_RUN_FOR_INTERVAL)))
		return NF_ERROR;
	sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, interval_start, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
		*id = sqlite3_column_int64(q, 0);
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "no scheduled, alert or backfill run of %s for the interval starting %s",
				   pipeline, interval_start);
	else
		err = nf_store__error(st, rc, "cannot read the runs");
	sqlite3_reset(q);
	return err;
}

int
nf_store_run_list(nf_store *st, int limit, nf_run_info **out, size_t *n)
{
	return nf_store_run_list_of(st, NULL, limit, out, n);
}

int
nf_store_run_list_of(nf_store *st, const char *pipeline, int limit, nf_run_info **out, size_t *n)
{
	sqlite3_stmt *q;
	nf_run_info *runs = NULL;
	size_t count = 0, cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (!(q = nf_store__stmt(st, pipeline ? SQL_RUN_LIST_OF : SQL_RUN_LIST)))
		return NF_ERROR;
	if (pipeline) {
		sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 2, limit > 0 ? limit : -1);
	} else {
		sqlite3_bind_int(q, 1, limit > 0 ? limit : -1);
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		runs = xgrow(runs, sizeof(*runs), count + 1, &cap);
		runs[count] = (nf_run_info){ 0 };
		nf_store__run_from_row(&runs[count++], q);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		err = nf_store__error(st, rc, "cannot read the runs");
		nf_run_info_list_free(runs, count);
		return err;
	}
	*out = runs;
	*n = count;
	return 0;
}

int
nf_store_run_resolve(nf_store *st, const char *arg, int64_t *id)
{
	nf_run_info r;
	char *end;
	long long v;
	int err;

	*id = 0;
	if (!arg)
		return nf_store_run_last(st, id);
	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno || end == arg || *end || v < 1)
		return nf_error_set(NF_EINVALID, "'%s' is not a run id", arg);
	if ((err = nf_store_run_get(st, v, &r)) < 0)
		return err;
	nf_run_info_release(&r);
	*id = v;
	return 0;
}
