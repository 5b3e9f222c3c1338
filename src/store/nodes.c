/* nodes.c: the nodes of a run, one row per attempt of each, and their metrics. Writes go
 * into the open batch; names are resolved through an in-memory map for the run being
 * written so a state change costs one UPDATE, not a lookup and an UPDATE. */
#include "config.h"
#include "ntflow/store.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ntflow/exec.h"  /* the graph and the job results it records */
#include "store-internal.h"

void
nf_node_info_release(nf_node_info *n)
{
	if (!n)
		return;
	free(n->name);
	free(n->stage);
	free(n->instance);
	free(n->kind);
	free(n->log_path);
	free(n->reason);
	*n = (nf_node_info){ 0 };
}

void
nf_node_info_list_free(nf_node_info *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nf_node_info_release(&nodes[i]);
	free(nodes);
}

void
nf_metric_list_free(nf_metric *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].node);
		free(m[i].name);
	}
	free(m);
}

static const char *
kind_name(nf_stage_kind k)
{
	switch (k) {
	case NF_GATE:    return "gate";
	case NF_MONITOR: return "monitor";
	default:         return "stage";
	}
}

/* A stored state name back to the enum; states this binary does not know read as waiting. */
static nf_state
state_parse(const char *s)
{
	for (int i = 0; s && i < NF_ST__COUNT; i++)
		if (strcmp(nf_state_name((nf_state)i), s) == 0)
			return (nf_state)i;
	return NF_ST_WAITING;
}

void
nf_store_nodes_forget(nf_store *st)
{
	if (!st)
		return;
	/* Rows still to insert name the graph too: inserted now, or dropped. */
	if (st->unwritten)
		(void)nf_store__nodes_sync(st);
	nf_nameidx_free(&st->names.ix);
	free(st->names.final);
	memset(&st->names, 0, sizeof(st->names));
}

/* The name of the node at position pos of graph g (its order's). */
static const char *
position_name(const void *g, uint32_t pos)
{
	const nf_graph *gr = g;

	return gr->nodes[gr->order ? gr->order[pos] : pos].name;
}

/* The index of g's names for run_id, whose rows start after base. */
static void
names_index(nf_store *st, int64_t run_id, const nf_graph *g, int64_t base)
{
	struct nf_store_names *ix = &st->names;

	nf_nameidx_free(&ix->ix);
	nf_nameidx_init(&ix->ix, g->nnodes, position_name, g);
	ix->g = g;
	ix->run = run_id;
	ix->base = base;
	ix->last = 0;
	free(ix->final);
	ix->final = xcalloc(g->nnodes ? g->nnodes : 1, 1);
	ix->nfinal = ix->ncached = 0;
	ix->counts_lost = false;
	for (size_t i = 0; i < g->nnodes; i++)
		nf_nameidx_add(&ix->ix, (uint32_t)i);
}

/* name's row in the index of run_id, or 0 when it has none. */
static int64_t
names_find(nf_store *st, int64_t run_id, const char *name)
{
	struct nf_store_names *ix = &st->names;
	uint32_t k;

	if (!ix->g || ix->run != run_id)
		return 0;
	if (ix->last && strcmp(position_name(ix->g, (uint32_t)(ix->last - 1)), name) == 0)
		return ix->base + (int64_t)ix->last;
	if (!(k = nf_nameidx_find(&ix->ix, name)))
		return 0;
	ix->last = k;
	return ix->base + (int64_t)k;
}

/* A node's pending state: what its UPDATEs of the batch add up to. A later call's state
 * and reason replace the earlier's; started_ms is the first running's, finished_ms the
 * last final state's (0: keep the row's). */
struct nf_store_pnode {
	int64_t id;
	nf_state state;
	int attempts;
	const char *reason;
	int64_t started_ms, finished_ms;
	int last_att;                /* patts index of its latest pending attempt, or -1 */
	bool stated;                 /* a state was given (not only a cache hit) */
	bool inserted;               /* its row was inserted with its state and hit (unwritten_write) */
	const char *hit_key;         /* a pending cache hit (nf_store__node_hit), else NULL */
	int64_t hit_reused;
	const char *miss_key;        /* a pending cache miss (nf_store__node_miss), else NULL */
	const char *miss_comps, *miss_pipeline, *miss_name;
};

