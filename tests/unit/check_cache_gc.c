/* check_cache_gc.c: the cache's retention (src/gov/cache-gc.c), on a real store and object
 * store: which entries a policy drops (a pipeline's own only, when it names one), and that
 * the objects no remaining entry reaches go while the others stay. */
#include "config.h"
#include "ntflow/gov.h"
#include "ntflow/cache.h"
#include "ntflow/graph.h"

#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-fixture.h"

/* A store and an object store in the test's folder, and one stage "train" (a graph of one
 * node) for the runs' node rows. */
typedef struct gc_fixture {
	nf_store *st;
	nf_objstore *objs;
	nf_stage stage;
	nf_node node;
	nf_graph g;
} gc_fixture;

static void
fixture_open(gc_fixture *f)
{
	char *cache_dir = xasprintf("%s/cache", tmpdir);

	memset(f, 0, sizeof(*f));
	f->stage = (nf_stage){ .kind = NF_STAGE, .name = "train" };
	f->node = (nf_node){ .id = 0, .stage = &f->stage, .name = "train" };
	f->g = (nf_graph){ .nodes = &f->node, .nnodes = 1 };
	ck_assert_int_eq(nf_store_open(&f->st, dbpath, true), 0);
	ck_assert_int_eq(nf_objstore_open(&f->objs, cache_dir), 0);
	free(cache_dir);
}

static void
fixture_close(gc_fixture *f)
{
	nf_objstore_free(f->objs);
	nf_store_close(f->st);
}

/* A succeeded run of pipeline whose node "train" stored text under key: the object's
 * digest in digest. */
