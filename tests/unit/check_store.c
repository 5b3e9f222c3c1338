/* check_store.c: unit tests of the state database: migrations, refusing damaged or newer
 * databases, runs, nodes and attempts written in batches, metrics, crash recovery, locking,
 * the workspace lookup and the formatting helpers of the commands. */
#include "config.h"
#include "ntflow/store.h"
#include "ntflow/exec.h"
#include "ntflow/cachekey.h"

#include <check.h>
#include <fcntl.h>
#include <sys/file.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* The store's internals: these tests reach the raw database, to tamper with it as someone
 * editing state.db would, or to look at what no typed function shows. */
#include "../../src/store/store-internal.h"

/* ---- fixtures ---- */

#include "store-fixture.h"

/* Runs SQL on the file through a connection of its own (the way another process would). */
static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 2000);
	ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	sqlite3_close(db);
}

static int64_t
raw_int(nf_store *st, const char *sql)
{
	sqlite3_stmt *q;
	int64_t v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(st->db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/* A graph of three nodes built by hand: prep, then two matrix instances of tune. */
typedef struct test_graph {
	nf_stage stages[2];
	nf_node nodes[3];
	nf_node_more more[3];
	uint32_t order[3];
	nf_graph g;
} test_graph;

static void
graph_init(test_graph *t)
{
	memset(t, 0, sizeof(*t));
	t->stages[0] = (nf_stage){ .kind = NF_STAGE, .name = "prep" };
	t->stages[1] = (nf_stage){ .kind = NF_STAGE, .name = "tune", .index = 1 };
	t->nodes[0] = (nf_node){ .id = 0, .stage = &t->stages[0], .name = "prep" };
	t->more[1].instance = "lr-0.1";
	t->more[2].instance = "lr-0.2";
	t->nodes[1] = (nf_node){ .id = 1, .stage = &t->stages[1], .name = "tune[lr=0.1]", .more = &t->more[1] };
	t->nodes[2] = (nf_node){ .id = 2, .stage = &t->stages[1], .name = "tune[lr=0.2]", .more = &t->more[2] };
	/* Listed in an order different from their ids, to see the topological one kept. */
	t->order[0] = 0;
	t->order[1] = 2;
	t->order[2] = 1;
	t->g = (nf_graph){ .nodes = t->nodes, .nnodes = 3, .order = t->order };
}

static int64_t
begin_run(nf_store *st, const char *pipeline)
{
	nf_run_info info = {
		.pipeline = (char *)pipeline, .file = "p.dag", .logical_date = "2026-11-23",
		.trigger = "manual", .params_json = "{\"seed\":42}", .commit = "0123456789abcdef0123",
		.dirty = true,
	};

	ck_assert_int_eq(nf_store_run_begin(st, &info), 0);
	ck_assert_int_gt(info.id, 0);
	ck_assert_int_eq(info.status, NF_RUN_RUNNING);
	return info.id;
}

/* A pid that surely is not running any more. */
static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return pid;
}

/* ---- opening and migrations ---- */

START_TEST(test_migrate_memory)
{
	nf_store *st = NULL;

	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	ck_assert_int_ge(raw_int(st, "PRAGMA user_version"), 1);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM sqlite_master WHERE name IN "
				 "('runs','nodes','attempts','metrics')"), 4);
	ck_assert_int_eq(raw_int(st, "PRAGMA foreign_keys"), 1);
	ck_assert_ptr_nonnull(nf_store_recovered(st));
	ck_assert_ptr_null(nf_store_recovered(st)[0]);
	nf_store_close(st);
	nf_store_close(NULL);
}
END_TEST

START_TEST(test_reopen)
{
	nf_store *st = NULL;
	int64_t version, id;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	version = raw_int(st, "PRAGMA user_version");
	id = begin_run(st, "p");
	nf_store_close(st);

	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(raw_int(st, "PRAGMA user_version"), version);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM runs"), 1);
	ck_assert_int_eq(raw_int(st, "PRAGMA synchronous"), 1);   /* NORMAL */
	/* MEMORY: a many-row statement's journal does not spill to /var/tmp (issue 15) */
	ck_assert_int_eq(raw_int(st, "PRAGMA temp_store"), 2);
	{
		sqlite3_stmt *q;

		sqlite3_prepare_v2(st->db, "PRAGMA journal_mode", -1, &q, NULL);
		ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
		ck_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
		sqlite3_finalize(q);
	}
	/* The run was begun by this process, which is alive: not recovered. */
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM runs WHERE status = 'running'"), 1);
	ck_assert_int_eq(raw_int(st, "SELECT max(id) FROM runs"), id);
	nf_store_close(st);
}
END_TEST

/* Needs the NTFLOW_TEST_SCHEMA_VERSION hook: tests/Makefile.inc links this suite with
 * src/util/hook.c compiled with NF_TEST_HOOKS. */
START_TEST(test_migrate_forward)
{
	nf_store *st = NULL;
	nf_run_info r;

	/* A database as the first release left it (schema step 1 only), with a run in it. */
	setenv("NTFLOW_TEST_SCHEMA_VERSION", "1", 1);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	unsetenv("NTFLOW_TEST_SCHEMA_VERSION");
	ck_assert_int_eq(raw_int(st, "PRAGMA user_version"), 1);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'host'"), 0);
	nf_store_close(st);
	raw_exec(dbpath, "INSERT INTO runs (pipeline, started_ms, finished_ms, status)"
			 " VALUES ('old', 1, 2, 'succeeded')");

	/* Opened by this ntflow: every later step applied, the run kept. */
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_gt(raw_int(st, "PRAGMA user_version"), 1);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'host'"), 1);
	ck_assert_int_eq(nf_store_run_get(st, 1, &r), 0);
	ck_assert_str_eq(r.pipeline, "old");
	ck_assert_int_eq(r.status, NF_RUN_SUCCEEDED);
	ck_assert_ptr_null(r.interval_start);   /* recorded before runs had intervals */
	ck_assert_ptr_null(r.interval_end);
	nf_run_info_release(&r);
	nf_store_close(st);
}
END_TEST

START_TEST(test_open_missing)
{
	nf_store *st = NULL;

	ck_assert_int_eq(nf_store_open(&st, dbpath, false), NF_ENOTFOUND);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "no state database at"));
}
END_TEST

START_TEST(test_newer_schema)
{
	nf_store *st = NULL;
	char want[256];

	raw_exec(dbpath, "PRAGMA user_version = 999");
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), NF_ECORRUPT);
	ck_assert_ptr_null(st);
	snprintf(want, sizeof(want), "'%s' has schema version 999; this ntflow knows up to ", dbpath);
	ck_assert_msg(strstr(nf_error_last(), want), "%s", nf_error_last());
}
END_TEST

START_TEST(test_garbage_file)
{
	nf_store *st = NULL;
	FILE *f = fopen(dbpath, "w");

	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 64; i++)
		fputs("this is not a database, only some text\n", f);
	fclose(f);
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), NF_EDAMAGED);
	ck_assert_ptr_null(st);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), dbpath));
	ck_assert_msg(strstr(nf_error_last(), "is not an ntflow state database (file is not a database)"),
		      "%s", nf_error_last());
}
END_TEST

START_TEST(test_migration_failure_rolls_back)
{
	nf_store *st = NULL;

	/* A table in the way of step 1: the migration fails as a whole and changes nothing. */
	raw_exec(dbpath, "CREATE TABLE runs (x)");
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), NF_ERROR);
	ck_assert_msg(strstr(nf_error_last(), "cannot migrate the state database"), "%s", nf_error_last());
	raw_exec(dbpath, "DROP TABLE runs");
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	nf_store_close(st);
}
END_TEST

/* ---- runs ---- */

START_TEST(test_runs)
{
	nf_store *st = NULL;
	nf_run_info r, *list;
	int64_t id1, id2, last;
	size_t n;

	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	ck_assert_int_eq(nf_store_run_last(st, &last), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "no runs yet");
	ck_assert_int_eq(nf_store_run_list(st, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	nf_run_info_list_free(list, n);

	id1 = begin_run(st, "first");
	id2 = begin_run(st, "second");
	ck_assert_int_gt(id2, id1);
	ck_assert_int_eq(nf_store_run_end(st, id1, NF_RUN_FAILED), 0);
	ck_assert_int_eq(nf_store_run_end(st, 4242, NF_RUN_FAILED), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "no run 4242");

	ck_assert_int_eq(nf_store_run_get(st, id1, &r), 0);
	ck_assert_str_eq(r.pipeline, "first");
	ck_assert_str_eq(r.file, "p.dag");
	ck_assert_str_eq(r.logical_date, "2026-11-23");
	ck_assert_str_eq(r.trigger, "manual");
	ck_assert_str_eq(r.params_json, "{\"seed\":42}");
	ck_assert_str_eq(r.commit, "0123456789abcdef0123");
	ck_assert(r.dirty);
	ck_assert_int_eq(r.status, NF_RUN_FAILED);
	ck_assert_int_gt(r.started_ms, 0);
	ck_assert_int_ge(r.finished_ms, r.started_ms);
	ck_assert_int_eq(r.pid, getpid());
	nf_run_info_release(&r);
	nf_run_info_release(&r);   /* released twice is harmless */

	ck_assert_int_eq(nf_store_run_get(st, 99, &r), NF_ENOTFOUND);
	ck_assert_int_eq(nf_store_run_last(st, &last), 0);
	ck_assert_int_eq(last, id2);

	ck_assert_int_eq(nf_store_run_list(st, 0, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(list[0].id, id2);   /* newest first */
	ck_assert_int_eq(list[0].status, NF_RUN_RUNNING);
	ck_assert_int_eq(list[0].finished_ms, 0);
	ck_assert_int_eq(list[1].id, id1);
	nf_run_info_list_free(list, n);
	ck_assert_int_eq(nf_store_run_list(st, 1, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list[0].id, id2);
	nf_run_info_list_free(list, n);

	/* A run without a commit (outside git) and defaults for what was not given. */
	{
		nf_run_info bare = { .pipeline = "bare" };

		ck_assert_int_eq(nf_store_run_begin(st, &bare), 0);
		ck_assert_int_eq(nf_store_run_get(st, bare.id, &r), 0);
		ck_assert_ptr_null(r.commit);
		ck_assert_str_eq(r.trigger, "manual");
		ck_assert_str_eq(r.params_json, "{}");
		ck_assert(!r.dirty);
		nf_run_info_release(&r);
	}
	nf_store_close(st);
}
END_TEST

/* A run of pipeline recorded with trigger and interval [start, end). */
static int64_t
begin_interval_run(nf_store *st, const char *pipeline, const char *trigger, const char *start, const char *end)
{
	nf_run_info info = {
		.pipeline = (char *)pipeline, .logical_date = "2026-11-23", .trigger = (char *)trigger,
		.interval_start = (char *)start, .interval_end = (char *)end,
	};

	ck_assert_int_eq(nf_store_run_begin(st, &info), 0);
	return info.id;
}

START_TEST(test_run_for_interval)
{
	static const char w47[] = "2026-11-16T03:00:00Z", w48[] = "2026-11-23T03:00:00Z", w49[] = "2026-11-30T03:00:00Z";
	nf_store *st = NULL;
	nf_run_info r;
	int64_t sched, backfill, alert, id;

	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	ck_assert_int_eq(nf_store_run_for_interval(st, "retrain", w48, &id), NF_ENOTFOUND);
	ck_assert_int_eq(id, 0);
	ck_assert_str_eq(nf_error_last(), "no scheduled, alert or backfill run of retrain for the interval starting "
			 "2026-11-23T03:00:00Z");

	/* A manual run for the same instant is not the interval's run; nor is another pipeline's. */
	begin_interval_run(st, "retrain", "manual", w48, w48);
	begin_interval_run(st, "other", "schedule", w48, w49);
	ck_assert_int_eq(nf_store_run_for_interval(st, "retrain", w48, &id), NF_ENOTFOUND);

	sched = begin_interval_run(st, "retrain", "schedule", w48, w49);
	begin_interval_run(st, "retrain", "schedule", w47, w48);
	ck_assert_int_eq(nf_store_run_for_interval(st, "retrain", w48, &id), 0);
	ck_assert_int_eq(id, sched);
	ck_assert_int_eq(nf_store_run_get(st, id, &r), 0);
	ck_assert_str_eq(r.interval_start, w48);
	ck_assert_str_eq(r.interval_end, w49);
	nf_run_info_release(&r);

	/* The newest of the interval's runs, whichever of the three triggers started it. */
	backfill = begin_interval_run(st, "retrain", "backfill", w48, w49);
	ck_assert_int_eq(nf_store_run_for_interval(st, "retrain", w48, &id), 0);
	ck_assert_int_eq(id, backfill);
	alert = begin_interval_run(st, "retrain", "alert", w48, w49);
	begin_interval_run(st, "retrain", "manual", w48, w48);
	ck_assert_int_eq(nf_store_run_for_interval(st, "retrain", w48, &id), 0);
	ck_assert_int_eq(id, alert);
	ck_assert_int_eq(nf_store_run_for_interval(st, "retrain", w49, &id), NF_ENOTFOUND);
	nf_store_close(st);
}
END_TEST

/* ---- nodes, attempts, batches ---- */

START_TEST(test_nodes_batched)
{
	nf_store *st = NULL, *other = NULL;
	test_graph t;
	nf_node_info *nodes;
	size_t n;
	int64_t run;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_RUNNING, 1, NULL, NULL, 4242,
					     ".ntflow/logs/1/prep.1.log", 1000), 0);

	/* Another connection (as `ntflow dash` would be) sees nothing of the open batch. */
	ck_assert_int_eq(nf_store_open(&other, dbpath, false), 0);
	ck_assert_int_eq(nf_store_node_list(other, run, &nodes, &n), 0);
	ck_assert_uint_eq(n, 0);
	nf_node_info_list_free(nodes, n);

	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);   /* nothing open: a no-op */
	ck_assert_int_eq(nf_store_node_list(other, run, &nodes, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(nodes[0].name, "prep");
	ck_assert_str_eq(nodes[0].stage, "prep");
	ck_assert_ptr_null(nodes[0].instance);
	ck_assert_str_eq(nodes[0].kind, "stage");
	ck_assert_int_eq(nodes[0].state, NF_ST_RUNNING);
	ck_assert_int_eq(nodes[0].attempts, 1);
	ck_assert_int_eq(nodes[0].started_ms, 1000);
	ck_assert_int_eq(nodes[0].pgid, 4242);
	ck_assert_int_eq(nodes[0].exit_code, -1);
	ck_assert_str_eq(nodes[0].log_path, ".ntflow/logs/1/prep.1.log");
	/* Topological order as given, not the ids'. */
	ck_assert_str_eq(nodes[1].name, "tune[lr=0.2]");
	ck_assert_str_eq(nodes[1].instance, "lr-0.2");
	ck_assert_str_eq(nodes[2].name, "tune[lr=0.1]");
	ck_assert_int_eq(nodes[2].state, NF_ST_WAITING);
	ck_assert_int_eq(nodes[2].attempts, 0);
	ck_assert_ptr_null(nodes[2].log_path);
	nf_node_info_list_free(nodes, n);

	/* A state change through the SQL lookup (this connection has no name map). */
	ck_assert_int_eq(nf_store_node_state(other, run, "tune[lr=0.1]", NF_ST_SKIPPED, 0, NULL,
					     "needs failed stage prep", 0, NULL, 2000), 0);
	ck_assert_int_eq(nf_store_node_state(other, run, "nope", NF_ST_SKIPPED, 0, NULL, NULL, 0,
					     NULL, 2000), NF_ENOTFOUND);
	ck_assert_str_eq(nf_error_last(), "run 1 has no stage 'nope'");
	ck_assert_int_eq(nf_store_flush(other), 0);
	nf_store_close(other);
	ck_assert_int_eq(nf_store_node_list(st, run, &nodes, &n), 0);
	ck_assert_int_eq(nodes[2].state, NF_ST_SKIPPED);
	ck_assert_str_eq(nodes[2].reason, "needs failed stage prep");
	ck_assert_int_eq(nodes[2].finished_ms, 2000);
	nf_node_info_list_free(nodes, n);
	nf_store_close(st);
}
END_TEST

/* More nodes than one statement writes (NF_STORE_NODES_PER_INSERT): each row in topological
 * order with its stage and instance, under the id the name map gives (a state change through
 * the map lands on the right row), after the rows of an earlier run. */
START_TEST(test_nodes_many)
{
	enum { N = 2 * NF_STORE_NODES_PER_INSERT + 22 };
	nf_store *st = NULL;
	test_graph t;
	static const nf_stage_more work = { .phase = "work" };
	nf_stage stage = { .kind = NF_STAGE, .name = "w", .more = &work };
	nf_node *nodes = xcalloc(N, sizeof(*nodes));
	uint32_t *order = xcalloc(N, sizeof(*order));
	char names[N][16], inst[N][16];
	nf_node_more mores[N];
	nf_graph g = { .nodes = nodes, .nnodes = N, .order = order };
	nf_node_info *info;
	size_t n;
	int64_t r1, r2;

	for (size_t i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "w[i=%zu]", i);
		snprintf(inst[i], sizeof(inst[i]), "i-%zu", i);
		mores[i].instance = inst[i];
		nodes[i] = (nf_node){ .id = i, .stage = &stage, .name = names[i], .more = i % 2 ? &mores[i] : NULL };
		order[i] = N - 1 - i;   /* the topological order is the ids' reversed */
	}
	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r1 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, r1, &t.g), 0);
	r2 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, r2, &g), 0);
	for (size_t i = 0; i < N; i += 7)
		ck_assert_int_eq(nf_store_node_state(st, r2, names[i], NF_ST_SKIPPED, 0, NULL, names[i], 0, NULL, 5), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM nodes"), N + 3);
	ck_assert_int_eq(nf_store_node_list(st, r2, &info, &n), 0);
	ck_assert_uint_eq(n, N);
	for (size_t i = 0; i < N; i++) {
		size_t id = N - 1 - i;

		ck_assert_str_eq(info[i].name, names[id]);
		ck_assert_str_eq(info[i].stage, "w");
		ck_assert_str_eq(info[i].kind, "stage");
		if (id % 2)
			ck_assert_str_eq(info[i].instance, inst[id]);
		else
			ck_assert_ptr_null(info[i].instance);
		ck_assert_int_eq(info[i].state, id % 7 ? NF_ST_WAITING : NF_ST_SKIPPED);
		if (id % 7 == 0)
			ck_assert_str_eq(info[i].reason, names[id]);
	}
	nf_node_info_list_free(info, n);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM nodes WHERE phase = 'work' AND run_id = 2"), N);
	ck_assert_int_eq(nf_store_node_list(st, r1, &info, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(info[0].name, "prep");
	nf_node_info_list_free(info, n);
	/* The graph let go of (and gone, its names with it): the rows are found by SQL. */
	nf_store_nodes_forget(st);
	for (size_t i = 0; i < N; i++)
		names[i][0] = 'x';
	free(order);
	free(nodes);
	ck_assert_int_eq(nf_store_node_state(st, r2, "w[i=1]", NF_ST_SKIPPED, 0, NULL, "after", 0, NULL, 6), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM nodes WHERE reason = 'after' AND name = 'w[i=1]' AND run_id = 2"),
			 1);
	nf_store_close(st);
}
END_TEST

START_TEST(test_attempts)
{
	nf_store *st = NULL;
	test_graph t;
	nf_node_info *nodes, *att;
	size_t n, na;
	int64_t run;
	nf_job_result fail = { .exited = true, .exit_code = 3, .wall_ms = 120, .user_ms = 50,
			       .sys_ms = 10, .max_rss_kb = 2048 };
	nf_job_result slow = { .exited = false, .term_signal = SIGKILL, .wall_ms = 1000 };
	nf_job_result ok = { .exited = true, .exit_code = 0, .wall_ms = 80, .user_ms = 30,
			     .sys_ms = 5, .max_rss_kb = 4096 };

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_READY, 0, NULL, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_RUNNING, 1, NULL, NULL, 100, "l1", 1000), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_RETRYING, 1, &fail, "exit 3", 0, NULL, 1120), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_RUNNING, 2, NULL, NULL, 200, "l2", 2000), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_RETRYING, 2, &slow,
					     "timed out after 1s", 0, NULL, 3000), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_RUNNING, 3, NULL, NULL, 300, "l3", 4000), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_SUCCEEDED, 3, &ok, NULL, 0, NULL, 4080), 0);
	/* An end reported without a start (a runner that skips RUNNING) still makes a row. */
	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.1]", NF_ST_FAILED, 1, &fail, "exit 3",
					     0, NULL, 5000), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);

	ck_assert_int_eq(nf_store_attempt_list(st, run, "prep", &att, &na), 0);
	ck_assert_uint_eq(na, 3);
	ck_assert_int_eq(att[0].attempts, 1);
	ck_assert_int_eq(att[0].state, NF_ST_FAILED);
	ck_assert_int_eq(att[0].exit_code, 3);
	ck_assert_int_eq(att[0].started_ms, 1000);
	ck_assert_int_eq(att[0].finished_ms, 1120);
	ck_assert_int_eq(att[0].wall_ms, 120);
	ck_assert_int_eq(att[0].user_ms, 50);
	ck_assert_int_eq(att[0].sys_ms, 10);
	ck_assert_int_eq(att[0].max_rss_kb, 2048);
	ck_assert_str_eq(att[0].log_path, "l1");
	ck_assert_int_eq(att[0].pgid, 100);
	ck_assert_str_eq(att[0].reason, "exit 3");
	ck_assert_int_eq(att[1].state, NF_ST_TIMED_OUT);
	ck_assert_int_eq(att[1].exit_code, -1);
	ck_assert_int_eq(att[1].term_signal, SIGKILL);
	ck_assert_int_eq(att[2].state, NF_ST_SUCCEEDED);
	ck_assert_int_eq(att[2].exit_code, 0);
	ck_assert_str_eq(att[2].log_path, "l3");
	nf_node_info_list_free(att, na);

	ck_assert_int_eq(nf_store_node_list(st, run, &nodes, &n), 0);
	ck_assert_int_eq(nodes[0].state, NF_ST_SUCCEEDED);
	ck_assert_int_eq(nodes[0].attempts, 3);
	ck_assert_int_eq(nodes[0].exit_code, 0);
	ck_assert_int_eq(nodes[0].started_ms, 1000);   /* the first attempt's start */
	ck_assert_int_eq(nodes[0].finished_ms, 4080);
	ck_assert_int_eq(nodes[0].wall_ms, 80);        /* the latest attempt's figures */
	ck_assert_int_eq(nodes[0].max_rss_kb, 4096);
	ck_assert_str_eq(nodes[0].log_path, "l3");
	ck_assert_ptr_null(nodes[0].reason);
	ck_assert_int_eq(nodes[2].state, NF_ST_FAILED);
	ck_assert_int_eq(nodes[2].exit_code, 3);
	ck_assert_str_eq(nodes[2].reason, "exit 3");
	nf_node_info_list_free(nodes, n);

	ck_assert_int_eq(nf_store_attempt_list(st, run, "nope", &att, &na), 0);
	ck_assert_uint_eq(na, 0);
	nf_node_info_list_free(att, na);
	nf_store_close(st);
}
END_TEST

