/* dashboard.c: the dashboard's reads (tui/view.c): whether anything was committed since
 * it last looked, whether a table exists, a run's nodes with their latest attempt, and the
 * wall times of the same nodes in the pipeline's recent runs. Quiet: a failure (an older
 * schema, a busy database) is only "nothing to show", never the store's failure. */
#include "config.h"
#include "ntflow/store.h"

#include <string.h>

#include "store-internal.h"

/* Prepares sql; NULL (the message set, nothing else) when it does not. */
static sqlite3_stmt *
prep(nf_store *st, const char *sql)
{
	sqlite3_stmt *q = NULL;

	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
		nf_error_set(NF_ERROR, "cannot read the state database: %s", sqlite3_errmsg(st->db));
		sqlite3_finalize(q);
		return NULL;
	}
	return q;
}

int64_t
nf_store_data_version(nf_store *st)
{
	sqlite3_stmt *q = prep(st, "PRAGMA data_version");
	int64_t dv = -1;

	if (q && sqlite3_step(q) == SQLITE_ROW)
		dv = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return dv;
}

bool
nf_store_has_table(nf_store *st, const char *name)
{
	sqlite3_stmt *q = prep(st, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?");
	bool yes;

	if (!q)
		return false;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	yes = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return yes;
}

int
nf_store_dash_nodes(nf_store *st, int64_t run_id, void (*fn)(void *ctx, const nf_dash_node *n), void *ctx)
{
	/* A store from before the Slurm executor has no slurm_jobs: its nodes all the same. */
	bool slurm = nf_store_has_table(st, "slurm_jobs");
	sqlite3_stmt *q = prep(st, slurm
		? "SELECT n.name, n.stage, n.instance, n.kind, n.state, n.attempts, n.started_ms,"
		  " n.finished_ms, n.reason, n.reused_run, a.wall_ms, a.log_path, a.started_ms,"
		  " (SELECT 'job ' || s.job_id || CASE WHEN s.task >= 0 THEN '_' || s.task ELSE '' END || ' '"
		  "   || s.state || CASE WHEN s.reason IN ('', 'None') THEN '' ELSE ' (' || s.reason || ')' END"
		  "  FROM slurm_jobs s WHERE s.run_id = n.run_id AND s.node = n.name AND s.attempt = n.attempts)"
		  " FROM nodes n LEFT JOIN " NF_SQL_LATEST_ATTEMPT
		  " WHERE n.run_id = ? ORDER BY n.seq"
		: "SELECT n.name, n.stage, n.instance, n.kind, n.state, n.attempts, n.started_ms,"
		  " n.finished_ms, n.reason, n.reused_run, a.wall_ms, a.log_path, a.started_ms, NULL"
		  " FROM nodes n LEFT JOIN " NF_SQL_LATEST_ATTEMPT
		  " WHERE n.run_id = ? ORDER BY n.seq");

	if (!q)
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	while (sqlite3_step(q) == SQLITE_ROW) {
		nf_dash_node n = {
			.name = (const char *)sqlite3_column_text(q, 0),
			.stage = (const char *)sqlite3_column_text(q, 1),
			.instance = (const char *)sqlite3_column_text(q, 2),
			.kind = (const char *)sqlite3_column_text(q, 3),
			.state = (const char *)sqlite3_column_text(q, 4),
			.attempts = sqlite3_column_int(q, 5),
			.started_ms = sqlite3_column_int64(q, 6),
			.finished_ms = sqlite3_column_int64(q, 7),
			.reason = (const char *)sqlite3_column_text(q, 8),
			.reused_run = sqlite3_column_int64(q, 9),
			.wall_ms = sqlite3_column_int64(q, 10),
			.log_path = (const char *)sqlite3_column_text(q, 11),
			.attempt_started_ms = sqlite3_column_int64(q, 12),
			.slurm = (const char *)sqlite3_column_text(q, 13),
		};

		fn(ctx, &n);
	}
	sqlite3_finalize(q);
	return 0;
}

int
nf_store_dash_walls(nf_store *st, const char *pipeline, int64_t before_run, int runs,
		    void (*fn)(void *ctx, const char *node, int64_t wall_ms), void *ctx)
{
	sqlite3_stmt *q = prep(st,
		"SELECT n.name, a.wall_ms FROM nodes n"
		" JOIN " NF_SQL_LATEST_ATTEMPT
		" WHERE n.state = 'succeeded' AND n.run_id IN"
		"  (SELECT id FROM runs WHERE pipeline = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3)"
		" ORDER BY n.name");

	if (!q)
		return NF_ERROR;
	sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, before_run);
	sqlite3_bind_int(q, 3, runs);
	while (sqlite3_step(q) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);

		if (name)
			fn(ctx, name, sqlite3_column_int64(q, 1));
	}
	sqlite3_finalize(q);
	return 0;
}