static int64_t
stored_run(gc_fixture *fx, const char *pipeline, const char *key, const char *text, char digest[80])
{
	nf_store *st = fx->st;
	nf_run_info info = { .pipeline = (char *)pipeline, .file = "p.dag", .logical_date = "2026-12-05",
			     .trigger = "manual", .params_json = "{}" };
	char *file = xasprintf("%s/%s.out", tmpdir, key), *outs;
	FILE *f = fopen(file, "w");
	nf_cache_entry e;

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(nf_objstore_put(fx->objs, file, digest), 0);
	ck_assert_int_eq(nf_store_run_begin(st, &info), 0);
	ck_assert_int_eq(nf_store_nodes_add(st, info.id, &fx->g), 0);
	ck_assert_int_eq(nf_store_node_cache_miss(st, info.id, "train", key, "{}", pipeline), 0);
	outs = xasprintf("[{\"path\":\"model.txt\",\"digest\":\"%s\"}]", digest);
	e = (nf_cache_entry){ .key = (char *)key, .node = "train", .outputs_json = outs, .out_digest = "out:x",
			      .metrics_json = "{}", .components = "{}", .run_id = info.id, .created_ms = 1 };
	ck_assert_int_eq(nf_store_cache_put(st, pipeline, &e), 0);
	ck_assert_int_eq(nf_store_node_state(st, info.id, "train", NF_ST_SUCCEEDED, 1, NULL, NULL, 0, NULL, 1000), 0);
	ck_assert_int_eq(nf_store_run_end(st, info.id, NF_RUN_SUCCEEDED), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	free(outs);
	free(file);
	return info.id;
}

/* Runs sql on the database beside the store's connection (what ntflow never writes so). */
static void
raw_sql(const char *sql)
{
	sqlite3 *db;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static bool
has_entry(nf_store *st, const char *key)
{
	nf_cache_entry e;
	bool yes = nf_store_cache_get(st, key, &e) == 0;

	if (yes)
		nf_cache_entry_release(&e);
	return yes;
}

/* Runs o1, w1, w2, w3, o2, each storing its own model. w's gc with keep_runs 2 counts w's
 * runs only: it drops w1's entry and object, and leaves o1's (another pipeline's, though
 * no rule of w would keep it). A gc of every pipeline with keep_runs 2 keeps the newest two
 * runs (o2, w3): it drops o1 and w2 then. A gc without rules drops no entry. */
START_TEST(test_pipeline_gc)
{
	gc_fixture f;
	char d_o1[80], d_o2[80], d_w1[80], d_w2[80], d_w3[80];
	nf_cache_gc_totals tot;
	nf_cache_gc_policy p = { 2, -1, "w", NULL, 0, NULL, NULL };

	fixture_open(&f);
	stored_run(&f, "o", "k-o1", "other 1\n", d_o1);
	stored_run(&f, "w", "k-w1", "model 1\n", d_w1);
	stored_run(&f, "w", "k-w2", "model 2\n", d_w2);
	stored_run(&f, "w", "k-w3", "model 3\n", d_w3);
	stored_run(&f, "o", "k-o2", "other 2\n", d_o2);
	p.now_ms = nf_now_realtime_ms() + 60000;   /* every object written before */

	ck_assert_int_eq(nf_cache_gc(f.st, f.objs, &p, &tot), 0);
	ck_assert_uint_eq(tot.entries, 5);
	ck_assert_uint_eq(tot.dropped, 1);
	ck_assert_uint_eq(tot.objects, 1);
	ck_assert(!has_entry(f.st, "k-w1") && !nf_objstore_has(f.objs, d_w1, true));
	ck_assert(has_entry(f.st, "k-w2") && has_entry(f.st, "k-w3") && has_entry(f.st, "k-o1") && has_entry(f.st, "k-o2"));
	ck_assert(nf_objstore_has(f.objs, d_w2, true) && nf_objstore_has(f.objs, d_o1, true));

	p.pipeline = NULL;
	ck_assert_int_eq(nf_cache_gc(f.st, f.objs, &p, &tot), 0);
	ck_assert_uint_eq(tot.dropped, 2);
	ck_assert_uint_eq(tot.objects, 2);
	ck_assert(!has_entry(f.st, "k-o1") && !has_entry(f.st, "k-w2"));
	ck_assert(has_entry(f.st, "k-w3") && has_entry(f.st, "k-o2"));
	ck_assert(nf_objstore_has(f.objs, d_w3, true) && nf_objstore_has(f.objs, d_o2, true));
	ck_assert(!nf_objstore_has(f.objs, d_o1, true) && !nf_objstore_has(f.objs, d_w2, true));

	p.keep_runs = -1;    /* no rule: no entry goes */
	ck_assert_int_eq(nf_cache_gc(f.st, f.objs, &p, &tot), 0);
	ck_assert_uint_eq(tot.dropped, 0);
	ck_assert_uint_eq(tot.entries, 2);
	fixture_close(&f);
}
END_TEST

/* Run r of the fixture pruned by hand, as `ntflow prune` does. */
static void
pruned_by_hand(gc_fixture *fx, int64_t r)
{
	nf_prune_counts counts;

	ck_assert_int_eq(nf_prune_run(fx->st, r, "test", nf_now_realtime_ms(), false, &counts), 0);
}

/* Pipeline w's cache_gc after a run, under keep_runs = 2 (objects written up to a minute
 * from now counting as older). */
static void
gc_keeping_2(gc_fixture *fx, nf_cache_gc_totals *tot)
{
	nf_prune_policy keep2 = { .keep_runs = 2, .keep_days = -1, .pipeline = "w" };
	nf_cache_gc_policy p = { -1, -1, "w", &keep2, 0, NULL, NULL };

	keep2.now_ms = nf_now_realtime_ms();
	p.now_ms = keep2.now_ms + 60000;
	ck_assert_int_eq(nf_cache_gc(fx->st, fx->objs, &p, tot), 0);
}

/* A pipeline's cache_gc: the runs its prune policy keeps keep their entries, whether
 * pruned before (here by hand, with a smaller number: w2) or not (w3); the runs it lets go
 * lose theirs, pruned before too (w1). */
START_TEST(test_prune_policy)
{
	gc_fixture f;
	char d1[80], d2[80], d3[80];
	nf_cache_gc_totals tot;

	fixture_open(&f);
	pruned_by_hand(&f, stored_run(&f, "w", "k-w1", "model 1\n", d1));
	pruned_by_hand(&f, stored_run(&f, "w", "k-w2", "model 2\n", d2));
	stored_run(&f, "w", "k-w3", "model 3\n", d3);
	gc_keeping_2(&f, &tot);
	ck_assert_uint_eq(tot.dropped, 1);
	ck_assert_uint_eq(tot.pruned_kept, 1);
	ck_assert(!has_entry(f.st, "k-w1") && has_entry(f.st, "k-w2") && has_entry(f.st, "k-w3"));
	ck_assert(!nf_objstore_has(f.objs, d1, true) && nf_objstore_has(f.objs, d2, true));
	fixture_close(&f);
}
END_TEST

/* A row without a key (the schema allows one; ntflow never writes it) cannot be dropped by
 * its key: it is counted, and its objects stay with it. */
START_TEST(test_row_without_key)
{
	gc_fixture f;
	char d1[80], d2[80];
	nf_cache_gc_totals tot;
	nf_cache_gc_policy p = { 0, -1, NULL, NULL, 0, NULL, NULL };

	fixture_open(&f);
	stored_run(&f, "w", "k-w1", "model 1\n", d1);
	stored_run(&f, "w", "k-w2", "model 2\n", d2);
	raw_sql("UPDATE cache_entries SET key = NULL WHERE key = 'k-w1'");
	p.now_ms = nf_now_realtime_ms() + 60000;
	ck_assert_int_eq(nf_cache_gc(f.st, f.objs, &p, &tot), 0);
	ck_assert_uint_eq(tot.entries, 2);
	ck_assert(nf_objstore_has(f.objs, d1, true));   /* the keyless row's */
	ck_assert(has_entry(f.st, "k-w2"));             /* the last successful run's */
	fixture_close(&f);
}
END_TEST

/* A succeeded run of pipeline whose node "train" reused run from's entry of key. */
static int64_t
reusing_run(gc_fixture *fx, const char *pipeline, const char *key, int64_t from)
{
	nf_run_info info = { .pipeline = (char *)pipeline, .file = "p.dag", .logical_date = "2026-12-05",
			     .trigger = "manual", .params_json = "{}" };

	ck_assert_int_eq(nf_store_run_begin(fx->st, &info), 0);
	ck_assert_int_eq(nf_store_nodes_add(fx->st, info.id, &fx->g), 0);
	ck_assert_int_eq(nf_store_node_cache(fx->st, info.id, "train", key, NULL, true, from, NULL), 0);
	ck_assert_int_eq(nf_store_node_state(fx->st, info.id, "train", NF_ST_CACHED, 1, NULL, NULL, 0, NULL, 1000), 0);
	ck_assert_int_eq(nf_store_run_end(fx->st, info.id, NF_RUN_SUCCEEDED), 0);
	ck_assert_int_eq(nf_store_flush(fx->st), 0);
	return info.id;
}

/* A run the policy keeps (its version in production again), pruned before, that a run it
 * lets go reused: still kept, with the entry it made (the prune's plan also lists, for its
 * own needs, the runs pruned before that a run going refers to). */
START_TEST(test_prune_policy_referred)
{
	gc_fixture f;
	char d1[80], d4[80], d5[80];
	nf_cache_gc_totals tot;
	char *sql;
	int64_t r1;

	fixture_open(&f);
	r1 = stored_run(&f, "w", "k-w1", "model 1\n", d1);
	pruned_by_hand(&f, r1);
	reusing_run(&f, "w", "k-w1", r1);   /* let go: older than the newest 2 */
	reusing_run(&f, "w", "k-w1", r1);
	stored_run(&f, "w", "k-w4", "model 4\n", d4);
	stored_run(&f, "w", "k-w5", "model 5\n", d5);
	sql = xasprintf("INSERT INTO model_versions (model, version, run_id, artifact_sha256, artifact_size,"
			" artifact_path, status, created_ms) VALUES ('m', 1, %lld, 'x', 1, 'a', 'production', 1)",
			(long long)r1);
	raw_sql(sql);
	free(sql);
	gc_keeping_2(&f, &tot);
	ck_assert(has_entry(f.st, "k-w1") && nf_objstore_has(f.objs, d1, true));
	ck_assert(has_entry(f.st, "k-w4") && has_entry(f.st, "k-w5"));
	fixture_close(&f);
}
END_TEST

/* A run in progress: nothing is touched, NF_EBUSY. */
START_TEST(test_busy)
{
	gc_fixture f;
	char d[80];
	nf_cache_gc_totals tot;
	nf_cache_gc_policy p = { 1, -1, NULL, NULL, 0, NULL, NULL };
	nf_run_info info = { .pipeline = "w", .file = "p.dag", .logical_date = "2026-12-05",
			     .trigger = "manual", .params_json = "{}" };

	fixture_open(&f);
	stored_run(&f, "w", "k-w1", "model 1\n", d);
	stored_run(&f, "w", "k-w2", "model 2\n", d);
	ck_assert_int_eq(nf_store_run_begin(f.st, &info), 0);
	p.now_ms = nf_now_realtime_ms() + 60000;
	ck_assert_int_eq(nf_cache_gc(f.st, f.objs, &p, &tot), NF_EBUSY);
	ck_assert(has_entry(f.st, "k-w1"));
	fixture_close(&f);
}
END_TEST

static Suite *
cache_gc_suite(void)
{
	Suite *s = suite_create("cache_gc");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_pipeline_gc);
	tcase_add_test(tc, test_prune_policy);
	tcase_add_test(tc, test_prune_policy_referred);
	tcase_add_test(tc, test_row_without_key);
	tcase_add_test(tc, test_busy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(cache_gc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
