/* check_store_coalesce.c: unit tests of the coalesced node-state writes: the changes of a
 * node within one batch cost one node UPDATE and one attempt upsert, reads within the
 * batch see them, a commit writes them and a rollback forgets them; a cache hit's or miss's
 * columns go with the node's state in the same UPDATE; a run's rows go in with its first
 * batch, a node cached by then in one INSERT. */
#include "config.h"
#include "ntflow/store.h"
#include "ntflow/exec.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-fixture.h"

/* Three independent stages a, b, c. */
typedef struct test_graph {
	nf_stage stage;
	nf_node nodes[3];
	nf_graph g;
} test_graph;

static void
graph_init(test_graph *t)
{
	memset(t, 0, sizeof(*t));
	t->stage = (nf_stage){ .kind = NF_STAGE, .name = "s" };
	t->nodes[0] = (nf_node){ .id = 0, .stage = &t->stage, .name = "a" };
	t->nodes[1] = (nf_node){ .id = 1, .stage = &t->stage, .name = "b" };
	t->nodes[2] = (nf_node){ .id = 2, .stage = &t->stage, .name = "c" };
	t->g = (nf_graph){ .nodes = t->nodes, .nnodes = 3 };
}

static int64_t
begin(nf_store *st, test_graph *t)
{
	nf_run_info info = { .pipeline = (char *)"p", .file = (char *)"p.dag", .trigger = (char *)"manual" };

	ck_assert_int_eq(nf_store_run_begin(st, &info), 0);
	ck_assert_int_eq(nf_store_nodes_add(st, info.id, &t->g), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	return info.id;
}

/* One number read through a connection of its own (as another process would read it). */
static int64_t
raw_int(const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return v;
}

static const nf_job_result ok = { .exited = true, .exit_code = 0, .wall_ms = 7, .user_ms = 2, .sys_ms = 1,
				  .max_rss_kb = 512 };

/* A stage's life: ready, running (attempt 1), succeeded. */
static void
life(nf_store *st, int64_t run, const char *name, int64_t t0)
{
	char log[32];

	snprintf(log, sizeof(log), "logs/%s.1.log", name);
	ck_assert_int_eq(nf_store_node_state(st, run, name, NF_ST_READY, 0, NULL, NULL, 0, NULL, t0), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, name, NF_ST_RUNNING, 1, NULL, NULL, 4000 + (pid_t)t0, log,
					     t0 + 1), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, name, NF_ST_SUCCEEDED, 1, &ok, NULL, 0, NULL, t0 + 9), 0);
}