START_TEST(test_metrics)
{
	nf_store *st = NULL;
	test_graph t;
	nf_metric *m;
	size_t n;
	int64_t run;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	ck_assert_int_eq(nf_store_metric_put(st, run, "tune[lr=0.1]", "val_auc", 0.81), 0);
	ck_assert_int_eq(nf_store_metric_put(st, run, "prep", "rows", 20000), 0);
	ck_assert_int_eq(nf_store_metric_put(st, run, "prep", "eval.acc", 0.5), 0);
	ck_assert_int_eq(nf_store_metric_put(st, run, "prep", "eval.acc", 0.9), 0);   /* replaced */
	ck_assert_int_eq(nf_store_metric_put(st, run, "prep", "bad", NAN), NF_EINVALID);
	ck_assert_str_eq(nf_error_last(), "metric 'bad' of stage 'prep' is not a finite number");
	ck_assert_int_eq(nf_store_metric_put(st, run, "prep", "inf", INFINITY), NF_EINVALID);
	ck_assert_int_eq(nf_store_metric_put(st, run, "ghost", "x", 1), NF_ENOTFOUND);
	ck_assert_int_eq(nf_store_flush(st), 0);

	ck_assert_int_eq(nf_store_metric_list(st, run, &m, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(m[0].node, "prep");           /* in node order, then by name */
	ck_assert_str_eq(m[0].name, "eval.acc");
	ck_assert(fabs(m[0].value - 0.9) < 1e-12);
	ck_assert_str_eq(m[1].name, "rows");
	ck_assert(fabs(m[1].value - 20000) < 1e-12);
	ck_assert_str_eq(m[2].node, "tune[lr=0.1]");
	nf_metric_list_free(m, n);
	nf_store_close(st);
}
END_TEST

/* ---- crash recovery ---- */

START_TEST(test_recover_dead_pid)
{
	nf_store *st = NULL;
	nf_run_info r;
	char sql[1024];
	int64_t live;
	const char *const *lines;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	live = begin_run(st, "live");
	nf_store_close(st);
	/* Run 2: its process died. Run 3: its pid is ours but the start time is not (a reused pid). */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO runs (id, pipeline, started_ms, status, pid, pid_start, boot_id)"
		 " VALUES (2, 'dead', 1000, 'running', %ld, 0, '');"
		 "INSERT INTO nodes (id, run_id, seq, name, stage, kind, state)"
		 " VALUES (20, 2, 0, 'a', 'a', 'stage', 'running');"
		 "INSERT INTO runs (id, pipeline, started_ms, status, pid, pid_start, boot_id)"
		 " SELECT 3, 'reused', 1000, 'running', %ld, 1, boot_id FROM runs WHERE id = %lld;"
		 /* Run 4 was begun on another machine: its pid means nothing here. */
		 "INSERT INTO runs (id, pipeline, started_ms, status, pid, host)"
		 " VALUES (4, 'remote', 1000, 'running', %ld, 'elsewhere.invalid');",
		 (long)dead_pid(), (long)getpid(), (long long)live, (long)dead_pid());
	raw_exec(dbpath, sql);

	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	lines = nf_store_recovered(st);
	ck_assert_str_eq(lines[0], "run 2 had crashed: its ntflow process is gone");
	ck_assert_str_eq(lines[1], "run 3 had crashed: its ntflow process is gone");
	ck_assert_ptr_null(lines[2]);
	ck_assert_int_eq(nf_store_run_get(st, 2, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_CRASHED);
	ck_assert_int_gt(r.finished_ms, 0);
	nf_run_info_release(&r);
	ck_assert_int_eq(nf_store_run_get(st, 3, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_CRASHED);
	nf_run_info_release(&r);
	ck_assert_int_eq(nf_store_run_get(st, live, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_RUNNING);
	nf_run_info_release(&r);
	ck_assert_int_eq(nf_store_run_get(st, 4, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_RUNNING);
	nf_run_info_release(&r);
	/* The stages' states are kept as they were. */
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM nodes WHERE id = 20 AND state = 'running'"), 1);
	nf_store_close(st);

	/* Recovery happens once. */
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_ptr_null(nf_store_recovered(st)[0]);
	nf_store_close(st);
}
END_TEST

/* A run left "running" by another host (a container re-created under another name): dead
 * once nobody holds the workspace's lock, which every run holds from before its row to its
 * end; kept while the lock is held, or when there is no lock file to look at. Its pid is
 * not this host's to kill. */
/* A run id of pipeline p recorded running, begun by this process on host old-container
 * (another host: its pid says nothing here), in a store made at dbpath. */
static void
foreign_running(int id)
{
	nf_store *st = NULL;
	char sql[512];

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	nf_store_close(st);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO runs (id, pipeline, started_ms, status, pid, host)"
		 " VALUES (%d, 'p', 1000, 'running', %ld, 'old-container');",
		 id, (long)getpid());
	raw_exec(dbpath, sql);
}

START_TEST(test_recover_other_host)
{
	nf_store *st = NULL;
	nf_run_info r;
	char lock[160];
	int fd;

	foreign_running(7);
	/* no lock file: no run ever held it here, nothing to tell */
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_ptr_null(nf_store_recovered(st)[0]);
	nf_store_close(st);
	/* the lock held (its run going on, over NFS say) */
	snprintf(lock, sizeof(lock), "%s/lock", tmpdir);
	ck_assert_int_ge(fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600), 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_ptr_null(nf_store_recovered(st)[0]);
	ck_assert_int_eq(nf_store_run_get(st, 7, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_RUNNING);
	nf_run_info_release(&r);
	nf_store_close(st);
	/* let go: the run is gone (and this process, whose pid it names, not signalled) */
	close(fd);
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_str_eq(nf_store_recovered(st)[0],
			 "run 7 had crashed: it ran on host old-container, and no run holds the workspace's lock any more");
	ck_assert_int_eq(nf_store_run_get(st, 7, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_CRASHED);
	nf_run_info_release(&r);
	nf_store_close(st);
}
END_TEST

/* A run holding the workspace's lock itself (`ntflow run` takes it before it opens the
 * store) knows that no other run is going: a run of another host recorded running is gone.
 * The flock of the lock file opened again is refused even to its holder, so before, the
 * run's own lock hid the crash from it for as long as runs followed runs. */
START_TEST(test_recover_other_host_own_lock)
{
	nf_store *st = NULL;
	nf_wslock *lock = NULL;
	nf_run_info r;

	foreign_running(8);
	ck_assert_int_eq(nf_workspace_lock(&lock, tmpdir, NULL), 0);
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_str_eq(nf_store_recovered(st)[0],
			 "run 8 had crashed: it ran on host old-container, and no run holds the workspace's lock any more");
	ck_assert_int_eq(nf_store_run_get(st, 8, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_CRASHED);
	nf_run_info_release(&r);
	nf_store_close(st);
	nf_workspace_unlock(lock);
}
END_TEST

/* What a scheduler counts against max_active_runs: a run of another host while another
 * process holds the workspace's lock (or there is no telling), not once nobody does. It
 * counted such a run until the scheduler restarted, so a scheduler that stayed up while
 * another container's run died never started another. */
START_TEST(test_runs_active_other_host)
{
	nf_store *st = NULL;
	nf_wslock *lock = NULL;
	nf_active_run act[4];
	char path[160];
	size_t n = 9;
	int fd;

	foreign_running(5);
	/* no lock file: no telling, it counts (and recovery at the open left it) */
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(nf_store_runs_active(st, "p", act, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(act[0].id, 5);
	/* held by another (an open file description of its own: as another process's) */
	snprintf(path, sizeof(path), "%s/lock", tmpdir);
	ck_assert_int_ge(fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600), 0);
	ck_assert_int_eq(flock(fd, LOCK_EX), 0);
	ck_assert_int_eq(nf_store_runs_active(st, "p", act, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	/* let go: nobody holds it, the run is gone */
	close(fd);
	ck_assert_int_eq(nf_store_runs_active(st, "p", act, 4, &n), 0);
	ck_assert_uint_eq(n, 0);
	/* held by this process's own lock: nobody else's */
	ck_assert_int_eq(nf_workspace_lock(&lock, tmpdir, NULL), 0);
	ck_assert_int_eq(nf_store_runs_active(st, "p", act, 4, &n), 0);
	ck_assert_uint_eq(n, 0);
	nf_workspace_unlock(lock);
	nf_store_close(st);
}
END_TEST

/* This machine's boot id, read the way the store reads it (processes of another boot are
 * never killed). */
static const char *
boot_id(void)
{
	static char boot[64] = "unknown";
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");

	if (f) {
		if (fgets(boot, sizeof(boot), f))
			boot[strcspn(boot, "\n")] = '\0';
		fclose(f);
	}
	return boot;
}

/* Starts `sleep 100` as the leader of a process group of its own. */
static pid_t
spawn_group(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		setpgid(0, 0);
		execlp("sleep", "sleep", "100", (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	return pid;
}

START_TEST(test_recover_kills_group)
{
	nf_store *st = NULL;
	pid_t leader = spawn_group(), other = spawn_group();
	char sql[1024], want[128];
	const char *const *lines;
	int status;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	nf_store_close(st);
	/* Run 5's attempt of 'a' is the live group `leader` (start time unknown); its attempt of
	 * 'b' names the group `other` with a start time that is not its leader's: a pgid reused
	 * by an unrelated process, which must be left alone. */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO runs (id, pipeline, started_ms, status, pid, pid_start, boot_id)"
		 " VALUES (5, 'p', 1000, 'running', %ld, 0, '%s');"
		 "INSERT INTO nodes (id, run_id, seq, name, stage, kind, state)"
		 " VALUES (50, 5, 0, 'a', 'a', 'stage', 'running'), (51, 5, 1, 'b', 'b', 'stage', 'running');"
		 "INSERT INTO attempts (node_id, attempt, state, pgid, pgid_start)"
		 " VALUES (50, 1, 'running', %ld, 0), (51, 1, 'running', %ld, 1);",
		 (long)dead_pid(), boot_id(), (long)leader, (long)other);
	raw_exec(dbpath, sql);

	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	lines = nf_store_recovered(st);
	ck_assert_str_eq(lines[0], "run 5 had crashed: its ntflow process is gone");
	snprintf(want, sizeof(want), "run 5 had crashed: killed leftover process group %ld", (long)leader);
	ck_assert_str_eq(lines[1], want);
	ck_assert_ptr_null(lines[2]);
	nf_store_close(st);

	ck_assert_int_eq(waitpid(leader, &status, 0), leader);
	ck_assert(WIFSIGNALED(status));
	ck_assert_int_eq(WTERMSIG(status), SIGKILL);
	/* The other group was not ours: still alive. */
	ck_assert_int_eq(kill(-other, 0), 0);
	kill(-other, SIGKILL);
	waitpid(other, NULL, 0);
}
END_TEST

/* The start time of a stage's process group is read when the batch is committed, not at the
 * spawn (where reading /proc/PGID/stat waits for the child's exec): a group still running
 * then has it in its committed attempt; an attempt that ended within the batch is not looked
 * up at all; a rolled-back batch forgets its groups. */
START_TEST(test_group_start_at_commit)
{
	nf_store *st = NULL;
	test_graph t;
	nf_job_result res = { .exited = true, .exit_code = 0, .wall_ms = 5 };
	pid_t live = spawn_group(), gone = dead_pid();
	int64_t run;
	char sql[160];

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_RUNNING, 1, NULL, NULL, live, "l1", 1000), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.1]", NF_ST_RUNNING, 1, NULL, NULL, gone, "l2", 1000), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.1]", NF_ST_SUCCEEDED, 1, &res, NULL, 0, NULL, 1005), 0);
	/* Not read at the spawn. */
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM attempts WHERE pgid_start != 0"), 0);
	ck_assert_uint_eq(st->nstarts, 1);   /* the ended attempt's group is not looked up */
	ck_assert_int_eq(nf_store_flush(st), 0);
	snprintf(sql, sizeof(sql), "SELECT pgid_start = %lld FROM attempts WHERE pgid = %ld",
		 (long long)nf_store__proc_start(live), (long)live);
	ck_assert_int_gt(nf_store__proc_start(live), 0);
	ck_assert_int_eq(raw_int(st, sql), 1);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM attempts WHERE pgid_start != 0"), 1);

	/* A batch rolled back forgets the groups it started. */
	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.2]", NF_ST_RUNNING, 1, NULL, NULL, live, "l3", 2000), 0);
	ck_assert_uint_eq(st->nstarts, 1);
	nf_store_abort(st);
	ck_assert_uint_eq(st->nstarts, 0);
	nf_store_close(st);
	kill(-live, SIGKILL);
	waitpid(live, NULL, 0);
}
END_TEST

/* ---- locking and crashes mid-batch ---- */

START_TEST(test_locked)
{
	nf_store *st = NULL, *st2 = NULL;
	sqlite3 *holder;
	test_graph t;
	int64_t run;

	graph_init(&t);
	setenv("NTFLOW_BUSY_TIMEOUT_MS", "100", 1);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin_run(st, "p");

	ck_assert_int_eq(sqlite3_open(dbpath, &holder), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);

	/* Readers still open and read (WAL); writers wait, then give up with NF_ELOCKED. */
	ck_assert_int_eq(nf_store_open(&st2, dbpath, false), 0);
	nf_store_close(st2);
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), NF_ELOCKED);
	ck_assert_msg(strstr(nf_error_last(), "is locked by another process"), "%s", nf_error_last());
	ck_assert_ptr_nonnull(strstr(nf_error_last(), dbpath));
	ck_assert_int_eq(nf_store_run_end(st, run, NF_RUN_SUCCEEDED), NF_ELOCKED);

	sqlite3_exec(holder, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(holder);
	/* Once the lock is gone, writing works again. */
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	ck_assert_int_eq(nf_store_run_end(st, run, NF_RUN_SUCCEEDED), 0);
	nf_store_close(st);
}
END_TEST

START_TEST(test_crash_mid_batch)
{
	nf_store *st = NULL;
	nf_node_info *nodes;
	nf_metric *m;
	nf_run_info r;
	size_t n;
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		test_graph t;
		nf_store *cst = NULL;
		int64_t run;

		graph_init(&t);
		if (nf_store_open(&cst, dbpath, true) < 0)
			_exit(2);
		run = begin_run(cst, "p");
		if (nf_store_nodes_add(cst, run, &t.g) < 0 ||
		    nf_store_node_state(cst, run, "prep", NF_ST_RUNNING, 1, NULL, NULL, 0, "l", 10) < 0 ||
		    nf_store_flush(cst) < 0)
			_exit(3);
		/* This batch is never committed: the process dies with it open. */
		if (nf_store_node_state(cst, run, "prep", NF_ST_SUCCEEDED, 1,
					&(nf_job_result){ .exited = true }, NULL, 0, NULL, 20) < 0 ||
		    nf_store_metric_put(cst, run, "prep", "auc", 0.9) < 0)
			_exit(4);
		kill(getpid(), SIGKILL);
		_exit(5);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status));

	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"), 1);
	ck_assert_int_eq(nf_store_run_get(st, 1, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_CRASHED);
	nf_run_info_release(&r);
	ck_assert_int_eq(nf_store_node_list(st, 1, &nodes, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(nodes[0].state, NF_ST_RUNNING);   /* the committed batch, no more */
	ck_assert_int_eq(nodes[0].exit_code, -1);
	nf_node_info_list_free(nodes, n);
	ck_assert_int_eq(nf_store_metric_list(st, 1, &m, &n), 0);
	ck_assert_uint_eq(n, 0);
	nf_metric_list_free(m, n);
	nf_store_close(st);
}
END_TEST

START_TEST(test_close_commits_batch)
{
	nf_store *st = NULL;
	test_graph t;
	int64_t run;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	nf_store_close(st);
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM nodes"), 3);
	nf_store_close(st);
}
END_TEST

/* ---- the hook before each commit (the run syncs its cache objects there) ---- */

typedef struct commit_probe {
	int calls;
	int64_t visible;   /* cache entries another connection saw when the hook ran */
	int fail;
} commit_probe;

static int
count_entries(void)
{
	sqlite3 *db;
	sqlite3_stmt *q;
	int n = -1;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM cache_entries", -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static int
probe_commit(void *vctx)
{
	commit_probe *p = vctx;

	p->calls++;
	p->visible = count_entries();   /* another process's view: nothing committed yet */
	if (p->fail)
		return nf_error_set(NF_EIO, "cannot sync (probe)");
	return 0;
}

static void
put_entry(nf_store *st, const char *key)
{
	nf_cache_entry e = { .key = (char *)key, .node = "a", .outputs_json = "[]", .out_digest = "out:x",
			     .metrics_json = "{}", .components = "{}", .run_id = 1, .created_ms = 1 };

	ck_assert_int_eq(nf_store_cache_put(st, "p", &e), 0);
}

START_TEST(test_before_commit)
{
	nf_store *st = NULL;
	commit_probe p = { 0, -1, 0 };
	nf_cache_entry got;
	unsigned long commits;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	nf_store_before_commit(st, probe_commit, &p);
	commits = nf_store_commits(st);
	/* Two entries in one batch: one call, before the commit (the other connection saw none). */
	put_entry(st, "k1");
	put_entry(st, "k2");
	ck_assert_uint_eq(nf_store_commits(st), commits);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_uint_eq(nf_store_commits(st), commits + 1);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_int_eq(p.visible, 0);
	ck_assert_int_eq(count_entries(), 2);
	/* Nothing open: no commit, no call. */
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(p.calls, 1);
	ck_assert_uint_eq(nf_store_commits(st), commits + 1);
	/* A hook that fails: the batch is rolled back, never committed (nor counted: what the
	 * run keeps to write again stays), and the store failed. */
	p.fail = 1;
	put_entry(st, "k3");
	ck_assert_int_lt(nf_store_flush(st), 0);
	ck_assert_uint_eq(nf_store_commits(st), commits + 1);
	ck_assert_int_eq(p.calls, 2);
	ck_assert_int_eq(count_entries(), 2);
	ck_assert_int_eq(nf_store_cache_get(st, "k3", &got), NF_ENOTFOUND);
	ck_assert_int_lt(nf_store_failure(st), 0);
	ck_assert_ptr_nonnull(strstr(nf_error_last(), "cannot sync (probe)"));
	nf_store_close(st);
	/* The close's commit goes through the hook too. */
	p.fail = 0;
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	nf_store_before_commit(st, probe_commit, &p);
	put_entry(st, "k4");
	nf_store_close(st);
	ck_assert_int_eq(p.calls, 3);
	ck_assert_int_eq(p.visible, 2);
	ck_assert_int_eq(count_entries(), 3);
}
END_TEST

/* A miss is recorded as raw facts (the run whose entry the key was compared with) and
 * explained when read: nothing is parsed or built during the run. */
START_TEST(test_miss_explained_lazily)
{
	nf_store *st = NULL;
	test_graph t;
	nf_node_cache_info ci;
	const char *a = "{\"command\":\"x\",\"env\":{},\"identity\":{},\"inputs\":{},\"matrix\":{},"
			"\"params\":{\"seed\":\"1\"},\"scheme\":\"" NF_CACHE_KEY_SCHEME "\",\"upstream\":{}}";
	const char *b = "{\"command\":\"x\",\"env\":{},\"identity\":{},\"inputs\":{},\"matrix\":{},"
			"\"params\":{\"seed\":\"2\"},\"scheme\":\"" NF_CACHE_KEY_SCHEME "\",\"upstream\":{}}";
	nf_cache_entry e = { .key = "k1", .node = "prep", .outputs_json = "[]", .out_digest = "out:x",
			     .metrics_json = "{}", .components = (char *)a, .created_ms = 1 };
	int64_t r1, r2;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r1 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, r1, &t.g), 0);
	ck_assert_int_eq(nf_store_node_cache_miss(st, r1, "prep", "k1", a, "p"), 0);
	ck_assert_int_eq(nf_store_node_cache_get(st, r1, "prep", &ci), 0);
	ck_assert_str_eq(ci.miss_reason, "no earlier run");
	nf_node_cache_info_release(&ci);
	ck_assert_int_eq(nf_store_node_state(st, r1, "prep", NF_ST_SUCCEEDED, 1, NULL, NULL, 0, NULL, 1000), 0);
	e.run_id = r1;
	ck_assert_int_eq(nf_store_cache_put(st, "p", &e), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);

	r2 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, r2, &t.g), 0);
	ck_assert_int_eq(nf_store_node_cache_miss(st, r2, "prep", "k2", b, "p"), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	/* Nothing but the fact is written; the words come when asked. */
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM nodes WHERE miss_reason IS NOT NULL"), 0);
	ck_assert_int_eq(raw_int(st, "SELECT miss_prev_run FROM nodes WHERE cache_key = 'k2'"), r1);
	ck_assert_int_eq(nf_store_node_cache_get(st, r2, "prep", &ci), 0);
	ck_assert_str_eq(ci.miss_reason, "param seed changed 1 → 2");
	ck_assert(!ci.cached);
	ck_assert_str_eq(ci.key, "k2");
	nf_node_cache_info_release(&ci);
	/* A reason known at lookup is kept as recorded. */
	ck_assert_int_eq(nf_store_node_cache(st, r2, "prep", "k2", b, false, 0, "forced"), 0);
	ck_assert_int_eq(nf_store_node_cache_get(st, r2, "prep", &ci), 0);
	ck_assert_str_eq(ci.miss_reason, "forced");
	nf_node_cache_info_release(&ci);
	nf_store_close(st);
}
END_TEST

/* A miss is compared with the same node in the previous run of its pipeline where it ran or
 * was cached (a cached one: with its entry's components), not with the newest entry: runs of
 * another param value in between, a failed run, another pipeline's node of the same name and
 * later runs do not count. */
static int64_t
keyed_run(nf_store *st, test_graph *t, const char *pipeline, const char *key, const char *comps, nf_state state,
	  int64_t reused)
{
	int64_t run = begin_run(st, pipeline);

	ck_assert_int_eq(nf_store_nodes_add(st, run, &t->g), 0);
	if (state == NF_ST_CACHED) {
		ck_assert_int_eq(nf_store_node_cache(st, run, "prep", key, NULL, true, reused, NULL), 0);
	} else {
		ck_assert_int_eq(nf_store_node_cache_miss(st, run, "prep", key, comps, pipeline), 0);
		if (state == NF_ST_SUCCEEDED) {
			nf_cache_entry e = { .key = (char *)key, .node = "prep", .outputs_json = "[]", .out_digest = "out:x",
					     .metrics_json = "{}", .components = (char *)comps, .run_id = run,
					     .created_ms = run };

			ck_assert_int_eq(nf_store_cache_put(st, pipeline, &e), 0);
		}
	}
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", state, 1, NULL, NULL, 0, NULL, 1000), 0);
	ck_assert_int_eq(nf_store_run_end(st, run, state == NF_ST_FAILED ? NF_RUN_FAILED : NF_RUN_SUCCEEDED), 0);
	return run;
}

/* The number of store.c's schema steps, a store's user_version once opened. */
#define NF_STORE_SCHEMA_LATEST 29

#define COMPS(seed, cmd) "{\"command\":\"" cmd "\",\"env\":{},\"identity\":{},\"inputs\":{},\"matrix\":{}," \
	"\"params\":{\"seed\":\"" seed "\"},\"scheme\":\"" NF_CACHE_KEY_SCHEME "\",\"upstream\":{}}"

/* The entries the nodes of the pipeline's last run used, read ahead in a thread on a
 * connection of its own: a lookup of one of their keys is answered from memory (seen here
 * by deleting the rows once read: what a run never does to an entry it has not looked up),
 * once; another key, a second lookup of the same key, or another pipeline's entry are read
 * from the database. Then the thread checkpoints: the database file grows with what the
 * WAL held while this connection does nothing. Stopped with entries not taken, and by the
 * close. */
START_TEST(test_ahead)
{
	static const char *const keys[] = { "ka-prep", "ka-tune1", "ka-tune2" };
	nf_store *st = NULL;
	nf_cache_entry e;
	test_graph t;
	int64_t r1, r2;
	struct timespec ms = { 0, 1000000 };
	struct stat db0, sb;
	char *wal;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r1 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, r1, &t.g), 0);
	for (size_t i = 0; i < 3; i++) {
		char *outs = xasprintf("[{\"path\":\"out/%zu\",\"digest\":\"sha256:%zu\"}]", i, i);
		nf_cache_entry put = { .key = (char *)keys[i], .node = (char *)t.nodes[i].name, .outputs_json = outs,
				       .out_digest = "out:x", .metrics_json = "{\"auc\":0.9}", .components = "{}",
				       .run_id = r1, .created_ms = 1 };

		ck_assert_int_eq(nf_store_node_cache_miss(st, r1, t.nodes[i].name, keys[i], "{}", "p"), 0);
		ck_assert_int_eq(nf_store_cache_put(st, "p", &put), 0);
		ck_assert_int_eq(nf_store_node_state(st, r1, t.nodes[i].name, NF_ST_SUCCEEDED, 1, NULL, NULL, 0, NULL, 1000), 0);
		free(outs);
	}
	ck_assert_int_eq(nf_store_run_end(st, r1, NF_RUN_SUCCEEDED), 0);
	keyed_run(st, &t, "q", "kq", "{}", NF_ST_SUCCEEDED, 0);   /* another pipeline's, later */
	r2 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(stat(dbpath, &db0), 0);
	wal = xasprintf("%s-wal", dbpath);
	ck_assert_int_eq(stat(wal, &sb), 0);
	ck_assert_int_gt(sb.st_size, 0);   /* frames to copy */
	free(wal);
	nf_store_ahead_start(st, "p", r2, 3);
	for (int i = 0; i < 3000 && nf_store_ahead_read(st) < 3; i++)
		nanosleep(&ms, NULL);
	ck_assert_uint_eq(nf_store_ahead_read(st), 3);
	for (int i = 0; i < 3000 && stat(dbpath, &sb) == 0 && sb.st_size <= db0.st_size; i++)
		nanosleep(&ms, NULL);
	ck_assert_int_gt(sb.st_size, db0.st_size);
	raw_exec(dbpath, "DELETE FROM cache_entries");
	ck_assert_int_eq(nf_store_cache_hit(st, "ka-tune1", &e), 0);
	ck_assert_str_eq(e.outputs_json, "[{\"path\":\"out/1\",\"digest\":\"sha256:1\"}]");
	ck_assert_str_eq(e.out_digest, "out:x");
	ck_assert_str_eq(e.metrics_json, "{\"auc\":0.9}");
	ck_assert_int_eq(e.run_id, r1);
	nf_cache_entry_release(&e);
	ck_assert_int_eq(nf_store_cache_hit(st, "ka-tune1", &e), NF_ENOTFOUND);   /* taken once */
	ck_assert_int_eq(nf_store_cache_hit(st, "kq", &e), NF_ENOTFOUND);         /* not read ahead */
	ck_assert_int_eq(nf_store_cache_hit(st, "ka-prep", &e), 0);
	ck_assert_str_eq(e.outputs_json, "[{\"path\":\"out/0\",\"digest\":\"sha256:0\"}]");
	nf_cache_entry_release(&e);
	nf_store_ahead_stop(st);   /* ka-tune2 never taken: freed */
	ck_assert_uint_eq(nf_store_ahead_read(st), 0);
	ck_assert_int_eq(nf_store_cache_hit(st, "ka-tune2", &e), NF_ENOTFOUND);
	nf_store_ahead_start(st, "p", r2, 3);   /* nothing left to read; the close stops it */
	nf_store_close(st);
}
END_TEST

/* A database whose last run of p has prep, tune1, tune2 (in the nodes' order prep, tune2,
 * tune1), each with an entry of its own key; then, on it, a new run's read-ahead with room
 * for nodes entries, which reads nothing until lag lookups were made (NTFLOW_TEST_AHEAD_LAG). */
static nf_store *
ahead_lagging(const char *const keys[3], const char *lag, size_t nodes)
{
	nf_store *st = NULL;
	test_graph t;
	int64_t r1, r2;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r1 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, r1, &t.g), 0);
	for (size_t i = 0; i < 3; i++) {
		nf_cache_entry put = { .key = (char *)keys[i], .node = (char *)t.nodes[i].name, .outputs_json = "[]",
				       .out_digest = "out:x", .metrics_json = "{}", .components = "{}",
				       .run_id = r1, .created_ms = 1 };

		ck_assert_int_eq(nf_store_node_cache_miss(st, r1, t.nodes[i].name, keys[i], "{}", "p"), 0);
		ck_assert_int_eq(nf_store_cache_put(st, "p", &put), 0);
		ck_assert_int_eq(nf_store_node_state(st, r1, t.nodes[i].name, NF_ST_SUCCEEDED, 1, NULL, NULL, 0, NULL, 1000), 0);
	}
	ck_assert_int_eq(nf_store_run_end(st, r1, NF_RUN_SUCCEEDED), 0);
	r2 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_flush(st), 0);
	setenv("NTFLOW_TEST_AHEAD_LAG", lag, 1);
	nf_store_ahead_start(st, "p", r2, nodes);
	return st;
}

