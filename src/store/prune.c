/* prune.c: the history's retention (`ntflow prune`): which ended runs a policy lets go, and
 * the rows of one run forgotten. A pruned run keeps its row and summary, the node rows that
 * hold metrics (with their attempts), its gate results, plots, CPU phases and audit records;
 * its other node rows, their attempts and its settled Slurm jobs go, so a year of weekly
 * runs of a large pipeline does not keep a year of per-stage rows. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "store-internal.h"

void
nf_prune_candidate_list_free(nf_prune_candidate *c, size_t n)
{
	for (size_t i = 0; c && i < n; i++)
		free(c[i].pipeline);
	free(c);
}

static int
by_id(const void *a, const void *b)
{
	int64_t x = ((const nf_prune_candidate *)a)->id, y = ((const nf_prune_candidate *)b)->id;

	return (x > y) - (x < y);
}

/* Every run, newest first within its pipeline, with what decides whether it may go: the
 * index runs_pipeline gives the order without a sort. */
static const char plan_sql[] =
	"SELECT r.id, r.pipeline, r.status, r.started_ms, r.pruned_ms, 0,"
	" EXISTS (SELECT 1 FROM model_versions v WHERE v.run_id = r.id"
	"  AND v.status IN ('production', 'candidate')),"
	/* ?1: audit payloads are to be emptied; a run pruned without that is one to do again */
	" ?1 AND r.pruned_ms <> 0 AND EXISTS (SELECT 1 FROM audit a WHERE a.run_id = r.id"
	"  AND a.kind IN ('node', 'nodes') AND a.payload <> '')"
	" FROM runs r WHERE ?2 IS NULL OR r.pipeline = ?2 ORDER BY r.pipeline, r.id DESC";

int
nf_store_prune_plan(nf_store *st, const nf_prune_policy *p, nf_prune_candidate **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_prune_candidate *c = NULL;
	size_t count = 0, cap = 0, rank = 0;
	char *pipeline = NULL;
	bool seen_success = false;
	int64_t keep_from = -1;
	int rc, err = 0;

	/* --keep-days 36500 reaches back before 1970: every run is then kept, not none. */
	if (p->keep_days >= 0)
		keep_from = p->keep_days > (p->now_ms / 86400000) ? 0 : p->now_ms - p->keep_days * 86400000;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db, plan_sql, -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the runs");
	sqlite3_bind_int(q, 1, p->redact_audit);
	nf_store__bind_text_or_null(q, 2, p->pipeline);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *pl = (const char *)sqlite3_column_text(q, 1);
		const char *status = (const char *)sqlite3_column_text(q, 2);
		int64_t started = sqlite3_column_int64(q, 3);
		bool keep = false;

		if (!pl || !status) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (!pipeline || strcmp(pipeline, pl)) {
			free(pipeline);
			pipeline = xstrdup(pl);
			rank = 0;
			seen_success = false;
		}
		/* The newest run of a pipeline is what its next miss is explained against; its
		 * last successful one is what `cache gc` always keeps the entries of, read from
		 * its node rows; a run whose version is in production or a candidate is the one
		 * a person looks into. A run going on is never touched. */
		if (rank == 0 || !strcmp(status, "running"))
			keep = true;
		if (!seen_success && !strcmp(status, "succeeded")) {
			seen_success = true;
			keep = true;
		}
		if (sqlite3_column_int(q, 6))
			keep = true;
		if (p->keep_runs >= 0 && rank < (size_t)p->keep_runs)
			keep = true;
		if (keep_from >= 0 && started >= keep_from)
			keep = true;
		rank++;
		if (keep || (sqlite3_column_int64(q, 4) != 0 && !sqlite3_column_int(q, 7)))
			continue;
		c = xgrow(c, sizeof(*c), count + 1, &cap);
		c[count++] = (nf_prune_candidate){
			.id = sqlite3_column_int64(q, 0),
			.pipeline = xstrdup(pl),
			.started_ms = started,
			.pruned = sqlite3_column_int64(q, 4) != 0,
		};
	}
	if (rc != SQLITE_DONE)
		err = nf_store__table_error(st, rc, "cannot read the runs");
	sqlite3_finalize(q);
	q = NULL;
	free(pipeline);
	/* What a prune deletes of each: its node rows without metrics (nodes_run_seq). */
	if (err == 0 && count &&
	    (rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM nodes n WHERE n.run_id = ?"
				     " AND NOT EXISTS (SELECT 1 FROM metrics m WHERE m.node_id = n.id)", -1, &q, NULL)) != SQLITE_OK)
		err = nf_store__table_error(st, rc, "cannot read the runs");
	for (size_t i = 0; err == 0 && i < count; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, c[i].id);
		if ((rc = sqlite3_step(q)) == SQLITE_ROW)
			c[i].nnodes = sqlite3_column_int64(q, 0);
		else
			err = nf_store__table_error(st, rc, "cannot read the runs");
	}
	sqlite3_finalize(q);
	if (err < 0) {
		nf_prune_candidate_list_free(c, count);
		return err;
	}
	if (count > 1)
		qsort(c, count, sizeof(*c), by_id);
	*out = c;
	*n = count;
	return 0;
}