START_TEST(test_one_update_per_node_and_batch)
{
	nf_store *st = NULL, *other = NULL;
	test_graph t;
	nf_node_info *nodes, *att;
	size_t n, na;
	unsigned long w0;
	int64_t run;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin(st, &t);
	w0 = nf_store_state_writes(st);
	life(st, run, "a", 100);
	life(st, run, "b", 200);
	life(st, run, "c", 300);
	/* Nine changes, nothing written yet: the batch writes them at its commit. */
	ck_assert_uint_eq(nf_store_state_writes(st) - w0, 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	/* One node UPDATE and one attempt upsert per node, not one per change (15). */
	ck_assert_uint_eq(nf_store_state_writes(st) - w0, 6);

	/* What another process reads is what the nine statements would have left. */
	ck_assert_int_eq(nf_store_open(&other, dbpath, false), 0);
	ck_assert_int_eq(nf_store_node_list(other, run, &nodes, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t i = 0; i < n; i++) {
		int64_t t0 = 100 * (int64_t)(i + 1);

		ck_assert_int_eq(nodes[i].state, NF_ST_SUCCEEDED);
		ck_assert_int_eq(nodes[i].attempts, 1);
		ck_assert_int_eq(nodes[i].started_ms, t0 + 1);
		ck_assert_int_eq(nodes[i].finished_ms, t0 + 9);
		ck_assert_int_eq(nodes[i].exit_code, 0);
		ck_assert_int_eq(nodes[i].wall_ms, 7);
		ck_assert_int_eq(nodes[i].max_rss_kb, 512);
		ck_assert_int_eq(nodes[i].pgid, 4000 + t0);
		ck_assert_ptr_nonnull(nodes[i].log_path);
		ck_assert_ptr_null(nodes[i].reason);
	}
	ck_assert_str_eq(nodes[1].log_path, "logs/b.1.log");
	nf_node_info_list_free(nodes, n);
	ck_assert_int_eq(nf_store_attempt_list(other, run, "c", &att, &na), 0);
	ck_assert_uint_eq(na, 1);
	ck_assert_int_eq(att[0].state, NF_ST_SUCCEEDED);
	ck_assert_int_eq(att[0].started_ms, 301);
	ck_assert_int_eq(att[0].finished_ms, 309);
	nf_node_info_list_free(att, na);
	nf_store_close(other);
	nf_store_close(st);
}
END_TEST

START_TEST(test_reads_see_pending)
{
	nf_store *st = NULL;
	test_graph t;
	nf_node_info info, *nodes;
	size_t n;
	unsigned long w0;
	int64_t run;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin(st, &t);
	w0 = nf_store_state_writes(st);
	ck_assert_int_eq(nf_store_node_state(st, run, "a", NF_ST_RUNNING, 1, NULL, NULL, 77, "l", 10), 0);
	/* A read in the same batch sees the change: the pending records are written first. */
	ck_assert_int_eq(nf_store_node_get(st, run, "a", &info), 0);
	ck_assert_int_eq(info.state, NF_ST_RUNNING);
	ck_assert_int_eq(info.pgid, 77);
	nf_node_info_release(&info);
	ck_assert_uint_eq(nf_store_state_writes(st) - w0, 2);
	ck_assert_int_eq(nf_store_node_state(st, run, "a", NF_ST_FAILED, 1, &ok, "exit 1", 0, NULL, 20), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "b", NF_ST_SKIPPED, 0, NULL, "needs failed stage a", 0,
					     NULL, 20), 0);
	ck_assert_int_eq(nf_store_node_list(st, run, &nodes, &n), 0);
	ck_assert_int_eq(nodes[0].state, NF_ST_FAILED);
	ck_assert_str_eq(nodes[0].reason, "exit 1");
	ck_assert_int_eq(nodes[1].state, NF_ST_SKIPPED);
	ck_assert_int_eq(nodes[1].finished_ms, 20);
	nf_node_info_list_free(nodes, n);
	ck_assert_uint_eq(nf_store_state_writes(st) - w0, 5);
	/* Nothing is left to write at the commit. */
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_uint_eq(nf_store_state_writes(st) - w0, 5);
	nf_store_close(st);
}
END_TEST

START_TEST(test_abort_forgets_pending)
{
	nf_store *st = NULL;
	test_graph t;
	nf_node_info info;
	unsigned long w0;
	int64_t run;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin(st, &t);
	w0 = nf_store_state_writes(st);
	ck_assert_int_eq(nf_store_node_state(st, run, "a", NF_ST_RUNNING, 1, NULL, NULL, 5, "l", 10), 0);
	nf_store_abort(st);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_uint_eq(nf_store_state_writes(st) - w0, 0);
	ck_assert_int_eq(nf_store_node_get(st, run, "a", &info), 0);
	ck_assert_int_eq(info.state, NF_ST_WAITING);
	nf_node_info_release(&info);
	/* A clean close keeps what is pending, as it keeps the rest of the batch. */
	ck_assert_int_eq(nf_store_node_state(st, run, "c", NF_ST_CANCELLED, 0, NULL, NULL, 0, NULL, 30), 0);
	nf_store_close(st);
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(nf_store_node_get(st, run, "c", &info), 0);
	ck_assert_int_eq(info.state, NF_ST_CANCELLED);
	nf_node_info_release(&info);
	nf_store_close(st);
}
END_TEST

/* A cache hit (the cached rerun's only record per stage besides its state) and the node's
 * cached state: one row write at the commit, with every column as two writes left them. */
START_TEST(test_cache_hit_with_state)
{
	nf_store *st = NULL, *other = NULL;
	test_graph t;
	nf_node_info info;
	nf_node_cache_info ci;
	unsigned long w0;
	int64_t run;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin(st, &t);
	w0 = nf_store_state_writes(st);
	/* a: cached, reusing run 1 */
	ck_assert_int_eq(nf_store_node_cache(st, run, "a", "k-a", NULL, true, 1, NULL), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "a", NF_ST_CACHED, 0, NULL, "reused run 1", 0, NULL, 50), 0);
	/* b: a hit replaced by a miss in the same batch (the later write wins) */
	ck_assert_int_eq(nf_store_node_cache(st, run, "b", "k-b", NULL, true, 1, NULL), 0);
	ck_assert_int_eq(nf_store_node_cache(st, run, "b", "k-b2", "{}", false, 0, "forced"), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "b", NF_ST_SUCCEEDED, 1, &ok, NULL, 0, NULL, 60), 0);
	/* c: a hit whose state comes in a later batch */
	ck_assert_int_eq(nf_store_node_cache(st, run, "c", "k-c", NULL, true, 1, NULL), 0);
	/* b's miss was written at once (1); then a's hit with its state in one UPDATE (1, not
	 * 2), b's state and its attempt (2), c's hit alone (1) */
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_uint_eq(nf_store_state_writes(st) - w0, 1 + 1 + 2 + 1);

	ck_assert_int_eq(nf_store_open(&other, dbpath, false), 0);
	ck_assert_int_eq(nf_store_node_get(other, run, "a", &info), 0);
	ck_assert_int_eq(info.state, NF_ST_CACHED);
	ck_assert_int_eq(info.finished_ms, 50);
	ck_assert_str_eq(info.reason, "reused run 1");
	nf_node_info_release(&info);
	ck_assert_int_eq(nf_store_node_cache_get(other, run, "a", &ci), 0);
	ck_assert_str_eq(ci.key, "k-a");
	ck_assert(ci.cached);
	ck_assert_int_eq(ci.reused_run, 1);
	ck_assert_ptr_null(ci.components);
	nf_node_cache_info_release(&ci);
	ck_assert_int_eq(nf_store_node_cache_get(other, run, "b", &ci), 0);
	ck_assert_str_eq(ci.key, "k-b2");
	ck_assert(!ci.cached);
	ck_assert_int_eq(ci.reused_run, 0);
	ck_assert_str_eq(ci.miss_reason, "forced");
	nf_node_cache_info_release(&ci);
	ck_assert_int_eq(nf_store_node_get(other, run, "c", &info), 0);
	ck_assert_int_eq(info.state, NF_ST_WAITING);
	nf_node_info_release(&info);
	ck_assert_int_eq(nf_store_node_cache_get(other, run, "c", &ci), 0);
	ck_assert_str_eq(ci.key, "k-c");
	ck_assert(ci.cached);
	nf_node_cache_info_release(&ci);
	nf_store_close(other);
	nf_store_close(st);
}
END_TEST