/* Looks key up: hit (want 0) or not found (NF_ENOTFOUND). */
static void
ck_ahead_hit(nf_store *st, const char *key, int want)
{
	nf_cache_entry e;

	ck_assert_int_eq(nf_store_cache_hit(st, key, &e), want);
	if (want == 0)
		nf_cache_entry_release(&e);
}

/* Waits (at most 3 s) until the thread's reading is over. */
static void
ahead_wait_finished(nf_store *st)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 3000 && !nf_store_ahead_finished(st); i++)
		nanosleep(&ms, NULL);
	ck_assert(nf_store_ahead_finished(st));
}

/* A thread that falls behind the lookups (a busy machine) does not publish the entries
 * whose keys were looked up already: they would be held till the end, never taken. Here it
 * starts reading after the lookups of prep and tune2, with room for one entry: tune1's. */
START_TEST(test_ahead_behind)
{
	static const char *const keys[] = { "kb-prep", "kb-tune1", "kb-tune2" };
	nf_store *st = ahead_lagging(keys, "2", 1);

	ck_ahead_hit(st, "kb-prep", 0);   /* from the database */
	ck_ahead_hit(st, "kb-tune2", 0);
	ahead_wait_finished(st);
	ck_assert_uint_eq(nf_store_ahead_read(st), 1);
	raw_exec(dbpath, "DELETE FROM cache_entries");
	ck_ahead_hit(st, "kb-tune1", 0);   /* the one it kept */
	unsetenv("NTFLOW_TEST_AHEAD_LAG");
	nf_store_close(st);
}
END_TEST

