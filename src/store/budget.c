/* budget.c: CPU per phase: a run's phases summed from its nodes and attempts, the rows of
 * cpu_phases recorded at each run's end, the baselines later runs read from them and the
 * series the report draws. What the numbers mean is decided in gov/budget.c. */
#include "config.h"
#include "ntflow/store.h"

#include <stdlib.h>
#include <string.h>

#include "ntflow/exec.h"  /* the graph: the phases of a fully cached run */
#include "store-internal.h"

void
nf_phase_row_list_free(nf_phase_row *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].logical_date);
		free(r[i].phase);
		free(r[i].baseline);
		free(r[i].status);
		free(r[i].reason);
	}
	free(r);
}

static char *
col_or_null(sqlite3_stmt *q, int col)
{
	return sqlite3_column_type(q, col) == SQLITE_NULL ? NULL : nf_store__col_strdup(q, col);
}

/* Columns from `col` on: baseline, baseline_cpu_ms, reduction_pct, target_pct, status, reason. */
static void
read_budget(nf_phase_row *r, sqlite3_stmt *q, int col)
{
	free(r->baseline);
	free(r->status);
	free(r->reason);
	r->baseline = col_or_null(q, col);
	r->has_baseline_cpu = sqlite3_column_type(q, col + 1) != SQLITE_NULL;
	r->baseline_cpu_ms = sqlite3_column_int64(q, col + 1);
	r->has_reduction = sqlite3_column_type(q, col + 2) != SQLITE_NULL;
	r->reduction_pct = sqlite3_column_double(q, col + 2);
	r->target_pct = sqlite3_column_double(q, col + 3);
	r->status = col_or_null(q, col + 4);
	r->reason = col_or_null(q, col + 5);
}

/* The reason column, or NULL in a database of an older schema opened read-only (no
 * migration ran): its "no baseline" rows then say no why, as when they were recorded. */
static const char *
reason_col(nf_store *st, const char *prefix)
{
	sqlite3_stmt *q = NULL;
	bool yes = false;

	if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM pragma_table_info('cpu_phases') WHERE name = 'reason'", -1,
			       &q, NULL) == SQLITE_OK)
		yes = sqlite3_step(q) == SQLITE_ROW;
	sqlite3_finalize(q);
	return !yes ? "NULL" : *prefix ? "c.reason" : "reason";
}

/* A node that succeeded running a process in this run: not cached, not frozen (no attempt). */
#define RAN "(n.state = 'succeeded' AND n.cached = 0 AND n.attempts > 0)"
#define DID_RUN "(n.cached = 0 AND n.attempts > 0)"

/* The first start and last end of a phase's nodes that ran (any: one did). */
typedef struct phase_span {
	int64_t first_start, last_end;
	bool any;
} phase_span;

/* A node of the run read by nf_store_phase_totals: its id and its phase's row. */
typedef struct node_phase {
	int64_t id;
	size_t row;
} node_phase;

static int
node_phase_cmp(const void *a, const void *b)
{
	int64_t x = ((const node_phase *)a)->id, y = ((const node_phase *)b)->id;

	return x < y ? -1 : x > y;
}

/* The CPU of the attempts of the nodes np (n of them, sorted by id) added to their phases'
 * rows. A run's nodes have ids of one range (nodes.c gives them together), so their
 * attempts are read in one ordered range of attempts' key, not looked up node by node; a
 * range much wider than the nodes (other runs' nodes inside) is read node by node. */
static int
add_attempts_cpu(nf_store *st, nf_phase_row *rows, const node_phase *np, size_t n)
{
	sqlite3_stmt *q = NULL;
	bool range;
	int rc;

	if (!n)
		return SQLITE_DONE;
	range = (uint64_t)(np[n - 1].id - np[0].id) <= 4 * (uint64_t)n + 1024;
	if ((rc = sqlite3_prepare_v2(st->db, range
			? "SELECT node_id, sum(user_ms + sys_ms) FROM attempts WHERE node_id BETWEEN ?1 AND ?2 GROUP BY node_id"
			: "SELECT node_id, sum(user_ms + sys_ms) FROM attempts WHERE node_id = ?1", -1, &q, NULL)) != SQLITE_OK)
		return rc;
	rc = SQLITE_DONE;
	for (size_t i = 0; i < (range ? 1 : n) && rc == SQLITE_DONE; i++) {
		sqlite3_bind_int64(q, 1, range ? np[0].id : np[i].id);
		if (range)
			sqlite3_bind_int64(q, 2, np[n - 1].id);
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			node_phase key = { sqlite3_column_int64(q, 0), 0 };
			const node_phase *hit = bsearch(&key, np, n, sizeof(*np), node_phase_cmp);

			if (hit)   /* not a gate's nor another run's node */
				rows[hit->row].cpu_ms += sqlite3_column_int64(q, 1);
		}
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	return rc;
}