/* The parameters of a row of SQL_NODE_INSERT(_MANY). */
enum { NODE_ROW_PARAMS = 16 };

/* Binds the row of node (id, its run's seq-th) from first: waiting, or what pn holds
 * (its state, attempts, reason, times and cache hit) when it is given. */
static void
bind_node(sqlite3_stmt *q, int first, int64_t id, int64_t run_id, size_t seq, const nf_node *node,
	  const struct nf_store_pnode *pn)
{
	sqlite3_bind_int64(q, first, id);
	sqlite3_bind_int64(q, first + 1, run_id);
	sqlite3_bind_int64(q, first + 2, (sqlite3_int64)seq);
	sqlite3_bind_text(q, first + 3, node->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, first + 4, node->stage->name, -1, SQLITE_STATIC);
	if (nf_node_instance(node))
		sqlite3_bind_text(q, first + 5, nf_node_instance(node), -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, first + 5);
	sqlite3_bind_text(q, first + 6, kind_name(node->stage->kind), -1, SQLITE_STATIC);
	if (nf_more(node->stage)->phase)   /* matrix and foreach instances share their stage's */
		sqlite3_bind_text(q, first + 7, nf_more(node->stage)->phase, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, first + 7);
	sqlite3_bind_text(q, first + 8, pn && pn->stated ? nf_state_name(pn->state) : "waiting", -1, SQLITE_STATIC);
	sqlite3_bind_int(q, first + 9, pn && pn->stated ? pn->attempts : 0);
	if (pn && pn->stated && pn->reason)
		sqlite3_bind_text(q, first + 10, pn->reason, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(q, first + 10);
	sqlite3_bind_int64(q, first + 11, pn && pn->stated && pn->started_ms > 0 ? pn->started_ms : 0);
	sqlite3_bind_int64(q, first + 12, pn && pn->stated && pn->finished_ms > 0 ? pn->finished_ms : 0);
	if (pn && pn->hit_key) {
		sqlite3_bind_text(q, first + 13, pn->hit_key, -1, SQLITE_STATIC);
		sqlite3_bind_int(q, first + 14, 1);
	} else {
		sqlite3_bind_null(q, first + 13);
		sqlite3_bind_int(q, first + 14, 0);
	}
	if (pn && pn->hit_key && pn->hit_reused > 0)
		sqlite3_bind_int64(q, first + 15, pn->hit_reused);
	else
		sqlite3_bind_null(q, first + 15);
}

static struct nf_store_pnode *pnode_find(nf_store *st, int64_t id);

/* Binds the unwritten row at position i (g, run_id, base: st->unwritten's) to q from
 * first; what its pending record held goes in with it (inserted). */
static void
bind_unwritten(nf_store *st, sqlite3_stmt *q, int first, const nf_graph *g, int64_t run_id, int64_t base, size_t i)
{
	int64_t id = base + 1 + (int64_t)i;
	struct nf_store_pnode *pn = pnode_find(st, id);

	bind_node(q, first, id, run_id, i, &g->nodes[g->order ? g->order[i] : i], pn);
	if (pn)
		pn->inserted = true;
}

/* Inserts the rows nf_store_nodes_add left (st->unwritten), 64 a statement, each as its
 * pending record has it; what the insert wrote of that record (its state and cache hit) is
 * then not written again. A miss's columns and the attempts are written by the sync after
 * it, as for any row. */
static int
unwritten_write(nf_store *st)
{
	const nf_graph *g = st->unwritten;
	int64_t run_id = st->unwritten_run, base = st->unwritten_base;
	sqlite3_stmt *q;
	size_t i = 0;
	int err;

	/* Cleared first: written, or a failed statement fails the batch (nf_store_flush). */
	st->unwritten = NULL;
	while (i < g->nnodes) {
		size_t n = g->nnodes - i >= NF_STORE_NODES_PER_INSERT ? NF_STORE_NODES_PER_INSERT : 1;

		if (!(q = nf_store__stmt(st, n > 1 ? SQL_NODE_INSERT_MANY : SQL_NODE_INSERT)))
			return NF_ERROR;
		for (size_t k = 0; k < n; k++)
			bind_unwritten(st, q, 1 + NODE_ROW_PARAMS * (int)k, g, run_id, base, i + k);
		if ((err = nf_store__step_done(st, q, "cannot record the run's stages")) < 0)
			return err;
		i += n;
	}
	return 0;
}

int
nf_store_nodes_add(nf_store *st, int64_t run_id, const nf_graph *g)
{
	sqlite3_stmt *q;
	int64_t base = 0;
	int rc, err;

	if ((err = nf_store__batch(st)) < 0)
		return err;
	/* The rows of an earlier call first: their ids are below this call's. */
	if (st->unwritten && (err = nf_store__nodes_sync(st)) < 0)
		return err;
	/* The row ids given, not left to SQLite: the batch's write transaction keeps other
	 * writers out until its rows are inserted (by its sync, unwritten_write), and the name
	 * map needs each row's id. */
	if (!(q = nf_store__stmt(st, SQL_NODE_MAX_ID)))
		return NF_ERROR;
	if ((rc = sqlite3_step(q)) == SQLITE_ROW)
		base = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW)
		return nf_store__error(st, rc, "cannot record the run's stages");
	if (st->names.g && st->names.run == run_id) {
		nf_store_nodes_forget(st);   /* a second graph for the run: its names are asked of SQL */
	} else {
		names_index(st, run_id, g, base);
		st->names.rows_pending = true;   /* until a commit holds the rows */
	}
	if (g->nnodes) {
		st->unwritten = g;
		st->unwritten_run = run_id;
		st->unwritten_base = base;
	}
	return 0;
}