/* A miss (key, components, the earlier run it is compared with) goes with the node's state
 * in one UPDATE; one whose state comes in a later batch is written alone; one replaced by a
 * hit before the sync is not written; reads of the batch see it. nf_store_cache_any tells
 * whether the store holds any cache entry (a first run's lookups are skipped when not). */
START_TEST(test_cache_miss_with_state)
{
	nf_store *st = NULL, *other = NULL;
	test_graph t;
	nf_node_cache_info ci;
	nf_cache_entry e = { .key = "k-0", .node = "a", .outputs_json = "[]", .out_digest = "out:x",
			     .metrics_json = "{}", .components = "{}", .created_ms = 1 };
	unsigned long w0;
	int64_t r1, run;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(nf_store_cache_any(st), 0);
	/* An earlier run where a succeeded with key k-0: the run a miss is compared with. */
	r1 = begin(st, &t);
	ck_assert_int_eq(nf_store_node_cache_miss(st, r1, "a", "k-0", "{}", "p"), 0);
	ck_assert_int_eq(nf_store_node_state(st, r1, "a", NF_ST_SUCCEEDED, 1, &ok, NULL, 0, NULL, 5), 0);
	e.run_id = r1;
	ck_assert_int_eq(nf_store_cache_put(st, "p", &e), 0);
	ck_assert_int_eq(nf_store_run_end(st, r1, NF_RUN_SUCCEEDED), 0);
	ck_assert_int_eq(nf_store_cache_any(st), 1);

	run = begin(st, &t);
	w0 = nf_store_state_writes(st);
	/* a: a miss, then it runs and succeeds in the same batch */
	ck_assert_int_eq(nf_store_node_cache_miss(st, run, "a", "k-a", "{\"x\":1}", "p"), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "a", NF_ST_RUNNING, 1, NULL, NULL, 0, "l", 10), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "a", NF_ST_SUCCEEDED, 1, &ok, NULL, 0, NULL, 20), 0);
	/* b: a miss replaced by a hit before the sync */
	ck_assert_int_eq(nf_store_node_cache_miss(st, run, "b", "k-b", "{}", "p"), 0);
	ck_assert_int_eq(nf_store_node_cache(st, run, "b", "k-b", NULL, true, r1, NULL), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "b", NF_ST_CACHED, 0, NULL, NULL, 0, NULL, 30), 0);
	/* c: a miss whose state comes in a later batch */
	ck_assert_int_eq(nf_store_node_cache_miss(st, run, "c", "k-c", "{}", "p"), 0);
	/* a read of the batch sees a's miss */
	ck_assert_int_eq(nf_store_node_cache_get(st, run, "a", &ci), 0);
	ck_assert_str_eq(ci.key, "k-a");
	ck_assert(!ci.cached);
	nf_node_cache_info_release(&ci);
	ck_assert_int_eq(nf_store_flush(st), 0);
	/* a: its state with its miss (1) and its attempt (1); b: its state with its hit (1);
	 * c: its miss alone (1) */
	ck_assert_uint_eq(nf_store_state_writes(st) - w0, 2 + 1 + 1);

	ck_assert_int_eq(nf_store_open(&other, dbpath, false), 0);
	ck_assert_int_eq(nf_store_node_cache_get(other, run, "a", &ci), 0);
	ck_assert_str_eq(ci.key, "k-a");
	ck_assert_str_eq(ci.components, "{\"x\":1}");
	ck_assert(!ci.cached);
	nf_node_cache_info_release(&ci);
	ck_assert_int_eq(raw_int("SELECT miss_prev_run FROM nodes WHERE cache_key = 'k-a'"), r1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM nodes WHERE cache_key = 'k-a' AND state = 'succeeded'"), 1);
	ck_assert_int_eq(nf_store_node_cache_get(other, run, "b", &ci), 0);
	ck_assert(ci.cached);
	ck_assert_int_eq(ci.reused_run, r1);
	nf_node_cache_info_release(&ci);
	ck_assert_int_eq(raw_int("SELECT miss_prev_run FROM nodes WHERE cache_key = 'k-c'"), 0);
	nf_store_close(other);
	ck_assert_int_eq(nf_store_cache_delete(st, "k-0"), 0);
	ck_assert_int_eq(nf_store_cache_any(st), 0);
	nf_store_close(st);
}
END_TEST