/* The row of phase among rows (n of them, room for cap), added when new. */
static nf_phase_row *
phase_row(nf_phase_row **rows, size_t *n, size_t *cap, int64_t run_id, const char *phase)
{
	nf_phase_row *r;

	/* The node before is most often of the same phase. */
	for (size_t i = *n; i-- > 0;)
		if (strcmp((*rows)[i].phase, phase) == 0)
			return &(*rows)[i];
	*rows = xgrow(*rows, sizeof(**rows), *n + 1, cap);
	r = &(*rows)[(*n)++];
	memset(r, 0, sizeof(*r));
	r->run_id = run_id;
	r->phase = xstrdup(phase);
	return r;
}

int
nf_store_phase_totals(nf_store *st, int64_t run_id, nf_phase_row **out, size_t *n)
{
	node_phase *np = NULL;
	size_t nnp = 0, np_cap = 0;
	sqlite3_stmt *q = NULL;
	nf_phase_row *rows = NULL;
	phase_span *span = NULL;
	size_t nrows = 0, cap = 0, span_cap = 0;
	char *sql;
	int rc;

	*out = NULL;
	*n = 0;
	if (!nf_store_has_table(st, "cpu_phases"))
		return 0;   /* a database of an older schema opened read-only: no phases */
	(void)nf_store__nodes_sync(st);   /* it reads the state of nodes: see the batch's pending writes */
	/* A pruned run has lost most node rows: its phases as its end recorded them. */
	if ((rc = sqlite3_prepare_v2(st->db, "SELECT c.phase, c.nodes, c.ran, c.cached, c.cpu_ms, c.wall_ms"
				     " FROM runs r JOIN cpu_phases c ON c.run_id = r.id WHERE r.id = ?1 AND r.pruned_ms <> 0",
				     -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the CPU per phase");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *phase = (const char *)sqlite3_column_text(q, 0);
		nf_phase_row *r;

		if (!phase) {
			rc = SQLITE_NOMEM;
			break;
		}
		r = phase_row(&rows, &nrows, &cap, run_id, phase);
		r->nodes = sqlite3_column_int(q, 1);
		r->ran = sqlite3_column_int(q, 2);
		r->cached = sqlite3_column_int(q, 3);
		r->cpu_ms = sqlite3_column_int64(q, 4);
		r->wall_ms = sqlite3_column_int64(q, 5);
	}
	sqlite3_finalize(q);
	q = NULL;
	if (rc != SQLITE_DONE)
		goto fail;
	if (nrows)
		goto budgets;
	if (nf_store__all_cached(st, run_id)) {
		/* A fully cached run (none of its nodes ran, so no attempt and no wall time):
		 * its phases and their counts from its graph, not from 10 000 rows (4% of a
		 * cached rerun of 10 000 stages). */
		const nf_graph *g = st->names.g;

		for (size_t i = 0; i < g->nnodes; i++) {
			const nf_node *node = &g->nodes[g->order ? g->order[i] : i];
			const char *phase = nf_more(node->stage)->phase ? nf_more(node->stage)->phase : "other";
			nf_phase_row *r;

			if (node->stage->kind == NF_GATE)
				continue;
			r = phase_row(&rows, &nrows, &cap, run_id, phase);
			r->nodes++;
			r->cached++;
		}
		goto budgets;
	}
	/* The nodes in the order of index nodes_run_seq, summed here by phase (a handful), not
	 * by a GROUP BY, which sorted every node row of the run (6.5% of a cached rerun of
	 * 10 000 stages, and its peak of memory at 100 000). Phases come in the order of their
	 * first node, as ORDER BY min(seq) gave them. */
	if ((rc = sqlite3_prepare_v2(st->db,
			"SELECT coalesce(n.phase, 'other'), " RAN ", (n.cached <> 0 OR n.state = 'cached'),"
			" n.id,"
			" " DID_RUN ", n.started_ms, n.finished_ms"
			" FROM nodes n WHERE n.run_id = ?1 AND n.kind <> 'gate' ORDER BY n.seq", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the CPU per phase");
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *phase = (const char *)sqlite3_column_text(q, 0);
		nf_phase_row *r;
		size_t before = nrows;

		if (!phase) {   /* never NULL (coalesce) but when SQLite ran out of memory */
			rc = SQLITE_NOMEM;
			break;
		}
		r = phase_row(&rows, &nrows, &cap, run_id, phase);
		if (nrows > before) {   /* a new phase: its span */
			span = xgrow(span, sizeof(*span), nrows, &span_cap);
			span[nrows - 1] = (phase_span){ 0, 0, false };
		}
		r->nodes++;
		r->ran += sqlite3_column_int(q, 1);
		r->cached += sqlite3_column_int(q, 2);
		NF_PUSH(np, nnp, np_cap, ((node_phase){ sqlite3_column_int64(q, 3), (size_t)(r - rows) }));
		if (sqlite3_column_int(q, 4)) {   /* the wall time spans the nodes that ran */
			phase_span *sp = &span[r - rows];
			int64_t started = sqlite3_column_int64(q, 5), finished = sqlite3_column_int64(q, 6);

			if (!sp->any || started < sp->first_start)
				sp->first_start = started;
			if (!sp->any || finished > sp->last_end)
				sp->last_end = finished;
			sp->any = true;
		}
	}
	sqlite3_finalize(q);
	q = NULL;
	for (size_t i = 0; i < nrows; i++) {
		rows[i].wall_ms = span[i].any ? span[i].last_end - span[i].first_start : 0;
		if (rows[i].wall_ms < 0)
			rows[i].wall_ms = 0;   /* a node still running has no end yet */
	}
	free(span);
	if (rc == SQLITE_DONE) {
		size_t k = 1;

		/* Read in seq order, given ids in that order: sorted already but where not. */
		while (k < nnp && np[k - 1].id < np[k].id)
			k++;
		if (k < nnp)
			qsort(np, nnp, sizeof(*np), node_phase_cmp);
		rc = add_attempts_cpu(st, rows, np, nnp);
	}
	free(np);
	if (rc != SQLITE_DONE)
		goto fail;
budgets:
	/* The budgets recorded at the run's end, by phase. */
	sql = xasprintf("SELECT phase, baseline, baseline_cpu_ms, reduction_pct, target_pct, status, %s"
			" FROM cpu_phases WHERE run_id = ?1", reason_col(st, ""));
	rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *phase = (const char *)sqlite3_column_text(q, 0);

		for (size_t i = 0; phase && i < nrows; i++)
			if (strcmp(rows[i].phase, phase) == 0)
				read_budget(&rows[i], q, 1);
	}
	sqlite3_finalize(q);
	q = NULL;
	if (rc != SQLITE_DONE)
		goto fail;
	*out = rows;
	*n = nrows;
	return 0;
fail:
	sqlite3_finalize(q);
	nf_phase_row_list_free(rows, nrows);
	return nf_store__table_error(st, rc, "cannot read the CPU per phase");
}

int
nf_store_phase_record(nf_store *st, int64_t run_id, const char *pipeline, const nf_phase_row *rows, size_t n)
{
	sqlite3_stmt *q = NULL;
	int err, rc = SQLITE_DONE;

	if ((err = nf_store_batch(st)) < 0)
		return err;
	if ((rc = sqlite3_prepare_v2(st->db,
			"INSERT OR REPLACE INTO cpu_phases (run_id, pipeline, phase, nodes, ran, cached, cpu_ms,"
			" wall_ms, baseline, baseline_cpu_ms, reduction_pct, target_pct, status, reason)"
			" VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot record the CPU per phase");
	rc = SQLITE_DONE;
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		const nf_phase_row *r = &rows[i];

		sqlite3_bind_int64(q, 1, run_id);
		sqlite3_bind_text(q, 2, pipeline, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, r->phase, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, 4, r->nodes);
		sqlite3_bind_int(q, 5, r->ran);
		sqlite3_bind_int(q, 6, r->cached);
		sqlite3_bind_int64(q, 7, r->cpu_ms);
		sqlite3_bind_int64(q, 8, r->wall_ms);
		if (r->status) {
			sqlite3_bind_text(q, 9, r->baseline ? r->baseline : "", -1, SQLITE_STATIC);
			if (r->has_baseline_cpu)
				sqlite3_bind_int64(q, 10, r->baseline_cpu_ms);
			else
				sqlite3_bind_null(q, 10);
			if (r->has_reduction)
				sqlite3_bind_double(q, 11, r->reduction_pct);
			else
				sqlite3_bind_null(q, 11);
			sqlite3_bind_double(q, 12, r->target_pct);
			sqlite3_bind_text(q, 13, r->status, -1, SQLITE_STATIC);
			if (r->reason)
				sqlite3_bind_text(q, 14, r->reason, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(q, 14);
		} else {
			for (int c = 9; c <= 14; c++)
				sqlite3_bind_null(q, c);
		}
		rc = sqlite3_step(q);
		sqlite3_reset(q);
	}
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : nf_store__table_error(st, rc, "cannot record the CPU per phase");
}

int
nf_store_phase_history(nf_store *st, const char *pipeline, const char *phase, int64_t before_run,
		       int64_t only_run, size_t limit, int64_t *cpu_ms, size_t *n)
{
	sqlite3_stmt *q = NULL;
	int rc;

	*n = 0;
	if ((rc = sqlite3_prepare_v2(st->db,
			"SELECT cpu_ms FROM cpu_phases WHERE pipeline = ?1 AND phase = ?2 AND run_id < ?3"
			" AND ran = nodes AND (?4 = 0 OR run_id = ?4) ORDER BY run_id DESC LIMIT ?5",
			-1, &q, NULL)) != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the CPU baseline");
	sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, phase, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, before_run);
	sqlite3_bind_int64(q, 4, only_run);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && *n < limit)
		cpu_ms[(*n)++] = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : nf_store__table_error(st, rc, "cannot read the CPU baseline");
}

int
nf_store_phase_series(nf_store *st, const char *pipeline, nf_phase_row **out, size_t *n)
{
	sqlite3_stmt *q = NULL;
	nf_phase_row *rows = NULL;
	size_t nrows = 0, cap = 0;
	char *sql;
	int rc;

	*out = NULL;
	*n = 0;
	if (!nf_store_has_table(st, "cpu_phases"))
		return 0;
	sql = xasprintf("SELECT c.run_id, r.logical_date, c.phase, c.nodes, c.ran, c.cached, c.cpu_ms, c.wall_ms,"
			" c.baseline, c.baseline_cpu_ms, c.reduction_pct, c.target_pct, c.status, %s"
			" FROM cpu_phases c JOIN runs r ON r.id = c.run_id WHERE c.pipeline = ?1"
			" ORDER BY c.run_id, c.phase", reason_col(st, "c."));
	rc = sqlite3_prepare_v2(st->db, sql, -1, &q, NULL);
	free(sql);
	if (rc != SQLITE_OK)
		return nf_store__table_error(st, rc, "cannot read the CPU per phase");
	sqlite3_bind_text(q, 1, pipeline, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nf_phase_row *r;

		rows = xgrow(rows, sizeof(*rows), nrows + 1, &cap);
		r = &rows[nrows++];
		memset(r, 0, sizeof(*r));
		r->run_id = sqlite3_column_int64(q, 0);
		r->logical_date = nf_store__col_strdup(q, 1);
		r->phase = nf_store__col_strdup(q, 2);
		r->nodes = sqlite3_column_int(q, 3);
		r->ran = sqlite3_column_int(q, 4);
		r->cached = sqlite3_column_int(q, 5);
		r->cpu_ms = sqlite3_column_int64(q, 6);
		r->wall_ms = sqlite3_column_int64(q, 7);
		read_budget(r, q, 8);
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE) {
		nf_phase_row_list_free(rows, nrows);
		return nf_store__table_error(st, rc, "cannot read the CPU per phase");
	}
	*out = rows;
	*n = nrows;
	return 0;
}