/* What names.final holds of a node: a final state, the state "cached", its row's cached
 * column set, and whether it was ever recorded running. */
enum { NODE_FINAL = 1, NODE_STATE_CACHED = 2, NODE_COL_CACHED = 4, NODE_RAN = 8 };

/* Whether a node of these flags is cached as a fully cached run's phases count it (none
 * of its columns says it ran: nf_store_phase_totals). */
static bool
fully_cached(unsigned f)
{
	return (f & (NODE_STATE_CACHED | NODE_COL_CACHED | NODE_RAN)) == (NODE_STATE_CACHED | NODE_COL_CACHED);
}

/* Node id of run_id (a row of the run being written): flags clear cleared, set set. */
static void
note_node(nf_store *st, int64_t run_id, int64_t id, unsigned clear, unsigned set)
{
	struct nf_store_names *ix = &st->names;
	unsigned char *f;

	if (!ix->g || ix->run != run_id || id <= ix->base || id > ix->base + (int64_t)ix->g->nnodes)
		return;
	f = &ix->final[id - ix->base - 1];
	ix->nfinal -= (*f & NODE_FINAL) != 0;
	ix->ncached -= fully_cached(*f);
	*f = (unsigned char)((*f & ~clear) | set);
	ix->nfinal += (*f & NODE_FINAL) != 0;
	ix->ncached += fully_cached(*f);
}

/* Notes node id of run_id going to state. */
static void
note_final(nf_store *st, int64_t run_id, int64_t id, nf_state state)
{
	note_node(st, run_id, id, NODE_FINAL | NODE_STATE_CACHED,
		  (nf_state_is_final(state) ? NODE_FINAL : 0) | (state == NF_ST_CACHED ? NODE_STATE_CACHED : 0) |
		  (state == NF_ST_RUNNING ? NODE_RAN : 0));
}

void
nf_store__note_cached(nf_store *st, int64_t run_id, int64_t id, bool cached)
{
	note_node(st, run_id, id, NODE_COL_CACHED, cached ? NODE_COL_CACHED : 0);
}

bool
nf_store__all_cached(const nf_store *st, int64_t run_id)
{
	const struct nf_store_names *ix = &st->names;

	return ix->g && ix->run == run_id && !ix->counts_lost && ix->g->nnodes && ix->ncached == ix->g->nnodes;
}

bool
nf_store__node_counts(const nf_store *st, int64_t run_id, int64_t *total, int64_t *done)
{
	const struct nf_store_names *ix = &st->names;

	if (!ix->g || ix->run != run_id || ix->counts_lost)
		return false;
	*total = (int64_t)ix->g->nnodes;
	*done = (int64_t)ix->nfinal;
	return true;
}