/* Lookups in another order than the last run's nodes (the scheduler's, by critical path):
 * tune1, its last node, is looked up first; the thread then publishes prep and tune2, not
 * tune1 (a count of lookups against the nodes' positions would have skipped prep and kept
 * tune1 for ever). */
START_TEST(test_ahead_out_of_order)
{
	static const char *const keys[] = { "kc-prep", "kc-tune1", "kc-tune2" };
	nf_store *st = ahead_lagging(keys, "1", 3);

	ck_ahead_hit(st, "kc-tune1", 0);
	ahead_wait_finished(st);
	ck_assert_uint_eq(nf_store_ahead_read(st), 2);
	raw_exec(dbpath, "DELETE FROM cache_entries");
	ck_ahead_hit(st, "kc-tune1", NF_ENOTFOUND);   /* not held */
	ck_ahead_hit(st, "kc-prep", 0);
	ck_ahead_hit(st, "kc-tune2", 0);
	unsetenv("NTFLOW_TEST_AHEAD_LAG");
	nf_store_close(st);
}
END_TEST

/* The last run's nodes n00000.. with entries of keys k00000..; then a read-ahead for the
 * next run, whose lookups are made in that order, each in chunks once the thread has read
 * it and its row is deleted (so that only memory can answer): key i, or, every stale-th
 * node (0: none), a key the last run did not have (its entry is never taken). The number
 * of lookups of the last run's keys that missed. */
static int
ahead_many(int n, int stale)
{
	enum { CHUNK = 500 };
	nf_cache_entry e;
	int missed = 0;
	nf_store *st = NULL;
	nf_stage stage = { .kind = NF_STAGE, .name = "s" };
	nf_node *nodes = xcalloc((size_t)n, sizeof(*nodes));
	char (*names)[16] = xcalloc((size_t)n, sizeof(*names));
	nf_graph g;
	int64_t r1, r2;
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "n%05d", i);
		nodes[i] = (nf_node){ .id = (size_t)i, .stage = &stage, .name = names[i] };
	}
	g = (nf_graph){ .nodes = nodes, .nnodes = (size_t)n };
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r1 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, r1, &g), 0);
	for (int i = 0; i < n; i++) {
		char key[16];
		nf_cache_entry put = { .key = key, .node = names[i], .outputs_json = "[]", .out_digest = "out:x",
				       .metrics_json = "{}", .components = "{}", .run_id = r1, .created_ms = 1 };

		snprintf(key, sizeof(key), "k%05d", i);
		ck_assert_int_eq(nf_store_node_cache_miss(st, r1, names[i], key, "{}", "p"), 0);
		ck_assert_int_eq(nf_store_cache_put(st, "p", &put), 0);
		ck_assert_int_eq(nf_store_node_state(st, r1, names[i], NF_ST_SUCCEEDED, 1, NULL, NULL, 0, NULL, 1000), 0);
	}
	ck_assert_int_eq(nf_store_run_end(st, r1, NF_RUN_SUCCEEDED), 0);
	r2 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_flush(st), 0);
	nf_store_ahead_start(st, "p", r2, (size_t)n);
	for (int first = 0; first < n; first += CHUNK) {
		char *del;

		/* (less those the filter of looked-up keys took for looked up, skipped: at most one
		 * in 50 of those so far; n / 50 let a chunk go at its 20th entry when n was 24 000,
		 * and a loaded machine's thread missed 265 > 240). Up to 20 s a chunk: a thread under
		 * the sanitizers on a loaded machine is slow, and a chunk deleted before the thread
		 * read it would count as missed (a table that fills never gets there, and the test
		 * times out) */
		for (int w = 0; w < 20000 && !nf_store_ahead_finished(st) &&
				nf_store_ahead_read(st) < (size_t)first + CHUNK - (size_t)(first + CHUNK) / 50; w++)
			nanosleep(&ms, NULL);
		ck_assert_uint_le(nf_store_ahead_read(st), (size_t)first + 1024);
		del = xasprintf("DELETE FROM cache_entries WHERE key >= 'k%05d' AND key < 'k%05d'", first, first + CHUNK);
		raw_exec(dbpath, del);
		free(del);
		for (int i = first; i < first + CHUNK && i < n; i++) {
			char key[16];

			snprintf(key, sizeof(key), stale && i % stale == 0 ? "z%05d" : "k%05d", i);
			if (nf_store_cache_hit(st, key, &e) == 0)
				nf_cache_entry_release(&e);
			else if (key[0] == 'k')
				missed++;
		}
	}
	nf_store_close(st);
	free(nodes);
	free(names);
	return missed;
}

/* Many more entries than the read-ahead's table has slots (8 192): each taken in the order
 * of the last run's nodes is found in memory, so the slots of the entries taken are filled
 * again; and the thread stays at most a window (1 024 entries) ahead of the lookups. A
 * table that did not reuse the slots of the entries taken would miss every lookup after
 * the first 8 192. Under 2% miss: the keys the filter of looked-up keys took for looked
 * up, read from the database (deleted here, so not found). */
START_TEST(test_ahead_many)
{
	ck_assert_int_le(ahead_many(20000, 0), 20000 / 50);
}
END_TEST

/* Half the last run's keys not looked up by this one (a parameter changed back, say): their
 * entries, never taken, are taken back by the thread once two windows behind the lookups,
 * so that they do not fill the table and the other half is still found in memory (without
 * that, about half of them missed). */
START_TEST(test_ahead_stale)
{
	ck_assert_int_le(ahead_many(24000, 2), 12000 / 50);
}
END_TEST

START_TEST(test_miss_previous_run)
{
	nf_store *st = NULL;
	test_graph t;
	nf_node_cache_info ci;
	int64_t r1, r3, r6;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r1 = keyed_run(st, &t, "p", "k1", COMPS("1", "x"), NF_ST_SUCCEEDED, 0);
	keyed_run(st, &t, "p", "k2", COMPS("2", "x"), NF_ST_SUCCEEDED, 0);       /* another value */
	r3 = keyed_run(st, &t, "p", "k1", NULL, NF_ST_CACHED, r1);              /* back to 1: cached */
	keyed_run(st, &t, "q", "kq", COMPS("9", "q"), NF_ST_SUCCEEDED, 0);      /* another pipeline */
	keyed_run(st, &t, "p", "k5", COMPS("5", "x"), NF_ST_FAILED, 0);         /* failed: no result */
	r6 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, r6, &t.g), 0);
	ck_assert_int_eq(nf_store_node_cache_miss(st, r6, "prep", "k6", COMPS("1", "y"), "p"), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT miss_prev_run FROM nodes WHERE cache_key = 'k6'"), r3);
	ck_assert_int_eq(nf_store_node_cache_get(st, r6, "prep", &ci), 0);
	ck_assert_str_eq(ci.miss_reason, "command changed");   /* not "param seed changed 2 → 1" */
	nf_node_cache_info_release(&ci);
	/* The entry gone (gc), the cached node's reused run still says what it was. */
	raw_exec(dbpath, "DELETE FROM cache_entries WHERE key = 'k1'");
	ck_assert_int_eq(nf_store_node_cache_get(st, r6, "prep", &ci), 0);
	ck_assert_str_eq(ci.miss_reason, "command changed");
	nf_node_cache_info_release(&ci);
	nf_store_close(st);
}
END_TEST

/* The previous run of a node is found by walking its pipeline's runs back to the first
 * where it got a key (node_first_keyed, written by misses only): a cached rerun writes
 * nothing there; with the newest keyed runs deleted, the walk finds the one before them; a
 * database of the schema before (history under the index nodes_keyed) gets the table
 * filled from that history; a node never keyed has no row and nothing is walked. */