/* The statements of one run's pruning, in order; ?1 the run, ?2 the time. */
static const char *const prune_sql[] = {
	/* A cache entry a run wrote after its node's miss reads its components from that node
	 * row (ENTRY_COMPONENTS in store.c): copied into cache_components before it goes. */
	"INSERT OR IGNORE INTO cache_components (entry, components)"
	" SELECT e.rowid, n.components FROM nodes n JOIN cache_entries e ON e.key = n.cache_key"
	" WHERE n.run_id = ?1 AND n.components IS NOT NULL AND e.run_id = n.run_id AND e.node = n.name",
	/* A later miss explained against this run's node (miss_prev_run) reads that row's
	 * components, or a cached one's entry: it is pointed at the run that wrote the entry
	 * the node's key names, whose components (copied above when that run was pruned) are
	 * the same, since a key names its components. Before the rows go. */
	"UPDATE nodes SET miss_prev_run = coalesce((SELECT e.run_id FROM nodes p JOIN cache_entries e"
	"  ON e.key = p.cache_key WHERE p.run_id = ?1 AND p.name = nodes.name), miss_prev_run)"
	" WHERE run_id > ?1 AND miss_prev_run = ?1",
	/* Its logs go with the folder: the attempts that stay name none. */
	"UPDATE attempts SET log_path = NULL WHERE log_path IS NOT NULL"
	" AND node_id IN (SELECT id FROM nodes WHERE run_id = ?1)",
	/* Attempts go with their nodes (ON DELETE CASCADE). */
	"DELETE FROM nodes WHERE run_id = ?1"
	" AND NOT EXISTS (SELECT 1 FROM metrics m WHERE m.node_id = nodes.id)",
	"DELETE FROM slurm_jobs WHERE run_id = ?1 AND settled = 1",
	"UPDATE runs SET pruned_ms = ?2 WHERE id = ?1 AND pruned_ms = 0",
	/* A miss walks its pipeline's runs back to the first where its node got a key
	 * (MISS_PREV_RUN): the walk stops at the oldest run that still has node rows. */
	"UPDATE node_first_keyed SET run_id = coalesce((SELECT min(r.id) FROM runs r"
	"  WHERE r.pipeline = node_first_keyed.pipeline AND r.pruned_ms = 0), run_id)"
	" WHERE run_id = ?1",
};

/* The payloads of the run's per-stage audit records emptied (--redact-audit): each record
 * keeps its seq, time, run, kind and hashes, so the chain and the run's Merkle root still
 * verify; only kinds node and nodes, the bulk of a run's records (a cached rerun of 10 000
 * stages writes 1.8 MB of them: gov.h's NF_AUDIT_NODE, NF_AUDIT_NODES). A payload is never
 * empty otherwise (canonical JSON). */
static const char redact_sql[] =
	"UPDATE audit SET payload = '' WHERE run_id = ?1 AND kind IN ('node', 'nodes') AND payload <> ''";

static int
run_step(nf_store *st, const char *sql, int64_t run_id, int64_t now_ms, int64_t *changes)
{
	sqlite3_stmt *q = NULL;
	int rc;

	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot prune the run");
	sqlite3_bind_int64(q, 1, run_id);
	if (sqlite3_bind_parameter_count(q) >= 2)
		sqlite3_bind_int64(q, 2, now_ms);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return nf_store__error(st, rc, "cannot prune the run");
	if (changes)
		*changes = sqlite3_changes(st->db);
	return 0;
}

int
nf_store_prune_run(nf_store *st, int64_t run_id, int64_t now_ms, bool redact_audit, nf_prune_counts *out)
{
	int err;

	*out = (nf_prune_counts){ 0 };
	if (!st->in_batch)
		return nf_error_set(NF_EINVALID, "pruning a run needs a transaction (nf_store_atomic)");
	for (size_t i = 0; i < NF_ARRAY_SIZE(prune_sql); i++)
		if ((err = run_step(st, prune_sql[i], run_id, now_ms, i == 3 ? &out->nodes : NULL)) < 0)
			return err;
	if (redact_audit && (err = run_step(st, redact_sql, run_id, now_ms, &out->audit_records)) < 0)
		return err;
	return 0;
}

int
nf_store_space(nf_store *st, int64_t *bytes, int64_t *free_bytes)
{
	sqlite3_stmt *q = NULL;
	int rc, err = 0;

	*bytes = *free_bytes = 0;
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT p.page_count * s.page_size, f.freelist_count * s.page_size"
				     " FROM pragma_page_count p, pragma_page_size s, pragma_freelist_count f",
				     -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the database's size");
	if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*bytes = sqlite3_column_int64(q, 0);
		*free_bytes = sqlite3_column_int64(q, 1);
	} else {
		err = nf_store__table_error(st, rc, "cannot read the database's size");
	}
	sqlite3_finalize(q);
	return err;
}

int
nf_store_vacuum(nf_store *st)
{
	int rc, err;

	if ((err = nf_store_flush(st)) < 0)
		return err;
	if ((rc = sqlite3_exec(st->db, "VACUUM", NULL, NULL, NULL)) != SQLITE_OK)
		return nf_store__error(st, rc, "cannot compact the state database");
	/* The copy VACUUM wrote went through the write-ahead log: fold it back in. */
	if ((rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL)) != SQLITE_OK &&
	    rc != SQLITE_BUSY)
		return nf_store__error(st, rc, "cannot compact the state database");
	return 0;
}

int
nf_store_pruned_error(nf_store *st, int64_t run_id, int err)
{
	nf_run_info r;
	char *msg, t[32];

	if (err != NF_ENOTFOUND || nf_store_run_get(st, run_id, &r) < 0)
		return err;
	if (r.pruned_ms) {
		msg = xstrdup(nf_error_last());
		nf_store_fmt_local_time(t, sizeof(t), r.pruned_ms);
		err = nf_error_set(NF_ENOTFOUND, "%s: run %lld was pruned on %s (ntflow prune), which kept only"
				   " the stages that wrote metrics, and no logs", msg, (long long)run_id, t);
		free(msg);
	}
	nf_run_info_release(&r);
	return err;
}
