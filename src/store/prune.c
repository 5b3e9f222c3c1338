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

/* Every run, newest first within its pipeline, with what decides whether it may go: the
 * index runs_pipeline gives the order without a sort. */
static const char plan_sql[] =
	"SELECT r.id, r.pipeline, r.status, r.started_ms, r.pruned_ms,"
	" EXISTS (SELECT 1 FROM model_versions v WHERE v.run_id = r.id AND (v.status = 'production'"
	"  OR (v.status = 'candidate' AND v.version = (SELECT max(w.version) FROM model_versions w"
	"  WHERE w.model = v.model AND w.status = 'candidate')))),"
	" r.redacted_ms"
	" FROM runs r WHERE ?1 IS NULL OR r.pipeline = ?1 ORDER BY r.pipeline, r.id DESC";

/* The runs a prune works on (targets), and which of their nodes a run that stays refers to
 * (refs): a cached node's reused_run, whose row and log `logs` follows (reused = 1), and a
 * miss's miss_prev_run, whose row `why` explains it against (its log may go). Temporary, in
 * memory. */
static const char *const temp_sql[] = {
	"CREATE TEMP TABLE IF NOT EXISTS prune_targets (run_id INTEGER PRIMARY KEY)",
	"CREATE TEMP TABLE IF NOT EXISTS prune_refs (run_id INTEGER NOT NULL, name TEXT NOT NULL,"
	" reused INTEGER NOT NULL, PRIMARY KEY (run_id, name)) WITHOUT ROWID",
};

static int
exec_all(nf_store *st, const char *const *sql, size_t n, const char *what)
{
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = sqlite3_exec(st->db, sql[i], NULL, NULL, NULL)) != SQLITE_OK)
			return nf_store__table_error(st, rc, what);
	return 0;
}

/* Fills prune_targets with the candidates and, with refs, prune_refs from the runs newer
 * than the oldest of them that stay (not pruned, not a target), and the runs pruned before
 * that those going refer to: one pass over their node rows. */
static int
fill_refs(nf_store *st, const int64_t *ids, size_t n, bool refs_too)
{
	static const char *const clear[] = { "DELETE FROM temp.prune_targets", "DELETE FROM temp.prune_refs" };
	static const char *const refs[] = {
		/* A run pruned before that a run going now refers to: what it kept for that one
		 * may go now. One level: a pruned run's rows protect nothing. */
		"INSERT OR IGNORE INTO temp.prune_targets (run_id)"
		" SELECT DISTINCT r.id FROM temp.prune_targets t JOIN nodes n ON n.run_id = t.run_id"
		" JOIN runs r ON r.id IN (n.reused_run, n.miss_prev_run) WHERE r.pruned_ms <> 0",
		/* References stay within a pipeline (its cache entries and its runs). */
		"INSERT OR IGNORE INTO temp.prune_refs (run_id, name, reused)"
		" SELECT n.reused_run, n.name, 1 FROM runs r JOIN nodes n ON n.run_id = r.id"
		" WHERE r.id > (SELECT min(run_id) FROM temp.prune_targets) AND r.pruned_ms = 0"
		" AND r.pipeline IN (SELECT x.pipeline FROM runs x WHERE x.id IN temp.prune_targets)"
		" AND r.id NOT IN temp.prune_targets AND n.reused_run IN temp.prune_targets",
		"INSERT OR IGNORE INTO temp.prune_refs (run_id, name, reused)"
		" SELECT n.miss_prev_run, n.name, 0 FROM runs r JOIN nodes n ON n.run_id = r.id"
		" WHERE r.id > (SELECT min(run_id) FROM temp.prune_targets) AND r.pruned_ms = 0"
		" AND r.pipeline IN (SELECT x.pipeline FROM runs x WHERE x.id IN temp.prune_targets)"
		" AND r.id NOT IN temp.prune_targets AND n.miss_prev_run IN temp.prune_targets",
	};
	sqlite3_stmt *q = NULL;
	int rc, err;

	if ((err = exec_all(st, temp_sql, NF_ARRAY_SIZE(temp_sql), "cannot plan the prune")) < 0 ||
	    (err = exec_all(st, clear, NF_ARRAY_SIZE(clear), "cannot plan the prune")) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO temp.prune_targets (run_id) VALUES (?)", -1, &q,
				     NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot plan the prune");
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, ids[i]);
		if ((rc = sqlite3_step(q)) != SQLITE_DONE)
			break;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE && n)
		return nf_store__table_error(st, rc, "cannot plan the prune");
	return n && refs_too ? exec_all(st, refs, NF_ARRAY_SIZE(refs), "cannot plan the prune") : 0;
}

