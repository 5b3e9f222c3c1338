/* slurm-jobs.c: slurm_jobs, the Slurm jobs each run submitted: the id with its submission
 * time and job name (ids restart at 1 when a cluster's state is wiped, so an id alone never
 * names a job), the cache key and log of the attempt, and the last state and reason Slurm
 * gave. A run settles its rows when it ends; rows left unsettled belong to a run that was
 * killed, and the next run adopts or cancels their jobs. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

int
nf_store_slurm_job_add(nf_store *st, int64_t run_id, const char *node, int attempt, uint64_t job_id, long task,
		       int64_t submitted_ms, const char *name, const char *cache_key, const char *log)
{
	sqlite3_stmt *s = NULL;
	int err, rc;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db,
			"INSERT OR REPLACE INTO slurm_jobs (run_id, node, attempt, job_id, task, submitted_ms, name,"
			" cache_key, log) VALUES (?,?,?,?,?,?,?,?,?)", -1, &s, NULL)) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, run_id);
		sqlite3_bind_text(s, 2, node, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 3, attempt);
		sqlite3_bind_int64(s, 4, (int64_t)job_id);
		sqlite3_bind_int64(s, 5, task);
		sqlite3_bind_int64(s, 6, submitted_ms);
		sqlite3_bind_text(s, 7, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 8, cache_key ? cache_key : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 9, log ? log : "", -1, SQLITE_STATIC);
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(st->db);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : nf_store__table_error(st, rc, "cannot record a Slurm job");
}

int
nf_store_slurm_job_status(nf_store *st, int64_t run_id, const char *node, int attempt, const char *state,
			  const char *reason)
{
	sqlite3_stmt *s = NULL;
	int err, rc;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db, "UPDATE slurm_jobs SET state = ?, reason = ? WHERE run_id = ? AND node = ?"
			" AND attempt = ?", -1, &s, NULL)) == SQLITE_OK) {
		sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, reason ? reason : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, run_id);
		sqlite3_bind_text(s, 4, node, -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 5, attempt);
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(st->db);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : nf_store__table_error(st, rc, "cannot record a Slurm job's state");
}

int
nf_store_slurm_jobs_settle(nf_store *st, int64_t run_id)
{
	sqlite3_stmt *s = NULL;
	int err, rc;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db, "UPDATE slurm_jobs SET settled = 1 WHERE run_id = ? AND settled = 0", -1,
				     &s, NULL)) == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, run_id);
		rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(st->db);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : nf_store__table_error(st, rc, "cannot settle the run's Slurm jobs");
}

/* Rows of one run (run_id > 0) or every unsettled row of other runs (run_id < 0: all
 * runs but -run_id), the latest attempt of each node last. */
static int
rows(nf_store *st, int64_t run_id, nf_slurm_job_row **out, size_t *n)
{
	sqlite3_stmt *s = NULL;
	nf_slurm_job_row *r = NULL;
	size_t nr = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(st->db, run_id > 0
		? "SELECT run_id, node, attempt, job_id, task, submitted_ms, name, cache_key, log, state, reason"
		  " FROM slurm_jobs WHERE run_id = ? ORDER BY node, attempt"
		: "SELECT run_id, node, attempt, job_id, task, submitted_ms, name, cache_key, log, state, reason"
		  " FROM slurm_jobs WHERE settled = 0 AND run_id != ? ORDER BY run_id, node, attempt", -1, &s, NULL);
	if (rc != SQLITE_OK)
		goto done;
	sqlite3_bind_int64(s, 1, run_id > 0 ? run_id : -run_id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		nf_slurm_job_row row;

		row.run_id = sqlite3_column_int64(s, 0);
		row.node = nf_store__col_strdup(s, 1);
		row.attempt = sqlite3_column_int(s, 2);
		row.job_id = (uint64_t)sqlite3_column_int64(s, 3);
		row.task = (long)sqlite3_column_int64(s, 4);
		row.submitted_ms = sqlite3_column_int64(s, 5);
		row.name = nf_store__col_strdup(s, 6);
		row.cache_key = nf_store__col_strdup(s, 7);
		row.log = nf_store__col_strdup(s, 8);
		row.state = nf_store__col_strdup(s, 9);
		row.reason = nf_store__col_strdup(s, 10);
		NF_PUSH(r, nr, cap, row);
	}
	rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
done:
	sqlite3_finalize(s);
	if (rc != SQLITE_OK) {
		nf_slurm_job_rows_free(r, nr);
		return nf_store__table_error(st, rc, "cannot read the Slurm jobs");
	}
	*out = r;
	*n = nr;
	return 0;
}

int
nf_store_slurm_jobs_of_run(nf_store *st, int64_t run_id, nf_slurm_job_row **out, size_t *n)
{
	return rows(st, run_id > 0 ? run_id : 1, out, n);
}

int
nf_store_slurm_jobs_unsettled(nf_store *st, int64_t except_run, nf_slurm_job_row **out, size_t *n)
{
	return rows(st, -(except_run > 0 ? except_run : 0), out, n);
}

void
nf_slurm_job_rows_free(nf_slurm_job_row *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].node);
		free(r[i].name);
		free(r[i].cache_key);
		free(r[i].log);
		free(r[i].state);
		free(r[i].reason);
	}
	free(r);
}