/* A pending hit is seen by a read of the same batch, and by the run's cache keys (what gc
 * keeps). */
static void
count_key(void *ctx, const char *key)
{
	(void)key;
	(*(int *)ctx)++;
}

START_TEST(test_cache_hit_reads_see_pending)
{
	nf_store *st = NULL;
	test_graph t;
	nf_node_cache_info ci;
	int keys = 0;
	int64_t run;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin(st, &t);
	ck_assert_int_eq(nf_store_node_cache(st, run, "a", "k-a", NULL, true, 1, NULL), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "a", NF_ST_CACHED, 0, NULL, NULL, 0, NULL, 50), 0);
	ck_assert_int_eq(nf_store_node_cache(st, run, "b", "k-b", NULL, true, 1, NULL), 0);
	ck_assert_int_eq(nf_store_node_cache_get(st, run, "a", &ci), 0);
	ck_assert_str_eq(ci.key, "k-a");
	ck_assert(ci.cached);
	nf_node_cache_info_release(&ci);
	ck_assert_int_eq(nf_store_run_cache_keys(st, run, count_key, &keys), 0);
	ck_assert_int_eq(keys, 2);
	ck_assert_int_eq(nf_store_flush(st), 0);
	nf_store_close(st);
}
END_TEST

/* The rows of a run go in with its first batch, each as its node is by then: nodes found
 * cached before the commit are inserted with their state and hit, with no UPDATE (one
 * each before); a metric (a foreign key to its node's row) and a read within the batch
 * see the rows; a node still waiting is inserted waiting. 130 nodes: two statements of
 * 64 rows and two of one. */