START_TEST(test_miss_previous_run_kept)
{
	nf_store *st = NULL;
	test_graph t;
	int64_t r1, r2, r3, r4;
	char *sql;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r1 = keyed_run(st, &t, "p", "k1", COMPS("1", "x"), NF_ST_SUCCEEDED, 0);
	r2 = keyed_run(st, &t, "p", "k2", COMPS("2", "x"), NF_ST_SUCCEEDED, 0);
	r3 = keyed_run(st, &t, "p", "k1", NULL, NF_ST_CACHED, r1);
	keyed_run(st, &t, "p", "k5", COMPS("5", "x"), NF_ST_FAILED, 0);   /* failed: not a previous run */
	ck_assert_int_eq(raw_int(st, "SELECT run_id FROM node_first_keyed WHERE pipeline = 'p' AND name = 'prep'"), r1);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM node_first_keyed"), 1);
	nf_store_close(st);

	/* The schema before: no node_first_keyed, the index; opened, it is filled. */
	raw_exec(dbpath, "DROP TABLE node_first_keyed;"
			 "CREATE INDEX nodes_keyed ON nodes(name, run_id) WHERE cache_key IS NOT NULL;"
			 "PRAGMA user_version = 20;");
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(raw_int(st, "SELECT run_id FROM node_first_keyed WHERE pipeline = 'p' AND name = 'prep'"), r1);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM sqlite_master WHERE name = 'nodes_keyed'"), 0);
	nf_store_close(st);

	/* The newest deleted: the one before it. */
	sql = xasprintf("DELETE FROM runs WHERE id = %lld", (long long)r3);
	raw_exec(dbpath, sql);
	free(sql);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r4 = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, r4, &t.g), 0);
	ck_assert_int_eq(nf_store_node_cache_miss(st, r4, "prep", "k4", COMPS("4", "x"), "p"), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT miss_prev_run FROM nodes WHERE cache_key = 'k4'"), r2);
	nf_store_close(st);

	/* Both deleted: back to the first. */
	sql = xasprintf("DELETE FROM runs WHERE id = %lld", (long long)r2);
	raw_exec(dbpath, sql);
	free(sql);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(nf_store_node_cache_miss(st, r4, "prep", "k4b", COMPS("4", "y"), "p"), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT miss_prev_run FROM nodes WHERE cache_key = 'k4b'"), r1);
	/* A node never keyed: no earlier run; this miss makes r4 its first. */
	ck_assert_int_eq(nf_store_node_cache_miss(st, r4, "tune[lr=0.1]", "kt", COMPS("4", "z"), "p"), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT miss_prev_run FROM nodes WHERE cache_key = 'kt'"), 0);
	ck_assert_int_eq(raw_int(st, "SELECT run_id FROM node_first_keyed WHERE name = 'tune[lr=0.1]'"), r4);
	/* A miss known at lookup (forced) makes a first keyed run too. */
	ck_assert_int_eq(nf_store_node_cache(st, r4, "tune[lr=0.2]", "kf", COMPS("4", "f"), false, 0, "forced"), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT run_id FROM node_first_keyed WHERE name = 'tune[lr=0.2]'"), r4);
	nf_store_close(st);
}
END_TEST

/* The history's retention (prune.c): which runs a policy lets go, per pipeline, with the
 * newest, the last successful, a running one and one whose version is in production or a
 * candidate always kept; a pruned run's entry keeps its components (copied out of the node
 * row it read them from), its node rows with metrics stay, its others go with their
 * attempts, and the walk back of a later miss stops at the oldest run left. */
typedef struct prune_call {
	int64_t run, nodes;
} prune_call;

static int
prune_fn(void *ctx, nf_store *st)
{
	prune_call *c = ctx;

	nf_prune_counts counts;
	int err = nf_store_prune_run(st, c->run, 12345, false, &counts);

	c->nodes = counts.nodes;
	return err;
}

static void
assert_plan(nf_store *st, int64_t keep_runs, int64_t keep_days, const int64_t *want, size_t nwant)
{
	/* begin_run's runs start at the real time: "now" a year on. */
	nf_prune_policy p = { .keep_runs = keep_runs, .keep_days = keep_days,
			      .now_ms = nf_now_realtime_ms() + 365 * INT64_C(86400000) };
	nf_prune_candidate *c = NULL;
	size_t n = 0;

	ck_assert_int_eq(nf_store_prune_plan(st, &p, &c, &n), 0);
	ck_assert_uint_eq(n, nwant);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(c[i].id, want[i]);
		ck_assert_str_eq(c[i].pipeline, "p");
	}
	nf_prune_candidate_list_free(c, n);
}

START_TEST(test_prune)
{
	nf_store *st = NULL;
	test_graph t;
	nf_cache_entry e;
	int64_t r1, r2, r4, r5;
	prune_call call;
	char *sql;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r1 = keyed_run(st, &t, "p", "k1", COMPS("1", "x"), NF_ST_SUCCEEDED, 0);
	r2 = keyed_run(st, &t, "p", "k2", COMPS("2", "x"), NF_ST_SUCCEEDED, 0);
	keyed_run(st, &t, "q", "kq", COMPS("q", "x"), NF_ST_SUCCEEDED, 0);
	r4 = keyed_run(st, &t, "p", "k4", COMPS("4", "x"), NF_ST_FAILED, 0);
	ck_assert_int_eq(nf_store_metric_put(st, r4, "prep", "rows", 3), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT run_id FROM node_first_keyed WHERE pipeline = 'p'"), r1);
	/* Entries a run wrote after its node's miss read their components from the node row
	 * (components_in_node): so made here. */
	raw_exec(dbpath, "DELETE FROM cache_components");
	ck_assert_int_eq(nf_store_cache_get(st, "k1", &e), 0);
	ck_assert_str_eq(e.components, COMPS("1", "x"));
	nf_cache_entry_release(&e);

	/* r4 newest, r2 the last success: r1 goes, and q's only run stays. */
	assert_plan(st, 1, -1, (int64_t[]){ r1 }, 1);
	assert_plan(st, -1, 300, (int64_t[]){ r1 }, 1);   /* started more than 300 days before */
	assert_plan(st, 3, -1, NULL, 0);
	assert_plan(st, -1, 400, NULL, 0);
	assert_plan(st, -1, 36500, NULL, 0);             /* before 1970: every run stays */
	assert_plan(st, 0, 0, (int64_t[]){ r1 }, 1);
	/* A version in production, or a candidate, keeps its run; an archived one does not. */
	sql = xasprintf("INSERT INTO model_versions (model, version, run_id, artifact_sha256, artifact_size,"
			" artifact_path, status, created_ms) VALUES ('m', 1, %lld, 'x', 1, 'a', 'production', 1)",
			(long long)r1);
	raw_exec(dbpath, sql);
	free(sql);
	assert_plan(st, 1, -1, NULL, 0);
	raw_exec(dbpath, "UPDATE model_versions SET status = 'candidate'");
	assert_plan(st, 1, -1, NULL, 0);
	/* Only a model's newest candidate keeps its run: a gated pipeline makes one a week. */
	sql = xasprintf("INSERT INTO model_versions (model, version, run_id, artifact_sha256, artifact_size,"
			" artifact_path, status, created_ms) VALUES ('m', 2, %lld, 'x', 1, 'a', 'candidate', 2)",
			(long long)r2);
	raw_exec(dbpath, sql);
	free(sql);
	assert_plan(st, 1, -1, (int64_t[]){ r1 }, 1);
	raw_exec(dbpath, "DELETE FROM model_versions WHERE version = 2");
	raw_exec(dbpath, "UPDATE model_versions SET status = 'archived'");
	assert_plan(st, 1, -1, (int64_t[]){ r1 }, 1);
	/* A run going on is never a candidate, nor counted among the newest: another machine's
	 * run must not push r4, the newest ended, out. */
	r5 = begin_run(st, "p");
	assert_plan(st, 1, -1, (int64_t[]){ r1 }, 1);

	/* Outside a transaction: refused. */
	{
		nf_prune_counts counts;

		ck_assert_int_eq(nf_store_prune_run(st, r1, 1, false, &counts), NF_EINVALID);
	}
	call = (prune_call){ r1, -1 };
	ck_assert_int_eq(nf_store_atomic(st, prune_fn, &call), 0);
	/* prep stays: r2's miss is explained against it; tune's two nodes go. */
	ck_assert_int_eq(call.nodes, 2);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM nodes WHERE run_id = (SELECT min(id) FROM runs)"), 1);
	ck_assert_int_eq(raw_int(st, "SELECT pruned_ms FROM runs WHERE id = (SELECT min(id) FROM runs)"), 12345);
	/* The miss walk's lower bound stays: a pruned run's rows with metrics still count. */
	ck_assert_int_eq(raw_int(st, "SELECT run_id FROM node_first_keyed WHERE pipeline = 'p'"), r1);
	ck_assert_int_eq(nf_store_cache_get(st, "k1", &e), 0);
	ck_assert_str_eq(e.components, COMPS("1", "x"));
	nf_cache_entry_release(&e);
	{
		nf_run_info r;

		ck_assert_int_eq(nf_store_run_get(st, r1, &r), 0);
		ck_assert_int_eq(r.pruned_ms, 12345);
		ck_assert_int_eq(r.nnodes, 3);   /* the summary stays */
		nf_run_info_release(&r);
	}
	assert_plan(st, 1, -1, NULL, 0);
	ck_assert_int_eq(nf_store_run_end(st, r5, NF_RUN_SUCCEEDED), 0);
	/* r5 now the newest and last success: r2 and r4 go, and so can r1's row r2 referred to. */
	assert_plan(st, 1, -1, (int64_t[]){ r1, r2, r4 }, 3);
	{
		/* What the prune of r4 deletes: its node rows without metrics. */
		nf_prune_policy p = { .keep_runs = 1, .keep_days = -1, .now_ms = nf_now_realtime_ms() };
		nf_prune_candidate *c = NULL;
		size_t n = 0;

		ck_assert_int_eq(nf_store_prune_plan(st, &p, &c, &n), 0);
		ck_assert_uint_eq(n, 3);
		ck_assert(c[0].pruned && c[0].nnodes == 1);
		ck_assert_int_eq(c[2].id, r4);
		ck_assert_int_eq(c[2].nnodes, 2);
		nf_prune_candidate_list_free(c, n);
	}

	/* r4's node with a metric stays, with its attempt, which names no log any more. */
	sql = xasprintf("INSERT OR REPLACE INTO attempts (node_id, attempt, state, log_path) SELECT id, 1, 'failed',"
			" 'logs/%lld/prep.1.log' FROM nodes WHERE run_id = %lld", (long long)r4, (long long)r4);
	raw_exec(dbpath, sql);
	free(sql);
	call = (prune_call){ r4, -1 };
	ck_assert_int_eq(nf_store_atomic(st, prune_fn, &call), 0);
	ck_assert_int_eq(call.nodes, 2);
	sql = xasprintf("SELECT count(*) FROM nodes WHERE run_id = %lld AND name = 'prep'", (long long)r4);
	ck_assert_int_eq(raw_int(st, sql), 1);
	free(sql);
	sql = xasprintf("SELECT count(*) FROM attempts a JOIN nodes n ON n.id = a.node_id WHERE n.run_id = %lld"
			" AND a.log_path IS NULL", (long long)r4);
	ck_assert_int_eq(raw_int(st, sql), 1);
	free(sql);
	nf_store_close(st);
}
END_TEST

/* A miss explained against a run whose node was cached there: once that run is pruned, the
 * row the miss refers to stays, and the miss reads the components of the entry it reused
 * (copied out of the first run's row when that run goes too), as before the prune. */
START_TEST(test_prune_keeps_miss_explained)
{
	nf_store *st = NULL;
	test_graph t;
	nf_node_cache_info ci;
	int64_t ra, rb, rc;
	prune_call call;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ra = keyed_run(st, &t, "p", "k1", COMPS("1", "x"), NF_ST_SUCCEEDED, 0);
	rb = keyed_run(st, &t, "p", "k1", NULL, NF_ST_CACHED, ra);
	rc = keyed_run(st, &t, "p", "k2", COMPS("2", "x"), NF_ST_SUCCEEDED, 0);
	ck_assert_int_eq(nf_store_node_cache_get(st, rc, "prep", &ci), 0);
	ck_assert_ptr_nonnull(ci.miss_reason);
	ck_assert_ptr_nonnull(strstr(ci.miss_reason, "param seed changed 1 → 2"));
	nf_node_cache_info_release(&ci);
	/* The plan finds that rc refers to rb's row: it stays, the rest of rb goes. */
	assert_plan(st, 1, -1, (int64_t[]){ ra, rb }, 2);
	call = (prune_call){ rb, -1 };
	ck_assert_int_eq(nf_store_atomic(st, prune_fn, &call), 0);
	ck_assert_int_eq(call.nodes, 2);
	{
		char *sql = xasprintf("SELECT count(*) FROM nodes WHERE run_id = %lld AND name = 'prep'", (long long)rb);

		ck_assert_int_eq(raw_int(st, sql), 1);
		free(sql);
	}
	ck_assert_int_eq(nf_store_node_cache_get(st, rc, "prep", &ci), 0);
	ck_assert_ptr_nonnull(ci.miss_reason);
	ck_assert_ptr_nonnull(strstr(ci.miss_reason, "param seed changed 1 → 2"));
	nf_node_cache_info_release(&ci);
	/* And once the run that wrote the entry is pruned too. */
	call = (prune_call){ ra, -1 };
	ck_assert_int_eq(nf_store_atomic(st, prune_fn, &call), 0);
	ck_assert_int_eq(nf_store_node_cache_get(st, rc, "prep", &ci), 0);
	ck_assert_ptr_nonnull(ci.miss_reason);
	ck_assert_ptr_nonnull(strstr(ci.miss_reason, "param seed changed 1 → 2"));
	nf_node_cache_info_release(&ci);
	nf_store_close(st);
}
END_TEST

/* Comparing runs: the previous run of a pipeline, and the outputs of a run's nodes from the
 * entries their keys name (a cached node's too; a failed one has none). */
typedef struct outputs_seen {
	char text[256];
} outputs_seen;

static void
outputs_collect(void *ctx, const char *node, const char *outputs)
{
	outputs_seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s=%s;", node, outputs);
}

START_TEST(test_compare_reads)
{
	nf_store *st = NULL;
	test_graph t;
	outputs_seen seen = { "" };
	int64_t r1, r2, r3, r4, prev;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	r1 = keyed_run(st, &t, "p", "k1", COMPS("1", "x"), NF_ST_SUCCEEDED, 0);
	r2 = keyed_run(st, &t, "q", "kq", COMPS("1", "q"), NF_ST_SUCCEEDED, 0);
	r3 = keyed_run(st, &t, "p", "k1", NULL, NF_ST_CACHED, r1);
	r4 = keyed_run(st, &t, "p", "k4", COMPS("4", "x"), NF_ST_FAILED, 0);
	ck_assert_int_eq(nf_store_run_prev_of_pipeline(st, r4, &prev), 0);
	ck_assert_int_eq(prev, r3);
	ck_assert_int_eq(nf_store_run_prev_of_pipeline(st, r3, &prev), 0);
	ck_assert_int_eq(prev, r1);
	ck_assert_int_eq(nf_store_run_prev_of_pipeline(st, r2, &prev), NF_ENOTFOUND);
	ck_assert_int_eq(nf_store_run_prev_of_pipeline(st, r1, &prev), NF_ENOTFOUND);
	raw_exec(dbpath, "UPDATE cache_entries SET outputs = '[{\"path\":\"m\",\"digest\":\"file:ab\"}]' WHERE key = 'k1'");
	ck_assert_int_eq(nf_store_run_outputs(st, r3, outputs_collect, &seen), 0);
	ck_assert_str_eq(seen.text, "prep=[{\"path\":\"m\",\"digest\":\"file:ab\"}];");
	seen.text[0] = '\0';
	ck_assert_int_eq(nf_store_run_outputs(st, r4, outputs_collect, &seen), 0);
	ck_assert_str_eq(seen.text, "");
	nf_store_close(st);
}
END_TEST

/* ---- workspace and formatting ---- */

START_TEST(test_workspace)
{
	char path[256], want[256], *dir = NULL, *real;
	nf_store *st = NULL;

	real = realpath(tmpdir, NULL);
	snprintf(path, sizeof(path), "%s/repo/.git", real);
	ck_assert_int_eq(nf_mkdir_p(path, 0777), 0);
	snprintf(path, sizeof(path), "%s/repo/dags/sub", real);
	ck_assert_int_eq(nf_mkdir_p(path, 0777), 0);
	snprintf(path, sizeof(path), "%s/plain", real);
	ck_assert_int_eq(nf_mkdir_p(path, 0777), 0);

	/* Inside git: the repository's root, however deep the file. */
	snprintf(path, sizeof(path), "%s/repo/dags/sub/p.dag", real);
	ck_assert_int_eq(nf_workspace_resolve(&dir, path, NULL), 0);
	snprintf(want, sizeof(want), "%s/repo/.ntflow", real);
	ck_assert_str_eq(dir, want);
	free(dir);
	/* Outside git: beside the file (the walk up finds no .git under /tmp). */
	snprintf(path, sizeof(path), "%s/plain/p.dag", real);
	ck_assert_int_eq(nf_workspace_resolve(&dir, path, NULL), 0);
	snprintf(want, sizeof(want), "%s/plain/.ntflow", real);
	ck_assert_str_eq(dir, want);
	free(dir);
	/* A symlinked file belongs to the repository it really lives in. */
	{
		char target[256], link[256];
		FILE *f;

		snprintf(target, sizeof(target), "%s/repo/dags/sub/real.dag", real);
		ck_assert_ptr_nonnull(f = fopen(target, "w"));
		fclose(f);
		snprintf(link, sizeof(link), "%s/plain/link.dag", real);
		ck_assert_int_eq(symlink(target, link), 0);
		ck_assert_int_eq(nf_workspace_resolve(&dir, link, NULL), 0);
		snprintf(want, sizeof(want), "%s/repo/.ntflow", real);
		ck_assert_str_eq(dir, want);
		free(dir);
	}
	/* No file: from the current directory. */
	snprintf(path, sizeof(path), "%s/repo/dags", real);
	ck_assert_int_eq(chdir(path), 0);
	ck_assert_int_eq(nf_workspace_resolve(&dir, NULL, NULL), 0);
	snprintf(want, sizeof(want), "%s/repo/.ntflow", real);
	ck_assert_str_eq(dir, want);
	free(dir);
	ck_assert_int_eq(nf_workspace_resolve(&dir, "p.dag", NULL), 0);
	ck_assert_str_eq(dir, want);
	free(dir);
	/* NTFLOW_STATE, then --state, win. */
	setenv("NTFLOW_STATE", "/elsewhere/st", 1);
	ck_assert_int_eq(nf_workspace_resolve(&dir, NULL, NULL), 0);
	ck_assert_str_eq(dir, "/elsewhere/st");
	free(dir);
	ck_assert_int_eq(nf_workspace_resolve(&dir, "p.dag", "given"), 0);
	ck_assert_str_eq(dir, "given");
	free(dir);
	unsetenv("NTFLOW_STATE");
	ck_assert_int_eq(nf_workspace_resolve(&dir, "/no/such/dir/p.dag", NULL), NF_ENOTFOUND);
	ck_assert_ptr_null(dir);
	ck_assert_str_eq(nf_error_last(), "cannot find the directory of '/no/such/dir/p.dag': No such file or directory");

	/* Opening: no database yet, then created on demand. */
	ck_assert_int_eq(nf_store_open_workspace(&st, &dir, NULL, NULL, false), NF_ENOTFOUND);
	ck_assert_ptr_null(dir);
	snprintf(want, sizeof(want), "no runs yet in %s/repo/.ntflow", real);
	ck_assert_str_eq(nf_error_last(), want);
	ck_assert_int_eq(nf_store_open_workspace(&st, &dir, NULL, NULL, true), 0);
	snprintf(want, sizeof(want), "%s/repo/.ntflow", real);
	ck_assert_str_eq(dir, want);
	nf_store_close(st);
	free(dir);
	ck_assert_int_eq(nf_store_open_workspace(&st, NULL, NULL, NULL, false), 0);
	nf_store_close(st);
	free(real);
	ck_assert_int_eq(chdir("/"), 0);
}
END_TEST

/* Overwrites page (1-based) of the database file with 'x's: SQLite finds it damaged. */
static void
garble_page(const char *path, int64_t page)
{
	char junk[4096];
	FILE *f = fopen(path, "r+b");

	ck_assert_ptr_nonnull(f);
	memset(junk, 'x', sizeof(junk));
	ck_assert_int_eq(fseek(f, (long)((page - 1) * (int64_t)sizeof(junk)), SEEK_SET), 0);
	ck_assert_uint_eq(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
}

/* ---- the workspace marker ---- */

START_TEST(test_marker)
{
	nf_store *st = NULL;
	nf_ws_marker m;
	char id[NF_STORE_ID_SIZE], hash[65], *other, *cmd;
	int64_t seq;
	struct stat sb;

	ck_assert_int_eq(nf_ws_marker_read(&m, tmpdir), NF_ENOTFOUND);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(nf_store_id(st, id), 0);
	ck_assert_uint_eq(strlen(id), 36);
	ck_assert_int_eq(id[14], '4');   /* a version 4 UUID */
	begin_run(st, "p");
	raw_exec(dbpath, "INSERT INTO audit (seq, time_ms, kind, payload, prev_hash, hash)"
		 " VALUES (1, 1, 'run-start', '{}', 'p', 'h1'), (2, 2, 'run-end', '{}', 'h1', 'h2')");
	ck_assert_int_eq(nf_store_audit_head(st, &seq, hash), 0);
	ck_assert_int_eq(seq, 2);
	ck_assert_str_eq(hash, "h2");
	ck_assert_int_eq(nf_store_mark_workspace(st), 0);
	nf_store_close(st);
	ck_assert_int_eq(nf_ws_marker_read(&m, tmpdir), 0);
	ck_assert_str_eq(m.store_id, id);
	ck_assert_int_eq(m.audit_seq, 2);
	ck_assert_str_eq(m.audit_hash, "h2");

	/* The same database opens; emptied or gone, it is refused, and not made anew. */
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	nf_store_close(st);
	ck_assert_int_eq(truncate(dbpath, 0), 0);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), NF_EDAMAGED);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(nf_error_last(), "is missing or empty, but this workspace has held runs (store ")
		      && strstr(nf_error_last(), "last audit record 2); restore it from a backup, or remove '")
		      && strstr(nf_error_last(), "/WORKSPACE' to start afresh"), "%s", nf_error_last());
	ck_assert_int_eq(nf_store_open_read(&st, dbpath), NF_EDAMAGED);
	ck_assert_int_eq(stat(dbpath, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);
	ck_assert_int_eq(unlink(dbpath), 0);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), NF_EDAMAGED);
	ck_assert_int_eq(nf_store_open_read(&st, dbpath), NF_EDAMAGED);
	ck_assert_int_eq(access(dbpath, F_OK), -1);

	/* Another workspace's database is not this one's. */
	other = xasprintf("%s/other/state.db", tmpdir);
	cmd = xasprintf("mkdir '%s/other'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	ck_assert_int_eq(nf_store_open(&st, other, true), 0);
	nf_store_close(st);
	cmd = xasprintf("cp '%s' '%s'", other, dbpath);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), NF_EDAMAGED);
	ck_assert_msg(strstr(nf_error_last(), "is not this workspace's state database: it is store "),
		      "%s", nf_error_last());
	ck_assert_int_eq(nf_store_open_read(&st, dbpath), NF_EDAMAGED);

	/* Without the marker, it is simply the workspace's database. */
	free(cmd);
	cmd = xasprintf("%s/WORKSPACE", tmpdir);
	ck_assert_int_eq(unlink(cmd), 0);
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	nf_store_close(st);
	free(cmd);
	free(other);
}
END_TEST

