/* compare.c: the reads that compare runs (`ntflow diff`, `runs --params --metrics`): the run
 * of a pipeline before another one, and the output digests of a run's nodes. Each goes
 * through an index (runs_pipeline; nodes_run_seq and the cache's primary key), so neither
 * grows with the history. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

/* runs_pipeline (pipeline, id): the newest id below run_id of the same pipeline. */
const char nf_store__prev_run_sql[] =
	"SELECT max(id) FROM runs WHERE pipeline = (SELECT pipeline FROM runs WHERE id = ?1) AND id < ?1";
/* A node's key names the entry of the result it ran to or reused (cached). */
const char nf_store__run_outputs_sql[] =
	"SELECT n.name, e.outputs FROM nodes n JOIN cache_entries e ON e.key = n.cache_key"
	" WHERE n.run_id = ? AND n.state IN ('succeeded','cached') ORDER BY n.seq";

int
nf_store_run_prev_of_pipeline(nf_store *st, int64_t run_id, int64_t *prev)
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	*prev = 0;
	if ((rc = sqlite3_prepare_v2(st->db, nf_store__prev_run_sql, -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the runs");
	sqlite3_bind_int64(q, 1, run_id);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL)
		*prev = sqlite3_column_int64(q, 0);
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "run %lld is the first run of its pipeline", (long long)run_id);
	else
		err = nf_store__table_error(st, rc, "cannot read the runs");
	sqlite3_finalize(q);
	return err;
}

int
nf_store_run_outputs(nf_store *st, int64_t run_id,
		     void (*fn)(void *ctx, const char *node, const char *outputs_json), void *ctx)
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	(void)nf_store__nodes_sync(st);   /* it reads nodes: see the batch's pending writes */
	if ((rc = sqlite3_prepare_v2(st->db, nf_store__run_outputs_sql, -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the run's outputs");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		fn(ctx, (const char *)sqlite3_column_text(q, 0), (const char *)sqlite3_column_text(q, 1));
	if (rc != SQLITE_DONE)
		err = nf_store__table_error(st, rc, "cannot read the run's outputs");
	sqlite3_finalize(q);
	return err;
}