START_TEST(test_rows_written_once)
{
	enum { N = 130 };
	nf_store *st = NULL, *other = NULL;
	nf_stage stage = { .kind = NF_STAGE, .name = "s" };
	nf_node nodes[N];
	char names[N][8];
	nf_graph g = { .nodes = nodes, .nnodes = N };
	nf_run_info run = { .pipeline = (char *)"p", .file = (char *)"p.dag", .trigger = (char *)"manual" };
	nf_node_info *got, info;
	nf_node_cache_info ci;
	nf_metric *m;
	size_t n, nm;
	unsigned long w0;

	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "n%03d", i);
		nodes[i] = (nf_node){ .id = (uint32_t)i, .stage = &stage, .name = names[i] };
	}
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(nf_store_run_begin(st, &run), 0);
	ck_assert_int_eq(nf_store_nodes_add(st, run.id, &g), 0);
	w0 = nf_store_state_writes(st);
	for (int i = 0; i < N - 2; i++) {
		nf_cache_entry e;

		/* a run's cache lookup reads no node: the rows wait (cache_entries.metrics is a
		 * column; nf_store_cache_get, which may read an entry's components from its node's
		 * row, writes them first) */
		ck_assert_int_eq(nf_store_cache_hit(st, "k", &e), NF_ENOTFOUND);
		ck_assert_int_eq(nf_store_node_cache(st, run.id, names[i], "k", NULL, true, 1, NULL), 0);
		ck_assert_int_eq(nf_store_node_state(st, run.id, names[i], NF_ST_CACHED, 0, NULL, "reused", 0, NULL,
						     1000 + i), 0);
	}
	/* the next to last runs; the last is still waiting at the commit */
	ck_assert_int_eq(nf_store_node_state(st, run.id, names[N - 2], NF_ST_RUNNING, 1, NULL, NULL, 0, NULL, 77), 0);
	ck_assert_int_eq(nf_store_metric_put(st, run.id, names[3], "acc", 0.5), 0);
	ck_assert_int_eq(nf_store_metric_list(st, run.id, &m, &nm), 0);
	ck_assert_uint_eq(nm, 1);
	nf_metric_list_free(m, nm);
	ck_assert_int_eq(nf_store_flush(st), 0);
	/* the attempt of the running node only: no node row UPDATE */
	ck_assert_uint_eq(nf_store_state_writes(st) - w0, 1);

	ck_assert_int_eq(nf_store_open(&other, dbpath, false), 0);
	ck_assert_int_eq(nf_store_node_list(other, run.id, &got, &n), 0);
	ck_assert_uint_eq(n, N);
	for (size_t i = 0; i < N - 2; i++) {
		ck_assert_str_eq(got[i].name, names[i]);
		ck_assert_int_eq(got[i].state, NF_ST_CACHED);
		ck_assert_int_eq(got[i].finished_ms, 1000 + (int64_t)i);
		ck_assert_str_eq(got[i].reason, "reused");
	}
	ck_assert_int_eq(got[N - 2].state, NF_ST_RUNNING);
	ck_assert_int_eq(got[N - 2].started_ms, 77);
	ck_assert_int_eq(got[N - 2].attempts, 1);
	ck_assert_int_eq(got[N - 1].state, NF_ST_WAITING);
	ck_assert_int_eq(got[N - 1].attempts, 0);
	nf_node_info_list_free(got, n);
	ck_assert_int_eq(nf_store_node_cache_get(other, run.id, names[70], &ci), 0);
	ck_assert_str_eq(ci.key, "k");
	ck_assert(ci.cached);
	ck_assert_int_eq(ci.reused_run, 1);
	nf_node_cache_info_release(&ci);
	ck_assert_int_eq(nf_store_node_get(other, run.id, names[N - 1], &info), 0);
	ck_assert_int_eq(info.state, NF_ST_WAITING);
	nf_node_info_release(&info);
	nf_store_close(other);
	nf_store_close(st);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("store_coalesce");
	TCase *tc = tcase_create("coalesce");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_one_update_per_node_and_batch);
	tcase_add_test(tc, test_reads_see_pending);
	tcase_add_test(tc, test_abort_forgets_pending);
	tcase_add_test(tc, test_cache_hit_with_state);
	tcase_add_test(tc, test_cache_hit_reads_see_pending);
	tcase_add_test(tc, test_cache_miss_with_state);
	tcase_add_test(tc, test_rows_written_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