/* Reads every row of the table t of the database at arg on a connection of its own. */
static void *
read_damaged(void *arg)
{
	sqlite3 *db = NULL;

	if (sqlite3_open((const char *)arg, &db) == SQLITE_OK)
		(void)sqlite3_exec(db, "SELECT count(*), max(v) FROM t", NULL, NULL, NULL);
	sqlite3_close(db);
	return NULL;
}

/* Damage met by code outside the store is the store's failure when its own thread met it
 * (the run's code on the raw handle), not when another thread's connection did (the
 * read-ahead's, whose checkpoint on a full disk is its own to ignore). */
START_TEST(test_failure_other_thread)
{
	char *other = xasprintf("%s/other.db", tmpdir);
	nf_store *st = NULL;
	pthread_t th;
	int64_t root;
	sqlite3 *db = NULL;

	/* the store first: its log is installed before SQLite's first use in the process */
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	raw_exec(other, "CREATE TABLE t (v TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
			" WHERE i < 2000) INSERT INTO t SELECT printf('%0200d', i) FROM n");
	ck_assert_int_eq(sqlite3_open(other, &db), SQLITE_OK);
	{
		sqlite3_stmt *q = NULL;

		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_master WHERE name = 't'", -1, &q,
						NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
		root = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	garble_page(other, root + 2);   /* a leaf of t, not its root: the scan meets it */
	ck_assert_int_eq(nf_store_failure(st), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, read_damaged, other), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_msg(nf_store_failure(st) == 0, "%s", nf_error_last());
	/* the same read on this thread is the store's failure */
	read_damaged(other);
	ck_assert_int_eq(nf_store_failure(st), NF_EDAMAGED);
	nf_store_abort(st);
	nf_store_close(st);
	free(other);
}
END_TEST

/* Any SQLite error but busy is kept: the run stops on it, then writes its end afresh. */
START_TEST(test_failure_is_kept)
{
	nf_store *st = NULL;
	test_graph t;
	nf_run_info r;
	int64_t run, root;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_failure(st), 0);
	root = raw_int(st, "SELECT rootpage FROM sqlite_master WHERE name = 'attempts'");
	nf_store_close(st);
	garble_page(dbpath, root);

	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(nf_store_failure(st), 0);
	/* The attempt's row goes to the damaged table; the error may show now or at the flush. */
	if (nf_store_node_state(st, run, "prep", NF_ST_RUNNING, 1, NULL, NULL, 42, "x.log", 1000) == 0)
		ck_assert_int_lt(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_failure(st), NF_EDAMAGED);
	ck_assert_msg(strstr(nf_error_last(), "is damaged (database disk image is malformed)"), "%s",
		      nf_error_last());
	/* A later success does not clear it. */
	ck_assert_int_eq(nf_store_run_get(st, run, &r), 0);
	nf_run_info_release(&r);
	ck_assert_int_eq(nf_store_failure(st), NF_EDAMAGED);
	/* What is left of the database still takes the run's end. */
	nf_store_abort(st);
	ck_assert_int_eq(nf_store_run_end(st, run, NF_RUN_FAILED), 0);
	nf_store_close(st);
	ck_assert_int_eq(nf_store_open_read(&st, dbpath), 0);
	ck_assert_int_eq(nf_store_run_get(st, run, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_FAILED);
	nf_run_info_release(&r);
	nf_store_close(st);
}
END_TEST

/* A reader opens read-only, unless a crashed run must be recorded. */
START_TEST(test_open_read)
{
	nf_store *st = NULL;
	nf_run_info r;
	char sql[256];
	int64_t run;

	ck_assert_int_eq(nf_store_open_read(&st, dbpath), NF_ENOTFOUND);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_run_end(st, run, NF_RUN_SUCCEEDED), 0);
	nf_store_close(st);

	ck_assert_int_eq(nf_store_open_read(&st, dbpath), 0);
	ck_assert(nf_store_readonly(st));
	ck_assert_int_eq(nf_store_run_get(st, run, &r), 0);
	nf_run_info_release(&r);
	{
		nf_run_info info = { .pipeline = "p" };

		ck_assert_int_lt(nf_store_run_begin(st, &info), 0);   /* no write through it */
	}
	nf_store_close(st);

	snprintf(sql, sizeof(sql), "UPDATE runs SET status = 'running', pid = %ld, pid_start = 0 WHERE id = %lld",
		 (long)dead_pid(), (long long)run);
	raw_exec(dbpath, sql);
	ck_assert_int_eq(nf_store_open_read(&st, dbpath), 0);
	ck_assert(!nf_store_readonly(st));
	ck_assert_str_eq(nf_store_recovered(st)[0], "run 1 had crashed: its ntflow process is gone");
	ck_assert_int_eq(nf_store_run_get(st, run, &r), 0);
	ck_assert_int_eq(r.status, NF_RUN_CRASHED);
	nf_run_info_release(&r);
	nf_store_close(st);
}
END_TEST

START_TEST(test_format)
{
	char buf[64], *p;

	nf_store_fmt_signal(buf, sizeof(buf), SIGKILL);
	ck_assert_str_eq(buf, "SIGKILL");
	nf_store_fmt_signal(buf, sizeof(buf), SIGTERM);
	ck_assert_str_eq(buf, "SIGTERM");
	nf_store_fmt_signal(buf, sizeof(buf), 200);
	ck_assert_str_eq(buf, "signal 200");
	nf_store_fmt_iso_utc(buf, sizeof(buf), 1763894592345LL);
	ck_assert_str_eq(buf, "2025-11-23T10:43:12.345Z");
	nf_store_fmt_iso_utc(buf, sizeof(buf), 0);
	ck_assert_str_eq(buf, "-");
	setenv("TZ", "UTC", 1);
	nf_store_fmt_local_time(buf, sizeof(buf), 1763894592345LL);
	ck_assert_str_eq(buf, "2025-11-23 10:43:12");
	nf_store_fmt_local_time(buf, sizeof(buf), 0);
	ck_assert_str_eq(buf, "-");

	ck_assert_ptr_null(nf_store_log_path("/w/.ntflow", NULL));
	p = nf_store_log_path("/w/.ntflow", ".ntflow/logs/1/a.1.log");
	ck_assert_str_eq(p, "/w/.ntflow/logs/1/a.1.log");
	free(p);
	p = nf_store_log_path("/w/.ntflow/", "x.log");
	ck_assert_str_eq(p, "/w/x.log");
	free(p);
	p = nf_store_log_path(".ntflow", "x.log");
	ck_assert_str_eq(p, "x.log");
	free(p);
	p = nf_store_log_path("/.ntflow", "x.log");
	ck_assert_str_eq(p, "/x.log");
	free(p);
	p = nf_store_log_path("/w/.ntflow", "/abs/x.log");
	ck_assert_str_eq(p, "/abs/x.log");
	free(p);

	/* Sizes, as log_limit takes them and messages about a full disk print them. */
	{
		static const struct { const char *text; uint64_t bytes; } good[] = {
			{ "0", 0 }, { "4096", 4096 }, { "512B", 512 }, { "4K", 4096 }, { "4KB", 4096 },
			{ "100MB", 100ULL << 20 }, { "2G", 2ULL << 30 }, { "1TB", 1ULL << 40 },
		};
		static const char *const bad[] = {
			"", "MB", "1.5MB", "-1", "+1", "0x10", "1e3", "10 MB", "10mb", "10MiB", "99999999999999999999",
			"99999999999TB",
		};
		uint64_t v;

		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			ck_assert_msg(nf_parse_size(&v, good[i].text) == 0, "%s", good[i].text);
			ck_assert_uint_eq(v, good[i].bytes);
		}
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ck_assert_msg(nf_parse_size(&v, bad[i]) == NF_EINVALID, "%s", bad[i]);
		ck_assert_int_eq(nf_parse_size(&v, "1.5MB"), NF_EINVALID);
		ck_assert_str_eq(nf_error_last(),
				 "invalid size \"1.5MB\": expected a whole number followed by B, KB, MB, GB or TB");
		nf_format_bytes(buf, sizeof(buf), 0);
		ck_assert_str_eq(buf, "0 bytes");
		nf_format_bytes(buf, sizeof(buf), 1023);
		ck_assert_str_eq(buf, "1023 bytes");
		nf_format_bytes(buf, sizeof(buf), 1536);
		ck_assert_str_eq(buf, "1.5 KB");
		nf_format_bytes(buf, sizeof(buf), 20ULL << 20);
		ck_assert_str_eq(buf, "20 MB");
		nf_format_bytes(buf, sizeof(buf), 100ULL << 20);
		ck_assert_str_eq(buf, "100 MB");
	}
	/* The file system of a path that does not exist yet is its nearest folder's. */
	{
		uint64_t avail = 0, size = 0;
		char *d = nf_fs_describe("/nonexistent/for/sure");

		ck_assert_int_eq(nf_fs_space("/nonexistent/for/sure", &avail, &size), 0);
		ck_assert_uint_gt(size, 0);
		ck_assert_msg(strncmp(d, "the file system at /", 20) == 0 && strstr(d, " free of "), "%s", d);
		free(d);
	}
}
END_TEST

/* ---- history reads: the run summary and the perf index (migration 13) ---- */