/* The row id of a node of a run: from the map for the run being written, else by SQL. */
int
nf_store__node_id(nf_store *st, int64_t run_id, const char *name, int64_t *id)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	if ((*id = names_find(st, run_id, name)) > 0)
		return 0;
	if (!(q = nf_store__stmt(st, SQL_NODE_ID)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(q, 0);
	else if (rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "run %lld has no stage '%s'", (long long)run_id, name);
	else
		err = nf_store__error(st, rc, "cannot find the stage");
	sqlite3_reset(q);
	return err;
}

/* What an ended attempt is recorded as. The scheduler reports a failed attempt that will
 * be retried as the node going to "retrying"; the attempt itself failed or timed out. */
static const char *
attempt_outcome(nf_state state, const char *reason)
{
	if (state != NF_ST_RETRYING)
		return nf_state_name(state);
	if (reason && strncmp(reason, "timed out", 9) == 0)
		return nf_state_name(NF_ST_TIMED_OUT);
	return nf_state_name(NF_ST_FAILED);
}

/* An attempt's pending upsert: each field given by a call replaces the earlier one, as
 * the upsert's coalesce() would have (PA_* say which are given). */
enum { PA_START = 1, PA_FINISH = 2, PA_EXIT = 4, PA_SIGNAL = 8, PA_RES = 16, PA_LOG = 32, PA_PGID = 64 };
struct nf_store_patt {
	int64_t node_id;
	int attempt;
	int prev;                    /* the node's previous pending attempt, or -1 */
	unsigned set;
	const char *state, *log_path, *reason;
	int64_t started_ms, finished_ms, wall_ms, user_ms, sys_ms, max_rss_kb, pgid;
	int exit_code, term_signal;
};

static size_t
pindex_slot(int64_t id, size_t cap)
{
	return (size_t)(((uint64_t)id * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static void
pindex_put(nf_store *st, size_t i)
{
	size_t k = pindex_slot(st->pnodes[i].id, st->pindex_cap);

	while (st->pindex[k])
		k = (k + 1) & (st->pindex_cap - 1);
	st->pindex[k] = (uint32_t)i + 1;
}

/* The pending record of node id, or NULL. */
static struct nf_store_pnode *
pnode_find(nf_store *st, int64_t id)
{
	if (!st->pindex_cap)
		return NULL;
	for (size_t k = pindex_slot(id, st->pindex_cap); st->pindex[k]; k = (k + 1) & (st->pindex_cap - 1))
		if (st->pnodes[st->pindex[k] - 1].id == id)
			return &st->pnodes[st->pindex[k] - 1];
	return NULL;
}

/* The pending record of node id, made (as "keep everything") when there is none. */
static struct nf_store_pnode *
pnode_get(nf_store *st, int64_t id)
{
	struct nf_store_pnode *pn = pnode_find(st, id);

	if (pn)
		return pn;
	if (2 * (st->npnodes + 1) > st->pindex_cap) {   /* keep the table at most half full */
		free(st->pindex);
		st->pindex_cap = st->pindex_cap ? 2 * st->pindex_cap : 256;
		st->pindex = xcalloc(st->pindex_cap, sizeof(*st->pindex));
		for (size_t i = 0; i < st->npnodes; i++)
			pindex_put(st, i);
	}
	st->pnodes = xgrow(st->pnodes, sizeof(*st->pnodes), st->npnodes + 1, &st->pnodes_cap);
	st->pnodes[st->npnodes] = (struct nf_store_pnode){ .id = id, .last_att = -1 };
	pindex_put(st, st->npnodes);
	return &st->pnodes[st->npnodes++];
}

static struct nf_store_patt *
patt_get(nf_store *st, struct nf_store_pnode *pn, int attempt)
{
	for (int i = pn->last_att; i >= 0; i = st->patts[i].prev)
		if (st->patts[i].attempt == attempt)
			return &st->patts[i];
	st->patts = xgrow(st->patts, sizeof(*st->patts), st->npatts + 1, &st->patts_cap);
	st->patts[st->npatts] = (struct nf_store_patt){ .node_id = pn->id, .attempt = attempt, .prev = pn->last_att };
	pn->last_att = (int)st->npatts;
	return &st->patts[st->npatts++];
}

static const char *
pending_str(nf_store *st, const char *s)
{
	if (!s)
		return NULL;
	if (!st->pending_arena)
		st->pending_arena = nf_arena_new();
	return nf_arena_strdup(st->pending_arena, s);
}

/* An attempt of node id ended: its group's start is not needed any more (the group may be
 * gone and its id taken by another). */
static void
start_forget(nf_store *st, int64_t id)
{
	size_t k = 0;

	for (size_t i = 0; i < st->nstarts; i++)
		if (st->starts[i].node_id != id)
			st->starts[k++] = st->starts[i];
	st->nstarts = k;
}

int
nf_store_node_state(nf_store *st, int64_t run_id, const char *node, nf_state state,
		    int attempt, const nf_job_result *res, const char *reason, pid_t pgid,
		    const char *log_path, int64_t now_ms)
{
	struct nf_store_pnode *pn;
	struct nf_store_patt *pa;
	int64_t id;
	int err;

	if ((err = nf_store__batch(st)) < 0 || (err = nf_store__node_id(st, run_id, node, &id)) < 0)
		return err;
	/* Nothing is written here: the record is merged into the node's pending one, which
	 * the batch writes once (nf_store__nodes_sync). */
	note_final(st, run_id, id, state);
	pn = pnode_get(st, id);
	pn->stated = true;
	pn->state = state;
	if (attempt > pn->attempts)
		pn->attempts = attempt;
	pn->reason = pending_str(st, reason);
	if (now_ms > 0 && state == NF_ST_RUNNING && pn->started_ms == 0)
		pn->started_ms = now_ms;
	if (now_ms > 0 && nf_state_is_final(state))
		pn->finished_ms = now_ms;

	/* An attempt row is born when the attempt starts and completed when it ends; the
	 * upsert also covers a runner that reports an end without a start. */
	if (attempt < 1 || (state != NF_ST_RUNNING && !res))
		return 0;
	pa = patt_get(st, pn, attempt);
	if (res) {
		pa->state = attempt_outcome(state, reason);
		if (now_ms > 0) {
			pa->finished_ms = now_ms;
			pa->set |= PA_FINISH;
		}
		if (res->exited) {
			pa->exit_code = res->exit_code;
			pa->set |= PA_EXIT;
		} else {
			pa->term_signal = res->term_signal;
			pa->set |= PA_SIGNAL;
		}
		pa->wall_ms = res->wall_ms;
		pa->user_ms = res->user_ms;
		pa->sys_ms = res->sys_ms;
		pa->max_rss_kb = res->max_rss_kb;
		pa->set |= PA_RES;
		if (reason)
			pa->reason = pending_str(st, reason);
	} else {
		pa->state = nf_state_name(NF_ST_RUNNING);
		if (now_ms > 0) {
			pa->started_ms = now_ms;
			pa->set |= PA_START;
		}
	}
	if (log_path) {
		pa->log_path = pending_str(st, log_path);
		pa->set |= PA_LOG;
	}
	if (pgid > 0) {
		pa->pgid = pgid;
		pa->set |= PA_PGID;
	}
	if (pgid > 0 && !res) {
		st->starts = xgrow(st->starts, sizeof(*st->starts), st->nstarts + 1, &st->starts_cap);
		st->starts[st->nstarts++] = (struct nf_store_start){ id, attempt, pgid };
	} else if (res) {
		start_forget(st, id);
	}
	return 0;
}

void
nf_store__node_hit(nf_store *st, int64_t id, const char *key, int64_t reused_run)
{
	struct nf_store_pnode *pn = pnode_get(st, id);

	pn->hit_key = pending_str(st, key);
	pn->hit_reused = reused_run;
	pn->miss_key = NULL;
}

void
nf_store__node_miss(nf_store *st, int64_t id, const char *key, const char *components,
		    const char *pipeline, const char *name)
{
	struct nf_store_pnode *pn = pnode_get(st, id);

	pn->hit_key = NULL;
	pn->miss_key = pending_str(st, key);
	pn->miss_comps = pending_str(st, components);
	pn->miss_pipeline = pending_str(st, pipeline);
	pn->miss_name = pending_str(st, name);
}

void
nf_store__node_hit_forget(nf_store *st, int64_t id)
{
	struct nf_store_pnode *pn = pnode_find(st, id);

	if (pn) {
		pn->hit_key = NULL;
		pn->miss_key = NULL;
	}
}

/* A hit without a state yet (the batch synced between the two): its columns alone. */
static int
hit_write(nf_store *st, const struct nf_store_pnode *pn)
{
	sqlite3_stmt *q;

	if (!(q = nf_store__stmt(st, SQL_NODE_CACHE)))
		return NF_ERROR;
	sqlite3_bind_text(q, 1, pn->hit_key, -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 3, 1);
	if (pn->hit_reused > 0)
		sqlite3_bind_int64(q, 4, pn->hit_reused);
	sqlite3_bind_int64(q, 6, pn->id);
	st->state_writes++;
	return nf_store__step_done(st, q, "cannot record the stage's cache key");
}

int
nf_store__node_first_keyed(nf_store *st, int64_t id)
{
	sqlite3_stmt *q;

	if (!(q = nf_store__stmt(st, SQL_NODE_FIRST_KEYED)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, id);
	return nf_store__step_done(st, q, "cannot record the stage's cache key");
}

/* The same for a miss: SQL_NODE_CACHE_MISS, as nf_store_node_cache_miss wrote it before. */
static int
miss_write(nf_store *st, const struct nf_store_pnode *pn)
{
	sqlite3_stmt *q;
	int err;

	if (!(q = nf_store__stmt(st, SQL_NODE_CACHE_MISS)))
		return NF_ERROR;
	sqlite3_bind_text(q, 1, pn->miss_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, pn->miss_comps, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, pn->miss_pipeline, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, pn->miss_name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 5, pn->id);
	st->state_writes++;
	if ((err = nf_store__step_done(st, q, "cannot record the stage's cache key")) < 0)
		return err;
	return nf_store__node_first_keyed(st, pn->id);
}

static int
pnode_write(nf_store *st, const struct nf_store_pnode *pn)
{
	sqlite3_stmt *q;
	int err;
	nf_sql_id id = pn->hit_key ? SQL_NODE_UPDATE_HIT : pn->miss_key ? SQL_NODE_UPDATE_MISS : SQL_NODE_UPDATE;

	if (pn->inserted)   /* its state and hit went in with its row: a miss's columns are left */
		return pn->miss_key ? miss_write(st, pn) : 0;
	if (!pn->stated)
		return pn->hit_key ? hit_write(st, pn) : pn->miss_key ? miss_write(st, pn) : 0;
	if (!(q = nf_store__stmt(st, id)))
		return NF_ERROR;
	if (pn->hit_key) {
		sqlite3_bind_text(q, 7, pn->hit_key, -1, SQLITE_STATIC);
		if (pn->hit_reused > 0)
			sqlite3_bind_int64(q, 8, pn->hit_reused);
	} else if (pn->miss_key) {
		sqlite3_bind_text(q, 7, pn->miss_key, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 8, pn->miss_comps, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 9, pn->miss_pipeline, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 10, pn->miss_name, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(q, 1, nf_state_name(pn->state), -1, SQLITE_STATIC);
	sqlite3_bind_int(q, 2, pn->attempts);
	if (pn->reason)
		sqlite3_bind_text(q, 3, pn->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, pn->started_ms);
	sqlite3_bind_int64(q, 5, pn->finished_ms);
	sqlite3_bind_int64(q, 6, pn->id);
	st->state_writes++;
	if ((err = nf_store__step_done(st, q, "cannot record a stage's state")) < 0 || !pn->miss_key)
		return err;
	return nf_store__node_first_keyed(st, pn->id);
}

/* Unbound parameters are NULL, which the upsert reads as "keep". */
static int
patt_write(nf_store *st, const struct nf_store_patt *pa)
{
	sqlite3_stmt *q;

	if (!(q = nf_store__stmt(st, SQL_ATTEMPT_UPSERT)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, pa->node_id);
	sqlite3_bind_int(q, 2, pa->attempt);
	sqlite3_bind_text(q, 3, pa->state, -1, SQLITE_STATIC);
	if (pa->set & PA_START)
		sqlite3_bind_int64(q, 4, pa->started_ms);
	if (pa->set & PA_FINISH)
		sqlite3_bind_int64(q, 5, pa->finished_ms);
	if (pa->set & PA_EXIT)
		sqlite3_bind_int(q, 6, pa->exit_code);
	if (pa->set & PA_SIGNAL)
		sqlite3_bind_int(q, 7, pa->term_signal);
	if (pa->set & PA_RES) {
		sqlite3_bind_int64(q, 8, pa->wall_ms);
		sqlite3_bind_int64(q, 9, pa->user_ms);
		sqlite3_bind_int64(q, 10, pa->sys_ms);
		sqlite3_bind_int64(q, 11, pa->max_rss_kb);
	}
	if (pa->set & PA_LOG)
		sqlite3_bind_text(q, 12, pa->log_path, -1, SQLITE_STATIC);
	if (pa->set & PA_PGID)
		sqlite3_bind_int64(q, 13, pa->pgid);
	if (pa->reason)
		sqlite3_bind_text(q, 15, pa->reason, -1, SQLITE_STATIC);
	st->state_writes++;
	return nf_store__step_done(st, q, "cannot record an attempt");
}

int
nf_store__nodes_sync(nf_store *st)
{
	int err = 0;

	if (st->unwritten && (err = unwritten_write(st)) < 0) {
		nf_store__nodes_drop(st);
		return err;
	}
	if (st->npnodes == 0)
		return 0;
	for (size_t i = 0; i < st->npnodes && err == 0; i++)
		err = pnode_write(st, &st->pnodes[i]);
	for (size_t i = 0; i < st->npatts && err == 0; i++)
		err = patt_write(st, &st->patts[i]);
	/* Written or failed: a failed statement fails the batch (nf_store_flush sees it
	 * rolled back), so the records are not kept for a retry either way. */
	nf_store__nodes_drop(st);
	return err;
}

void
nf_store__nodes_drop(nf_store *st)
{
	if (st->npnodes)
		memset(st->pindex, 0, st->pindex_cap * sizeof(*st->pindex));
	st->npnodes = 0;
	st->unwritten = NULL;   /* a batch rolled back: the rows are gone with it */
	st->npatts = 0;
	if (st->pending_arena)
		nf_arena_reset(st->pending_arena);
}

void
nf_store__nodes_free(nf_store *st)
{
	free(st->pnodes);
	free(st->patts);
	free(st->pindex);
	nf_arena_free(st->pending_arena);
}

unsigned long
nf_store_state_writes(const nf_store *st)
{
	return st->state_writes;
}

int
nf_store__starts_write(nf_store *st)
{
	sqlite3_stmt *q;
	int err = 0;

	for (size_t i = 0; i < st->nstarts && err == 0; i++) {
		const struct nf_store_start *s = &st->starts[i];
		int64_t start = nf_store__proc_start(s->pgid);

		if (start == 0)
			continue;   /* gone (not yet reaped) or no /proc: recovery judges without it */
		if (!(q = nf_store__stmt(st, SQL_ATTEMPT_START))) {
			err = NF_ERROR;
			break;
		}
		sqlite3_bind_int64(q, 1, start);
		sqlite3_bind_int64(q, 2, s->node_id);
		sqlite3_bind_int(q, 3, s->attempt);
		sqlite3_bind_int64(q, 4, s->pgid);
		err = nf_store__step_done(st, q, "cannot record an attempt");
	}
	st->nstarts = 0;
	return err;
}

void
nf_store__starts_drop(nf_store *st)
{
	st->nstarts = 0;
}

/* Fills n from a row of SQL_NODE_LIST / SQL_ATTEMPT_LIST (same column order). */
static void
node_from_row(nf_node_info *n, sqlite3_stmt *q)
{
	n->name = nf_store__col_strdup(q, 0);
	n->stage = nf_store__col_strdup(q, 1);
	n->instance = nf_store__col_strdup(q, 2);
	n->kind = nf_store__col_strdup(q, 3);
	n->state = state_parse((const char *)sqlite3_column_text(q, 4));
	n->attempts = sqlite3_column_int(q, 5);
	n->exit_code = sqlite3_column_type(q, 6) == SQLITE_NULL ? -1 : sqlite3_column_int(q, 6);
	n->term_signal = sqlite3_column_int(q, 7);
	n->started_ms = sqlite3_column_int64(q, 8);
	n->finished_ms = sqlite3_column_int64(q, 9);
	n->wall_ms = sqlite3_column_int64(q, 10);
	n->user_ms = sqlite3_column_int64(q, 11);
	n->sys_ms = sqlite3_column_int64(q, 12);
	n->max_rss_kb = (long)sqlite3_column_int64(q, 13);
	n->log_path = nf_store__col_strdup(q, 14);
	n->reason = nf_store__col_strdup(q, 15);
	n->pgid = (pid_t)sqlite3_column_int64(q, 16);
}

/* Runs a node query with its parameters bound and collects the rows. */
static int
collect_nodes(nf_store *st, sqlite3_stmt *q, nf_node_info **out, size_t *n)
{
	nf_node_info *nodes = NULL;
	size_t count = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		nodes = xgrow(nodes, sizeof(*nodes), count + 1, &cap);
		nodes[count] = (nf_node_info){ 0 };
		node_from_row(&nodes[count++], q);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		nf_node_info_list_free(nodes, count);
		return nf_store__error(st, rc, "cannot read the run's stages");
	}
	*out = nodes;
	*n = count;
	return 0;
}

int
nf_store_node_list(nf_store *st, int64_t run_id, nf_node_info **out, size_t *n)
{
	sqlite3_stmt *q;

	*out = NULL;
	*n = 0;
	if (!(q = nf_store__stmt(st, SQL_NODE_LIST)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	return collect_nodes(st, q, out, n);
}

int
nf_store_node_get(nf_store *st, int64_t run_id, const char *node, nf_node_info *out)
{
	sqlite3_stmt *q;
	int rc, err = 0;

	*out = (nf_node_info){ 0 };
	if (!(q = nf_store__stmt(st, SQL_NODE_GET)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_text(q, 2, node, -1, SQLITE_STATIC);
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		node_from_row(out, q);
	else if (rc == SQLITE_DONE)
		err = nf_error_set(NF_ENOTFOUND, "run %lld has no stage '%s'", (long long)run_id, node);
	else
		err = nf_store__error(st, rc, "cannot read the stage");
	sqlite3_reset(q);
	return err;
}

int
nf_store_attempt_list(nf_store *st, int64_t run_id, const char *node, nf_node_info **out, size_t *n)
{
	sqlite3_stmt *q;

	*out = NULL;
	*n = 0;
	if (!(q = nf_store__stmt(st, SQL_ATTEMPT_LIST)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	sqlite3_bind_text(q, 2, node, -1, SQLITE_STATIC);
	return collect_nodes(st, q, out, n);
}

int
nf_store_metric_put(nf_store *st, int64_t run_id, const char *node, const char *name, double value)
{
	sqlite3_stmt *q;
	int64_t id;
	int err;

	if (!isfinite(value))
		return nf_error_set(NF_EINVALID, "metric '%s' of stage '%s' is not a finite number",
				    name, node);
	if ((err = nf_store__batch(st)) < 0 || (err = nf_store__node_id(st, run_id, node, &id)) < 0)
		return err;
	if (!(q = nf_store__stmt(st, SQL_METRIC_PUT)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(q, 3, value);
	return nf_store__step_done(st, q, "cannot record a metric");
}

int
nf_store_metric_list(nf_store *st, int64_t run_id, nf_metric **out, size_t *n)
{
	sqlite3_stmt *q;
	nf_metric *m = NULL;
	size_t count = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!(q = nf_store__stmt(st, SQL_METRIC_LIST)))
		return NF_ERROR;
	sqlite3_bind_int64(q, 1, run_id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		m = xgrow(m, sizeof(*m), count + 1, &cap);
		m[count].node = nf_store__col_strdup(q, 0);
		m[count].name = nf_store__col_strdup(q, 1);
		m[count].value = sqlite3_column_double(q, 2);
		count++;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		nf_metric_list_free(m, count);
		return nf_store__error(st, rc, "cannot read the run's metrics");
	}
	*out = m;
	*n = count;
	return 0;
}