/* A node row a prune deletes: not a gate, without metrics, and no run that stays refers to
 * it. N: the nodes table's name in the statement. */
#define DELETABLE(N) \
	N ".kind <> 'gate' AND NOT EXISTS (SELECT 1 FROM metrics m WHERE m.node_id = " N ".id)" \
	" AND NOT EXISTS (SELECT 1 FROM temp.prune_refs f WHERE f.run_id = " N ".run_id AND f.name = " N ".name)"

int
nf_store_prune_plan(nf_store *st, const nf_prune_policy *p, nf_prune_candidate **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_prune_candidate *c = NULL;
	int64_t *ids = NULL;
	size_t count = 0, cap = 0, nids = 0, ids_cap = 0, rank = 0;
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
	nf_store__bind_text_or_null(q, 1, p->pipeline);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *pl = (const char *)sqlite3_column_text(q, 1);
		const char *status = (const char *)sqlite3_column_text(q, 2);
		int64_t started = sqlite3_column_int64(q, 3);
		bool keep = false, pruned = sqlite3_column_int64(q, 4) != 0;

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
		/* A run going on is never touched, and not counted among the newest: another
		 * machine's run must not push the newest ended one out. */
		if (!strcmp(status, "running"))
			continue;
		/* The newest ended run of a pipeline is what its next miss is explained against;
		 * its last successful one is what `cache gc` always keeps the entries of, read
		 * from its node rows; the run of a model's production version, or of its newest
		 * candidate, is the one a person looks into (older candidates, one a week for a
		 * gated pipeline, would hold the history unbounded). */
		if (rank == 0)
			keep = true;
		if (!seen_success && !strcmp(status, "succeeded")) {
			seen_success = true;
			keep = true;
		}
		if (sqlite3_column_int(q, 5))
			keep = true;
		if (p->keep_runs >= 0 && rank < (size_t)p->keep_runs)
			keep = true;
		if (keep_from >= 0 && started >= keep_from)
			keep = true;
		rank++;
		if (keep)
			continue;
		/* Pruned before: looked at again for the audit payloads --redact-audit now
		 * empties; fill_refs adds those a run pruned now refers to, whose rows kept for it
		 * may go. */
		if (!pruned || p->every || (p->redact_audit && sqlite3_column_int64(q, 6) == 0))
			NF_PUSH(ids, nids, ids_cap, sqlite3_column_int64(q, 0));
	}
	if (rc != SQLITE_DONE)
		err = nf_store__table_error(st, rc, "cannot read the runs");
	sqlite3_finalize(q);
	q = NULL;
	free(pipeline);
	/* With every, the runs the policy itself lets go and no more: a run pruned before that
	 * one going refers to may be one it keeps (a production version's, pruned by hand). */
	if (err == 0)
		err = fill_refs(st, ids, nids, !p->every);
	free(ids);
	if (err < 0)
		return err;
	/* Every target, with what a prune would remove of it: its node rows that go, and the
	 * logs that go of the rows that stay (a run pruned before with neither, and nothing to
	 * empty, is no candidate). */
	if ((rc = sqlite3_prepare_v2(st->db,
			"SELECT r.id, r.pipeline, r.pruned_ms, r.started_ms, r.redacted_ms,"
			" (SELECT count(*) FROM nodes n WHERE n.run_id = r.id AND " DELETABLE("n") "),"
			" (SELECT count(*) FROM nodes n JOIN attempts a ON a.node_id = n.id WHERE n.run_id = r.id"
			"  AND a.log_path IS NOT NULL AND NOT EXISTS (SELECT 1 FROM temp.prune_refs f"
			"  WHERE f.run_id = n.run_id AND f.name = n.name AND f.reused))"
			" FROM temp.prune_targets t JOIN runs r ON r.id = t.run_id ORDER BY r.id", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the runs");
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *pl = (const char *)sqlite3_column_text(q, 1);
		bool pruned = sqlite3_column_int64(q, 2) != 0;
		bool redact = p->redact_audit && sqlite3_column_int64(q, 4) == 0;
		int64_t rows = sqlite3_column_int64(q, 5), logs = sqlite3_column_int64(q, 6);

		if (!pl) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (pruned && !rows && !logs && !redact && !p->every)
			continue;
		c = xgrow(c, sizeof(*c), count + 1, &cap);
		c[count++] = (nf_prune_candidate){
			.id = sqlite3_column_int64(q, 0),
			.pipeline = xstrdup(pl),
			.started_ms = sqlite3_column_int64(q, 3),
			.nnodes = rows,
			.pruned = pruned,
			.redact = redact,
		};
	}
	if (rc != SQLITE_DONE)
		err = nf_store__table_error(st, rc, "cannot read the runs");
	sqlite3_finalize(q);
	if (err < 0) {
		nf_prune_candidate_list_free(c, count);
		return err;
	}
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
	/* A cached row that stays reads its components from its entry or the row it reused,
	 * which may go (cache gc, a prune): it gets them itself, so a later miss is still
	 * explained against it. */
	"UPDATE nodes SET components = COALESCE((SELECT " ENTRY_COMPONENTS("e") " FROM cache_entries e"
	"  WHERE e.key = nodes.cache_key), (SELECT q.components FROM nodes q WHERE q.run_id = nodes.reused_run"
	"  AND q.name = nodes.name))"
	" WHERE run_id = ?1 AND components IS NULL AND cache_key IS NOT NULL AND NOT (" DELETABLE("nodes") ")",
	/* Which runs' results it reused, once its rows no longer say (cache gc). */
	"INSERT OR IGNORE INTO pruned_reused (run_id, reused_run)"
	" SELECT DISTINCT ?1, reused_run FROM nodes WHERE run_id = ?1 AND reused_run > 0",
	/* The logs go (the files after the commit, gov/prune.c), but those of the stages a run
	 * that stays reused: a cached stage's log is the reused run's. */
	"UPDATE attempts SET log_path = NULL WHERE log_path IS NOT NULL AND node_id IN (SELECT n.id FROM nodes n"
	" WHERE n.run_id = ?1 AND NOT EXISTS (SELECT 1 FROM temp.prune_refs f WHERE f.run_id = n.run_id"
	" AND f.name = n.name AND f.reused))",
};
#define PRUNE_DELETE \
	"DELETE FROM nodes WHERE run_id = ?1 AND " DELETABLE("nodes")
static const char *const prune_after_sql[] = {
	"DELETE FROM slurm_jobs WHERE run_id = ?1 AND settled = 1",
	"UPDATE runs SET pruned_ms = ?2 WHERE id = ?1 AND pruned_ms = 0",
};

/* The payloads of the run's per-stage audit records emptied (--redact-audit): each record
 * keeps its seq, time, run, kind and hashes, so the chain and the run's Merkle root still
 * verify; only kinds node and nodes, the bulk of a run's records (a cached rerun of 10 000
 * stages writes 1.8 MB of them: gov.h's NF_AUDIT_NODE, NF_AUDIT_NODES). A payload is never
 * empty otherwise (canonical JSON). */
static const char *const redact_sql[] = {
	"UPDATE audit SET payload = '' WHERE run_id = ?1 AND kind IN ('node', 'nodes') AND payload <> ''",
	"UPDATE runs SET redacted_ms = ?2 WHERE id = ?1",
};

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
	/* The references are the last plan's on this connection (none: no run refers to its
	 * rows); a prune follows its plan under the workspace lock. */
	if ((err = exec_all(st, temp_sql, NF_ARRAY_SIZE(temp_sql), "cannot prune the run")) < 0)
		return err;
	for (size_t i = 0; i < NF_ARRAY_SIZE(prune_sql); i++)
		if ((err = run_step(st, prune_sql[i], run_id, now_ms, NULL)) < 0)
			return err;
	if ((err = run_step(st, PRUNE_DELETE, run_id, now_ms, &out->nodes)) < 0)
		return err;
	for (size_t i = 0; i < NF_ARRAY_SIZE(prune_after_sql); i++)
		if ((err = run_step(st, prune_after_sql[i], run_id, now_ms, NULL)) < 0)
			return err;
	if (redact_audit && ((err = run_step(st, redact_sql[0], run_id, now_ms, &out->audit_records)) < 0 ||
			     (err = run_step(st, redact_sql[1], run_id, now_ms, NULL)) < 0))
		return err;
	return 0;
}