/* The listing's node counts of run id. */
static void
list_counts(nf_store *st, int64_t id, int *nnodes, int *ndone)
{
	nf_run_info *list;
	size_t n;

	*nnodes = *ndone = -1;
	ck_assert_int_eq(nf_store_run_list(st, 0, &list, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (list[i].id == id) {
			*nnodes = list[i].nnodes;
			*ndone = list[i].ndone;
		}
	nf_run_info_list_free(list, n);
}

/* A workspace of the schema before the summary, with an ended run and one still running
 * (by this very process), is migrated: the ended run gets its counts, the running one none
 * and is still counted live; the listing shows the same counts before and after. */
START_TEST(test_migrate_run_summary)
{
	nf_store *st = NULL;
	char sql[1024];
	int nnodes, ndone;

	setenv("NTFLOW_TEST_SCHEMA_VERSION", "12", 1);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	unsetenv("NTFLOW_TEST_SCHEMA_VERSION");
	ck_assert_int_eq(raw_int(st, "PRAGMA user_version"), 12);
	nf_store_close(st);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO runs (id, pipeline, started_ms, finished_ms, status) VALUES (1, 'p', 1, 2, 'failed');"
		 "INSERT INTO runs (id, pipeline, started_ms, status, pid, pid_start, boot_id, host)"
		 " VALUES (2, 'p', 3, 'running', %d, %lld, '%s', '%s');"
		 "INSERT INTO nodes (run_id, seq, name, stage, kind, state) VALUES"
		 " (1, 0, 'a', 'a', 'stage', 'succeeded'), (1, 1, 'b', 'b', 'stage', 'cached'),"
		 " (1, 2, 'c', 'c', 'stage', 'failed'), (1, 3, 'd', 'd', 'stage', 'waiting'),"
		 " (2, 0, 'a', 'a', 'stage', 'succeeded'), (2, 1, 'b', 'b', 'stage', 'running');",
		 (int)getpid(), (long long)nf_store__proc_start(getpid()), nf_store__boot_id(), nf_store__host());
	raw_exec(dbpath, sql);
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_ge(raw_int(st, "PRAGMA user_version"), 13);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_total FROM runs WHERE id = 1"), 4);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_done FROM runs WHERE id = 1"), 3);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_total IS NULL AND nodes_done IS NULL FROM runs WHERE id = 2"), 1);
	list_counts(st, 1, &nnodes, &ndone);
	ck_assert_int_eq(nnodes, 4);
	ck_assert_int_eq(ndone, 3);
	list_counts(st, 2, &nnodes, &ndone);
	ck_assert_int_eq(nnodes, 2);
	ck_assert_int_eq(ndone, 1);
	nf_store_close(st);
}
END_TEST

/* A new run of pipeline p in which prep misses with key and comps: its miss explained as
 * expect (the store compares it with prep's last run with a key). The run's id. */
static int64_t
miss_explained(nf_store *st, test_graph *t, const char *key, const char *comps, const char *expect)
{
	nf_node_cache_info ci;
	int64_t run = begin_run(st, "p");

	ck_assert_int_eq(nf_store_nodes_add(st, run, &t->g), 0);
	ck_assert_int_eq(nf_store_node_cache_miss(st, run, "prep", key, comps, "p"), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_node_cache_get(st, run, "prep", &ci), 0);
	ck_assert_str_eq(ci.miss_reason, expect);
	nf_node_cache_info_release(&ci);
	return run;
}

/* Steps 22 and 23 move a cache entry's components out of its row into cache_components
 * (keyed by the entry's rowid): the entries of an older store keep every column and their
 * components, a miss is still explained against a cached node's entry, and a put or delete
 * of an entry with its own components writes both tables. One whose components are in its
 * node's row (components_in_node, as a run writes it) has no cache_components row. */
START_TEST(test_migrate_cache_components)
{
	nf_store *st = NULL;
	nf_cache_entry e, *list = NULL;
	test_graph t;
	size_t n = 0;
	int64_t r3;

	setenv("NTFLOW_TEST_SCHEMA_VERSION", "21", 1);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	unsetenv("NTFLOW_TEST_SCHEMA_VERSION");
	ck_assert_int_eq(raw_int(st, "PRAGMA user_version"), 21);
	nf_store_close(st);
	raw_exec(dbpath,
		 "INSERT INTO runs (id, pipeline, started_ms, finished_ms, status) VALUES"
		 " (1, 'p', 1, 2, 'succeeded'), (2, 'p', 3, 4, 'succeeded');"
		 "INSERT INTO nodes (run_id, seq, name, stage, kind, state, cache_key, components, cached)"
		 " VALUES (1, 0, 'prep', 'prep', 'stage', 'succeeded', 'k1', NULL, 0),"
		 " (2, 0, 'prep', 'prep', 'stage', 'cached', 'k1', NULL, 1);"
		 "INSERT INTO node_first_keyed (pipeline, name, run_id) VALUES ('p', 'prep', 1);"
		 "INSERT INTO cache_entries (key, pipeline, node, outputs, out_digest, metrics, components,"
		 " run_id, git_commit, created_ms) VALUES"
		 " ('k1', 'p', 'prep', '[{\"path\":\"a\",\"digest\":\"file:x\"}]', 'out:1', '{\"m\":1}',"
		 "  '" COMPS("1", "x") "', 1, 'c0ffee', 10),"
		 " ('k0', 'p', 'old', '[]', 'out:0', '{}', '{\"scheme\":\"old\"}', 1, NULL, 5);");
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(raw_int(st, "PRAGMA user_version"), NF_STORE_SCHEMA_LATEST);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM pragma_table_info('cache_entries')"
				     " WHERE name = 'components'"), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_components"), 2);

	/* Every column of an entry, its components from the other table. */
	ck_assert_int_eq(nf_store_cache_get(st, "k1", &e), 0);
	ck_assert_str_eq(e.node, "prep");
	ck_assert_str_eq(e.outputs_json, "[{\"path\":\"a\",\"digest\":\"file:x\"}]");
	ck_assert_str_eq(e.out_digest, "out:1");
	ck_assert_str_eq(e.metrics_json, "{\"m\":1}");
	ck_assert_str_eq(e.components, COMPS("1", "x"));
	ck_assert_int_eq(e.run_id, 1);
	ck_assert_str_eq(e.commit, "c0ffee");
	ck_assert_int_eq(e.created_ms, 10);
	nf_cache_entry_release(&e);
	ck_assert_int_eq(nf_store_cache_hit(st, "k1", &e), 0);
	ck_assert_str_eq(e.out_digest, "out:1");
	nf_cache_entry_release(&e);
	ck_assert_int_eq(nf_store_cache_list(st, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(list[0].key, "k0");
	ck_assert_str_eq(list[0].components, "{\"scheme\":\"old\"}");
	ck_assert_str_eq(list[1].components, COMPS("1", "x"));
	nf_cache_entry_list_free(list, n);

	/* A miss after the cached run 2 is compared with the components of the entry run 2 reused. */
	graph_init(&t);
	r3 = miss_explained(st, &t, "k3", COMPS("2", "x"), "param seed changed 1 → 2");

	/* A put writes both rows, a delete removes both. */
	e = (nf_cache_entry){ .key = "k3", .node = "prep", .outputs_json = "[]", .out_digest = "out:3",
			      .metrics_json = "{}", .components = (char *)COMPS("2", "x"), .run_id = r3, .created_ms = 20 };
	ck_assert_int_eq(nf_store_cache_put(st, "p", &e), 0);
	ck_assert_int_eq(nf_store_cache_delete(st, "k0"), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_components c JOIN cache_entries e"
				     " ON e.rowid = c.entry WHERE e.key = 'k3'"), 1);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_components"), 2);   /* k1, k3: k0's went */
	/* Put again, an entry replaces its components, leaving none behind. */
	ck_assert_int_eq(nf_store_cache_put(st, "p", &e), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_components"), 2);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_components c LEFT JOIN cache_entries e"
				     " ON e.rowid = c.entry WHERE e.key IS NULL"), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_entries WHERE key = 'k0'"), 0);
	ck_assert_int_eq(nf_store_cache_get(st, "k3", &e), 0);
	ck_assert_str_eq(e.components, COMPS("2", "x"));
	nf_cache_entry_release(&e);
	/* Replaced by a run's entry (its components in its node's row, no row of its own): the
	 * replaced entry's row goes with it, as REPLACE fires the delete trigger. */
	e = (nf_cache_entry){ .key = "k3", .node = "prep", .outputs_json = "[]", .out_digest = "out:3",
			      .metrics_json = "{}", .run_id = r3, .created_ms = 20, .components_in_node = true };
	ck_assert_int_eq(nf_store_cache_put(st, "p", &e), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_components"), 1);   /* k1's */
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_components c LEFT JOIN cache_entries e"
				     " ON e.rowid = c.entry WHERE e.key IS NULL OR e.key <> 'k1'"), 0);
	ck_assert_int_eq(nf_store_cache_get(st, "k3", &e), 0);
	ck_assert_str_eq(e.components, COMPS("2", "x"));   /* from run 3's node row */
	nf_cache_entry_release(&e);
	/* An entry without components is refused whole, as when the column was NOT NULL. */
	e = (nf_cache_entry){ .key = "k4", .node = "prep", .outputs_json = "[]", .out_digest = "out:4",
			      .metrics_json = "{}", .run_id = r3, .created_ms = 21 };
	ck_assert_int_lt(nf_store_cache_put(st, "p", &e), 0);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_entries WHERE key = 'k4'"), 0);
	/* One whose components are its node's (written by the node's miss) has no row of its
	 * own: read, listed and explained from the node's row, even while that row waits in
	 * the batch. */
	{
		int64_t r4 = begin_run(st, "p");
		bool listed = false;

		ck_assert_int_eq(nf_store_nodes_add(st, r4, &t.g), 0);
		ck_assert_int_eq(nf_store_node_cache_miss(st, r4, "prep", "k5", COMPS("5", "x"), "p"), 0);
		e = (nf_cache_entry){ .key = "k5", .node = "prep", .outputs_json = "[]", .out_digest = "out:5",
				      .metrics_json = "{}", .run_id = r4, .created_ms = 22, .components_in_node = true };
		ck_assert_int_eq(nf_store_cache_put(st, "p", &e), 0);
		ck_assert_int_eq(nf_store_cache_get(st, "k5", &e), 0);
		ck_assert_str_eq(e.components, COMPS("5", "x"));
		nf_cache_entry_release(&e);
		ck_assert_int_eq(nf_store_flush(st), 0);
		ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_components c JOIN cache_entries e"
					     " ON e.rowid = c.entry WHERE e.key = 'k5'"), 0);
		ck_assert_int_eq(nf_store_cache_list(st, &list, &n), 0);
		for (size_t i = 0; i < n; i++)
			if (!strcmp(list[i].key, "k5")) {
				ck_assert_str_eq(list[i].components, COMPS("5", "x"));
				listed = true;
			}
		ck_assert(listed);
		nf_cache_entry_list_free(list, n);
		/* a later run that reused k5 and then missed is compared with k5's components */
		{
			int64_t r5 = begin_run(st, "p");

			ck_assert_int_eq(nf_store_nodes_add(st, r5, &t.g), 0);
			ck_assert_int_eq(nf_store_node_cache(st, r5, "prep", "k5", NULL, true, r4, NULL), 0);
			ck_assert_int_eq(nf_store_node_state(st, r5, "prep", NF_ST_CACHED, 0, NULL, NULL, 0, NULL, 23), 0);
			ck_assert_int_eq(nf_store_run_end(st, r5, NF_RUN_SUCCEEDED), 0);
			miss_explained(st, &t, "k6", COMPS("6", "x"), "param seed changed 5 → 6");
		}
	}
	nf_store_close(st);

	/* The step again (a user_version lowered by hand) finds nothing to move. */
	raw_exec(dbpath, "PRAGMA user_version = 21");
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(raw_int(st, "PRAGMA user_version"), NF_STORE_SCHEMA_LATEST);
	ck_assert_int_eq(nf_store_cache_get(st, "k3", &e), 0);
	ck_assert_str_eq(e.components, COMPS("2", "x"));
	nf_cache_entry_release(&e);
	nf_store_close(st);
}
END_TEST

/* A store of step 22 (components keyed by the key) gets step 23: keyed by the entry. */
/* Why a run failed with no stage to blame: recorded with its end, read back by show; none
 * for a run that did not record one. Step 29 run again (a user_version lowered by hand)
 * finds its column there and leaves it. */
START_TEST(test_run_error)
{
	nf_store *st = NULL;
	char *error = (char *)"unset";
	int64_t a, b;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	a = begin_run(st, "p");
	ck_assert_int_eq(nf_store_run_error_set(st, a, "cannot register model m: no room"), 0);
	ck_assert_int_eq(nf_store_run_end(st, a, NF_RUN_FAILED), 0);
	b = begin_run(st, "p");
	ck_assert_int_eq(nf_store_run_end(st, b, NF_RUN_SUCCEEDED), 0);
	nf_store_close(st);
	raw_exec(dbpath, "PRAGMA user_version = 28");
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(raw_int(st, "PRAGMA user_version"), NF_STORE_SCHEMA_LATEST);
	ck_assert_int_eq(nf_store_run_error_get(st, a, &error), 0);
	ck_assert_str_eq(error, "cannot register model m: no room");
	free(error);
	ck_assert_int_eq(nf_store_run_error_get(st, b, &error), 0);
	ck_assert_ptr_null(error);
	nf_store_close(st);
}
END_TEST

START_TEST(test_migrate_components_by_entry)
{
	nf_store *st = NULL;
	nf_cache_entry e;

	setenv("NTFLOW_TEST_SCHEMA_VERSION", "22", 1);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	unsetenv("NTFLOW_TEST_SCHEMA_VERSION");
	nf_store_close(st);
	raw_exec(dbpath,
		 "INSERT INTO cache_entries (key, pipeline, node, outputs, out_digest, metrics, run_id, created_ms)"
		 " VALUES ('ka', 'p', 'a', '[]', 'out:a', '{}', 1, 1), ('kb', 'p', 'b', '[]', 'out:b', '{}', 1, 2);"
		 "INSERT INTO cache_components (key, components) VALUES ('ka', '{\"a\":1}'), ('kb', '{\"b\":2}'),"
		 " ('gone', '{}');");
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(raw_int(st, "PRAGMA user_version"), NF_STORE_SCHEMA_LATEST);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM pragma_table_info('cache_components') WHERE name = 'entry'"), 1);
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM cache_components"), 2);   /* an orphan is not kept */
	ck_assert_int_eq(raw_int(st, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
				     " AND name = 'cache_entries_components'"), 1);   /* step 24 */
	ck_assert_int_eq(nf_store_cache_get(st, "kb", &e), 0);
	ck_assert_str_eq(e.components, "{\"b\":2}");
	nf_cache_entry_release(&e);
	nf_store_close(st);
	raw_exec(dbpath, "PRAGMA user_version = 22");   /* the step again finds nothing to do */
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(nf_store_cache_get(st, "ka", &e), 0);
	ck_assert_str_eq(e.components, "{\"a\":1}");
	nf_cache_entry_release(&e);
	nf_store_close(st);
}
END_TEST

/* The counts a run's end writes are those of its rows, whichever states its nodes went
 * through (a final state left for a retry, one replaced by another); after a lost batch
 * they are counted from the rows. */
START_TEST(test_run_end_counts)
{
	nf_store *st = NULL;
	test_graph t;
	int64_t run;
	const char *rows_done = "SELECT count(*) FROM nodes WHERE state IN ('succeeded','cached','failed',"
				"'timed-out','skipped','cancelled','rejected')";

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	/* prep: failed, retried, succeeded; tune[lr=0.1]: failed, then running again */
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_FAILED, 1, NULL, NULL, 0, NULL, 1000), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_RUNNING, 2, NULL, NULL, 0, NULL, 1001), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_SUCCEEDED, 2, NULL, NULL, 0, NULL, 1002), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.1]", NF_ST_CACHED, 1, NULL, NULL, 0, NULL, 1003), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.1]", NF_ST_FAILED, 1, NULL, NULL, 0, NULL, 1004), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.1]", NF_ST_RUNNING, 2, NULL, NULL, 0, NULL, 1005), 0);
	ck_assert_int_eq(nf_store_run_end(st, run, NF_RUN_FAILED), 0);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_total FROM runs"), 3);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_done FROM runs"), 1);
	ck_assert_int_eq(raw_int(st, rows_done), 1);
	/* A second run: a node given a final state in a batch that is lost, then the end. */
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_SUCCEEDED, 1, NULL, NULL, 0, NULL, 2000), 0);
	nf_store_abort(st);
	ck_assert_int_eq(nf_store_run_end(st, run, NF_RUN_FAILED), 0);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_total FROM runs WHERE id = 2"), 3);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_done FROM runs WHERE id = 2"), 0);
	nf_store_close(st);
}
END_TEST