int
nf_store_run_log_paths(nf_store *st, int64_t run_id, bool referenced, char ***out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	char **v = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if (referenced && (err = exec_all(st, temp_sql, NF_ARRAY_SIZE(temp_sql), "cannot read the logs")) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db, referenced
			? "SELECT a.log_path FROM nodes n JOIN attempts a ON a.node_id = n.id WHERE n.run_id = ?1"
			  " AND a.log_path IS NOT NULL AND EXISTS (SELECT 1 FROM temp.prune_refs f WHERE f.run_id = ?1"
			  " AND f.name = n.name AND f.reused)"
			: "SELECT a.log_path FROM nodes n JOIN attempts a ON a.node_id = n.id WHERE n.run_id = ?1"
			  " AND a.log_path IS NOT NULL", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the logs");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = xgrow(v, sizeof(*v), *n + 1, &cap);
		v[(*n)++] = nf_store__col_strdup(q, 0);
	}
	if (rc != SQLITE_DONE)
		err = nf_store__table_error(st, rc, "cannot read the logs");
	sqlite3_finalize(q);
	*out = v;
	return err;
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

	if (err != NF_ENOTFOUND)
		return err;
	msg = xstrdup(nf_error_last());
	if (nf_store_run_get(st, run_id, &r) < 0) {
		nf_error_set(err, "%s", msg);   /* the caller's message, not the lookup's */
		free(msg);
		return err;
	}
	if (r.pruned_ms) {
		nf_store_fmt_local_time(t, sizeof(t), r.pruned_ms);
		err = nf_error_set(NF_ENOTFOUND, "%s: run %lld was pruned on %s (ntflow prune): it keeps only its"
				   " gates, the stages that wrote metrics and those later runs refer to", msg,
				   (long long)run_id, t);
	}
	free(msg);
	nf_run_info_release(&r);
	return err;
}

int
nf_store_pruned_reused(nf_store *st, int64_t run_id, int64_t **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	int64_t *v = NULL;
	size_t cap = 0;
	int rc, err = 0;

	*out = NULL;
	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT reused_run FROM pruned_reused WHERE run_id = ?", -1, &q,
				     NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read what a pruned run reused");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = xgrow(v, sizeof(*v), *n + 1, &cap);
		v[(*n)++] = sqlite3_column_int64(q, 0);
	}
	if (rc != SQLITE_DONE)
		err = nf_store__table_error(st, rc, "cannot read what a pruned run reused");
	sqlite3_finalize(q);
	*out = v;
	return err;
}