/* A fully cached run's phases, taken from its graph, are those its rows give (read once
 * the store no longer holds the graph): the same phases in the same order, counts and
 * times. Also when one node ran, and when one is in state cached without its row saying
 * so (then read from the rows). */
START_TEST(test_phase_totals_cached)
{
	static const char *const names[] = { "prep", "tune[lr=0.1]", "tune[lr=0.2]" };
	nf_store *st = NULL;
	test_graph t;
	nf_stage_more prep = { .phase = "prep" }, train = { .phase = "train" };
	nf_phase_row *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	int64_t run;

	graph_init(&t);
	t.stages[0].more = &prep;
	t.stages[1].more = &train;
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	for (int mode = 0; mode < 3; mode++) {   /* 0: all cached, 1: prep ran, 2: prep not a hit */
		run = begin_run(st, "p");
		ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
		for (size_t i = 0; i < 3; i++) {
			if (i == 0 && mode == 1) {
				ck_assert_int_eq(nf_store_node_state(st, run, names[i], NF_ST_RUNNING, 1, NULL, NULL, 0, NULL, 500), 0);
				ck_assert_int_eq(nf_store_node_state(st, run, names[i], NF_ST_SUCCEEDED, 1, NULL, NULL, 0, NULL, 900), 0);
				continue;
			}
			if (i != 0 || mode != 2)
				ck_assert_int_eq(nf_store_node_cache(st, run, names[i], "k", NULL, true, 1, NULL), 0);
			ck_assert_int_eq(nf_store_node_state(st, run, names[i], NF_ST_CACHED, 1, NULL, NULL, 0, NULL, 1000), 0);
		}
		ck_assert_int_eq(nf_store_phase_totals(st, run, &a, &na), 0);
		nf_store_nodes_forget(st);
		ck_assert_int_eq(nf_store_phase_totals(st, run, &b, &nb), 0);
		ck_assert_uint_eq(na, 2);
		ck_assert_uint_eq(nb, na);
		for (size_t i = 0; i < na; i++) {
			ck_assert_str_eq(a[i].phase, b[i].phase);
			ck_assert_int_eq(a[i].nodes, b[i].nodes);
			ck_assert_int_eq(a[i].ran, b[i].ran);
			ck_assert_int_eq(a[i].cached, b[i].cached);
			ck_assert_int_eq(a[i].cpu_ms, b[i].cpu_ms);
			ck_assert_int_eq(a[i].wall_ms, b[i].wall_ms);
		}
		ck_assert_str_eq(a[0].phase, "prep");
		ck_assert_int_eq(a[0].cached, mode == 1 ? 0 : 1);
		ck_assert_int_eq(a[0].ran, mode == 1 ? 1 : 0);
		ck_assert_int_eq(a[0].wall_ms, mode == 1 ? 400 : mode == 2 ? 1000 : 0);
		ck_assert_str_eq(a[1].phase, "train");
		ck_assert_int_eq(a[1].nodes, 2);
		ck_assert_int_eq(a[1].cached, 2);
		nf_phase_row_list_free(a, na);
		nf_phase_row_list_free(b, nb);
		ck_assert_int_eq(nf_store_run_end(st, run, NF_RUN_SUCCEEDED), 0);
	}
	nf_store_close(st);
}
END_TEST

/* A run's end writes its summary, and the listings read it rather than counting nodes (a
 * summary changed by hand shows); recovery of a crashed run writes it too; a run whose
 * nodes were written after its end (nf_store_run_summarize) is counted again. */
START_TEST(test_run_summary)
{
	nf_store *st = NULL;
	test_graph t;
	nf_run_info r;
	int64_t run, dead;
	int nnodes, ndone;

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	run = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, run, &t.g), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_SUCCEEDED, 1, NULL, NULL, 0, NULL, 1000), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_total IS NULL FROM runs"), 1);   /* running: counted live */
	list_counts(st, run, &nnodes, &ndone);
	ck_assert_int_eq(nnodes, 3);
	ck_assert_int_eq(ndone, 1);
	ck_assert_int_eq(nf_store_run_end(st, run, NF_RUN_FAILED), 0);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_total FROM runs"), 3);
	ck_assert_int_eq(raw_int(st, "SELECT nodes_done FROM runs"), 1);

	raw_exec(dbpath, "UPDATE runs SET nodes_total = 30, nodes_done = 10");
	list_counts(st, run, &nnodes, &ndone);
	ck_assert_int_eq(nnodes, 30);
	ck_assert_int_eq(ndone, 10);
	ck_assert_int_eq(nf_store_run_get(st, run, &r), 0);
	ck_assert_int_eq(r.nnodes, 30);
	ck_assert_int_eq(r.ndone, 10);
	nf_run_info_release(&r);

	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.1]", NF_ST_SKIPPED, 0, NULL, NULL, 0, NULL, 2000), 0);
	ck_assert_int_eq(nf_store_run_summarize(st, run), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	list_counts(st, run, &nnodes, &ndone);
	ck_assert_int_eq(nnodes, 3);
	ck_assert_int_eq(ndone, 2);

	/* A run whose ntflow died, recovered at the next open: crashed, with its counts. */
	dead = begin_run(st, "p");
	ck_assert_int_eq(nf_store_nodes_add(st, dead, &t.g), 0);
	ck_assert_int_eq(nf_store_node_state(st, dead, "prep", NF_ST_CACHED, 0, NULL, NULL, 0, NULL, 1000), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	nf_store_close(st);
	{
		char sql[128];

		snprintf(sql, sizeof(sql), "UPDATE runs SET pid = %d WHERE id = %lld", (int)dead_pid(), (long long)dead);
		raw_exec(dbpath, sql);
	}
	ck_assert_int_eq(nf_store_open(&st, dbpath, false), 0);
	ck_assert_int_eq(raw_int(st, "SELECT status = 'crashed' AND nodes_total = 3 AND nodes_done = 1"
				     " FROM runs WHERE id = 2"), 1);
	nf_store_close(st);
}
END_TEST

/* The whole plan of sql as one string. */
static char *
query_plan(nf_store *st, const char *sql)
{
	sqlite3_stmt *q;
	char *plan = xstrdup(""), *next;
	char *explain = xasprintf("EXPLAIN QUERY PLAN %s", sql);

	ck_assert_msg(sqlite3_prepare_v2(st->db, explain, -1, &q, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(st->db));
	while (sqlite3_step(q) == SQLITE_ROW) {
		next = xasprintf("%s%s\n", plan, (const char *)sqlite3_column_text(q, 3));
		free(plan);
		plan = next;
	}
	sqlite3_finalize(q);
	free(explain);
	return plan;
}

/* `show --perf` finds a node's history through nodes_perf, never by scanning nodes or
 * runs; `runs` reads no table but runs when every listed run has its summary. */
START_TEST(test_history_query_plans)
{
	nf_store *st = NULL;
	char *plan;

	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	plan = query_plan(st, nf_store__perf_history_sql);
	ck_assert_msg(strstr(plan, "SEARCH h USING INDEX nodes_perf (name=? AND run_id<?)"), "%s", plan);
	ck_assert_msg(!strstr(plan, "SCAN"), "%s", plan);
	ck_assert_msg(!strstr(plan, "TEMP B-TREE"), "%s", plan);   /* walked in order, no sort */
	free(plan);
	/* A miss finds the first keyed run of its node in node_first_keyed, then walks the runs
	 * of its pipeline back to it, newest first, each probed for the node by key. */
	plan = query_plan(st, nf_store__sql(SQL_NODE_CACHE_MISS));
	ck_assert_msg(strstr(plan, "SEARCH k USING PRIMARY KEY (pipeline=? AND name=?)"), "%s", plan);
	ck_assert_msg(strstr(plan, "SEARCH r USING COVERING INDEX runs_pipeline (pipeline=? AND id>? AND id<?)"), "%s",
		      plan);
	ck_assert_msg(strstr(plan, "SEARCH p USING INDEX sqlite_autoindex_nodes_1 (run_id=? AND name=?)"), "%s", plan);
	ck_assert_msg(!strstr(plan, "SCAN"), "%s", plan);
	ck_assert_msg(!strstr(plan, "TEMP B-TREE"), "%s", plan);
	free(plan);
	/* A stage's cache columns: its row and the miss's earlier row by key, or (pruned) the
	 * entries of the node alone, never every entry (`show` of a cached 10 000: 7 s). */
	plan = query_plan(st, nf_store__sql(SQL_NODE_CACHE_GET));
	ck_assert_msg(strstr(plan, "SEARCH e USING INDEX cache_entries_node (pipeline=? AND node=?)"), "%s", plan);
	ck_assert_msg(!strstr(plan, "SCAN"), "%s", plan);
	free(plan);
	/* runs --pipeline: one pipeline's runs, newest first, from the index. */
	plan = query_plan(st, nf_store__sql(SQL_RUN_LIST_OF));
	ck_assert_msg(strstr(plan, "runs_pipeline (pipeline=?)"), "%s", plan);
	ck_assert_msg(!strstr(plan, "SCAN") && !strstr(plan, "TEMP B-TREE"), "%s", plan);
	free(plan);
	/* diff: the previous run of a pipeline, a run's outputs. */
	plan = query_plan(st, nf_store__prev_run_sql);
	ck_assert_msg(strstr(plan, "runs_pipeline (pipeline=? AND id<?)"), "%s", plan);
	ck_assert_msg(!strstr(plan, "SCAN"), "%s", plan);
	free(plan);
	plan = query_plan(st, nf_store__run_outputs_sql);
	ck_assert_msg(strstr(plan, "nodes_run_seq (run_id=?)"), "%s", plan);
	ck_assert_msg(!strstr(plan, "SCAN"), "%s", plan);
	free(plan);
	nf_store_close(st);
}
END_TEST

/* The perf history through the index gives what a scan of every earlier run gave: per node
 * the newest `window` earlier runs of the same pipeline where it succeeded without the
 * cache; another pipeline's node of the same name, a cached, a failed node and later runs
 * do not count. */
typedef struct perf_seen {
	char names[32][16];
	int64_t walls[32];
	size_t n;
} perf_seen;

static void
perf_collect(void *ctx, const char *node, int64_t wall_ms, int64_t cpu_ms, int64_t rss_kb)
{
	perf_seen *s = ctx;

	(void)cpu_ms;
	(void)rss_kb;
	ck_assert_uint_lt(s->n, 32);
	snprintf(s->names[s->n], sizeof(s->names[0]), "%s", node);
	s->walls[s->n++] = wall_ms;
}

static void
perf_run(nf_store *st, const char *pipeline, test_graph *t, nf_state prep_state, int64_t wall)
{
	nf_job_result res = { .exited = true, .exit_code = 0, .wall_ms = wall, .user_ms = 1, .max_rss_kb = 7 };
	int64_t run = begin_run(st, pipeline);

	ck_assert_int_eq(nf_store_nodes_add(st, run, &t->g), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", NF_ST_RUNNING, 1, NULL, NULL, 0, NULL, 1000), 0);
	if (prep_state == NF_ST_FAILED)
		res.exit_code = 1;
	ck_assert_int_eq(nf_store_node_state(st, run, "prep", prep_state, 1, &res, NULL, 0, NULL, 1000 + wall), 0);
	if (prep_state == NF_ST_CACHED)
		ck_assert_int_eq(nf_store_node_cache(st, run, "prep", "k", "{}", true, 1, NULL), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.1]", NF_ST_RUNNING, 1, NULL, NULL, 0, NULL, 1000), 0);
	ck_assert_int_eq(nf_store_node_state(st, run, "tune[lr=0.1]", NF_ST_SUCCEEDED, 1, &res, NULL, 0, NULL, 1000), 0);
	ck_assert_int_eq(nf_store_run_end(st, run, NF_RUN_SUCCEEDED), 0);
}

START_TEST(test_perf_history)
{
	nf_store *st = NULL;
	test_graph t;
	perf_seen seen = { 0 };

	graph_init(&t);
	ck_assert_int_eq(nf_store_open(&st, ":memory:", true), 0);
	perf_run(st, "p", &t, NF_ST_SUCCEEDED, 10);    /* 1: beyond the window for tune */
	perf_run(st, "p", &t, NF_ST_SUCCEEDED, 20);    /* 2 */
	perf_run(st, "q", &t, NF_ST_SUCCEEDED, 999);   /* 3: another pipeline */
	perf_run(st, "p", &t, NF_ST_CACHED, 40);       /* 4: prep cached */
	perf_run(st, "p", &t, NF_ST_FAILED, 50);       /* 5: prep failed */
	perf_run(st, "p", &t, NF_ST_SUCCEEDED, 60);    /* 6 */
	perf_run(st, "p", &t, NF_ST_SUCCEEDED, 70);    /* 7: the run looked at */
	perf_run(st, "p", &t, NF_ST_SUCCEEDED, 80);    /* 8: later */
	ck_assert_int_eq(nf_store_perf_history(st, 7, 3, perf_collect, &seen), 0);
	/* In the run's order: prep (seq 0), tune[lr=0.2] (none), tune[lr=0.1]. */
	ck_assert_uint_eq(seen.n, 6);
	ck_assert_str_eq(seen.names[0], "prep");
	ck_assert_int_eq(seen.walls[0], 60);
	ck_assert_int_eq(seen.walls[1], 20);
	ck_assert_int_eq(seen.walls[2], 10);
	for (size_t i = 3; i < 6; i++)
		ck_assert_str_eq(seen.names[i], "tune[lr=0.1]");
	ck_assert_int_eq(seen.walls[3], 60);
	ck_assert_int_eq(seen.walls[4], 50);
	ck_assert_int_eq(seen.walls[5], 40);
	nf_store_close(st);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_migrate_memory);
	tcase_add_test(tc, test_reopen);
	tcase_add_test(tc, test_migrate_forward);
	tcase_add_test(tc, test_open_missing);
	tcase_add_test(tc, test_newer_schema);
	tcase_add_test(tc, test_garbage_file);
	tcase_add_test(tc, test_migration_failure_rolls_back);
	tcase_add_test(tc, test_runs);
	tcase_add_test(tc, test_run_for_interval);
	tcase_add_test(tc, test_nodes_batched);
	tcase_add_test(tc, test_nodes_many);
	tcase_add_test(tc, test_attempts);
	tcase_add_test(tc, test_metrics);
	tcase_add_test(tc, test_recover_other_host);
	tcase_add_test(tc, test_recover_other_host_own_lock);
	tcase_add_test(tc, test_runs_active_other_host);
	tcase_add_test(tc, test_recover_dead_pid);
	tcase_add_test(tc, test_recover_kills_group);
	tcase_add_test(tc, test_group_start_at_commit);
	tcase_add_test(tc, test_locked);
	tcase_add_test(tc, test_crash_mid_batch);
	tcase_add_test(tc, test_close_commits_batch);
	tcase_add_test(tc, test_before_commit);
	tcase_add_test(tc, test_miss_explained_lazily);
	tcase_add_test(tc, test_miss_previous_run);
	tcase_add_test(tc, test_ahead);
	tcase_add_test(tc, test_ahead_behind);
	tcase_add_test(tc, test_ahead_stale);
	tcase_add_test(tc, test_ahead_many);
	tcase_add_test(tc, test_ahead_out_of_order);
	tcase_add_test(tc, test_miss_previous_run_kept);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_prune_keeps_miss_explained);
	tcase_add_test(tc, test_compare_reads);
	tcase_add_test(tc, test_workspace);
	tcase_add_test(tc, test_marker);
	tcase_add_test(tc, test_failure_is_kept);
	tcase_add_test(tc, test_failure_other_thread);
	tcase_add_test(tc, test_open_read);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_migrate_run_summary);
	tcase_add_test(tc, test_migrate_cache_components);
	tcase_add_test(tc, test_migrate_components_by_entry);
	tcase_add_test(tc, test_run_error);
	tcase_add_test(tc, test_run_summary);
	tcase_add_test(tc, test_run_end_counts);
	tcase_add_test(tc, test_phase_totals_cached);
	tcase_add_test(tc, test_history_query_plans);
	tcase_add_test(tc, test_perf_history);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
