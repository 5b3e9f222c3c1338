/* check_store_batch.c: unit tests of the store's batched reads and writes for a cached
 * rerun: each batched form must give what the row-by-row one gives (the stat cache's
 * preloaded rows, the CPU per phase read from one range of attempts). */
#include "config.h"
#include "ntflow/store.h"
#include "ntflow/cache.h"
#include "ntflow/exec.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-fixture.h"

#define NPATHS 2000

static char *
path_of(int i)
{
	return xasprintf("/w/out/%04d%s", i, i % 7 ? "" : ".big");
}

static void
sha_of(char sha[65], int i)
{
	for (int k = 0; k < 64; k++)
		sha[k] = "0123456789abcdef"[(i * 31 + k) % 16];
	sha[64] = '\0';
}

/* A table of NPATHS rows: path i has a row unless i % 5 == 0. */
static void
fill_table(void)
{
	nf_store *st = NULL;
	nf_statcache *sc;

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	sc = nf_store_statcache(st);
	sc->begin(sc);
	for (int i = 0; i < NPATHS; i++) {
		char *p = path_of(i), sha[65];
		nf_statkey k = { 100 + i, 1000000LL * i, 7000 + i, 2000000LL * i };

		sha_of(sha, i);
		if (i % 5)
			sc->put(sc, p, &k, sha);
		free(p);
	}
	sc->end(sc);
	nf_store_close(st);
}

typedef struct got {
	bool hit;
	nf_statkey key;
	char sha[65];
} got;

/* The gets of paths first..first+n (and NPATHS + 10 paths beyond the table) on a store
 * that preloads the paths [pfirst, pfirst + pn) first (pn 0: no preload), into out. */
static void
gets(got *out, int first, int n, int pfirst, int pn)
{
	nf_store *st = NULL;
	nf_statcache *sc;
	char **pp = xcalloc((size_t)pn + 1, sizeof(*pp));

	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	sc = nf_store_statcache(st);
	for (int i = 0; i < pn; i++)
		pp[i] = path_of(pfirst + i);
	if (pn)
		nf_store_statcache_preload(st, (const char *const *)pp, (size_t)pn);
	for (int i = 0; i < n; i++) {
		char *p = path_of(first + i);

		memset(&out[i], 0, sizeof(out[i]));
		out[i].hit = sc->get(sc, p, &out[i].key, out[i].sha);
		free(p);
	}
	nf_store_close(st);
	for (int i = 0; i < pn; i++)
		free(pp[i]);
	free(pp);
}

static void
assert_same(const got *a, const got *b, int n)
{
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(a[i].hit, b[i].hit);
		if (!a[i].hit)
			continue;
		ck_assert_int_eq(a[i].key.size, b[i].key.size);
		ck_assert_int_eq(a[i].key.mtime_ns, b[i].key.mtime_ns);
		ck_assert_int_eq(a[i].key.inode, b[i].key.inode);
		ck_assert_int_eq(a[i].key.ctime_ns, b[i].key.ctime_ns);
		ck_assert_str_eq(a[i].sha, b[i].sha);
	}
}

/* Few paths among many rows (1600): read 64 to a statement through the path index. */
START_TEST(test_statcache_preload_few)
{
	int n = NPATHS + 10;
	got *plain = xcalloc((size_t)n, sizeof(*plain)), *pre = xcalloc((size_t)n, sizeof(*pre));

	fill_table();
	gets(plain, 0, n, 0, 0);
	/* 150 preloaded (beyond the table's end too), every path asked */
	gets(pre, 0, n, NPATHS - 140, 150);
	assert_same(plain, pre, n);
	ck_assert(plain[1].hit && !plain[0].hit);
	free(plain);
	free(pre);
}
END_TEST

/* About as many paths as rows: the table read whole. */
START_TEST(test_statcache_preload_most)
{
	int n = NPATHS + 10;
	got *plain = xcalloc((size_t)n, sizeof(*plain)), *pre = xcalloc((size_t)n, sizeof(*pre));

	fill_table();
	gets(plain, 0, n, 0, 0);
	gets(pre, 0, n, 3, NPATHS);
	assert_same(plain, pre, n);
	free(plain);
	free(pre);
}
END_TEST

/* A store on dbpath and its stat cache, with the two hashes the tests below put. */
static nf_statcache *
open_cache(nf_store **st, char sha1[65], char sha2[65])
{
	sha_of(sha1, 1);
	sha_of(sha2, 2);
	ck_assert_int_eq(nf_store_open(st, dbpath, true), 0);
	return nf_store_statcache(*st);
}

/* A preloaded path is answered from memory (a row written by another handle since is not
 * seen: what the preload read stays true of the file), and a put through the cache itself
 * replaces it. Many more rows than paths: the paths' rows are held, not windows. */
START_TEST(test_statcache_preload_memory_and_put)
{
	nf_store *st = NULL, *other = NULL;
	nf_statcache *sc, *osc;
	const char *paths[] = { "/w/a", "/w/b", "/w/a" };
	nf_statkey k1 = { 1, 2, 3, 4 }, k2 = { 5, 6, 7, 8 }, got_k;
	char sha1[65], sha2[65], got_sha[65];

	sc = open_cache(&st, sha1, sha2);
	sc->begin(sc);
	for (int i = 0; i < 1100; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/w/fill/%d", i);
		sc->put(sc, p, &k2, sha2);
	}
	sc->end(sc);
	sc->put(sc, "/w/a", &k1, sha1);
	nf_store_statcache_preload(st, paths, 3);
	ck_assert_int_eq(nf_store_open(&other, dbpath, true), 0);
	osc = nf_store_statcache(other);
	osc->put(osc, "/w/a", &k2, sha2);
	osc->put(osc, "/w/b", &k2, sha2);
	ck_assert(sc->get(sc, "/w/a", &got_k, got_sha));
	ck_assert_int_eq(got_k.size, 1);
	ck_assert_str_eq(got_sha, sha1);
	ck_assert(!sc->get(sc, "/w/b", &got_k, got_sha));
	ck_assert_uint_eq(nf_store_statcache_held(st), 2);
	/* not preloaded: asked of the table */
	osc->put(osc, "/w/c", &k2, sha2);
	ck_assert(sc->get(sc, "/w/c", &got_k, got_sha));
	ck_assert_int_eq(got_k.inode, 7);
	sc->put(sc, "/w/b", &k1, sha1);
	ck_assert(sc->get(sc, "/w/b", &got_k, got_sha));
	ck_assert_int_eq(got_k.ctime_ns, 4);
	ck_assert_str_eq(got_sha, sha1);
	nf_store_close(other);
	nf_store_close(st);
}
END_TEST

/* A preload on an empty table (a workspace's first run) holds nothing per path: every
 * get misses without a row read, but for what the cache itself put since, which it
 * answers (preloaded path or not) and which reaches the table. */
START_TEST(test_statcache_preload_empty)
{
	nf_store *st = NULL, *other = NULL;
	nf_statcache *sc, *osc;
	const char *paths[] = { "/w/a", "/w/b" };
	nf_statkey k1 = { 1, 2, 3, 4 }, k2 = { 5, 6, 7, 8 }, got_k;
	char sha1[65], sha2[65], got_sha[65];

	sc = open_cache(&st, sha1, sha2);
	nf_store_statcache_preload(st, paths, 2);
	ck_assert(!sc->get(sc, "/w/a", &got_k, got_sha));
	ck_assert(!sc->get(sc, "/w/z", &got_k, got_sha));
	sc->put(sc, "/w/a", &k1, sha1);
	sc->put(sc, "/w/z", &k2, sha2);
	/* another handle's row since: not seen (a miss costs a re-hash, nothing more) */
	ck_assert_int_eq(nf_store_open(&other, dbpath, true), 0);
	osc = nf_store_statcache(other);
	osc->put(osc, "/w/b", &k2, sha2);
	nf_store_statcache_preload(st, paths, 2);   /* again: the table was empty, so still */
	ck_assert(sc->get(sc, "/w/a", &got_k, got_sha));
	ck_assert_int_eq(got_k.inode, 3);
	ck_assert_str_eq(got_sha, sha1);
	ck_assert(sc->get(sc, "/w/z", &got_k, got_sha));
	ck_assert_int_eq(got_k.ctime_ns, 8);
	ck_assert_str_eq(got_sha, sha2);
	ck_assert(!sc->get(sc, "/w/b", &got_k, got_sha));
	/* Many more puts than the preload named: each is found again, and a path not put is
	 * not (whatever the filter of the paths put answers, the table decides). */
	for (int i = 0; i < 3000; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/w/many/%d", i);
		sc->put(sc, p, &k1, i % 2 ? sha1 : sha2);
	}
	for (int i = 0; i < 6000; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/w/many/%d", i);
		ck_assert_msg(sc->get(sc, p, &got_k, got_sha) == (i < 3000), "%s", p);
		if (i < 3000)
			ck_assert_str_eq(got_sha, i % 2 ? sha1 : sha2);
	}
	nf_store_close(st);
	/* the puts reached the table: a new handle reads them, and /w/b too */
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	sc = nf_store_statcache(st);
	nf_store_statcache_preload(st, paths, 2);
	ck_assert(sc->get(sc, "/w/a", &got_k, got_sha));
	ck_assert_str_eq(got_sha, sha1);
	ck_assert(sc->get(sc, "/w/b", &got_k, got_sha));
	ck_assert_str_eq(got_sha, sha2);
	ck_assert(sc->get(sc, "/w/z", &got_k, got_sha));
	nf_store_close(other);
	nf_store_close(st);
}
END_TEST

#define NWIN 10000

static char *
win_path(int i)
{
	return xasprintf("/w/win/%05d", i);
}

static nf_statkey
win_key(int i)
{
	return (nf_statkey){ 10 + i, 3000LL * i, 90000 + i, 7000LL * i };
}

/* A table of NWIN rows written in order, and a store on it whose preload named them all
 * (as many rows as paths: read in windows). */
static nf_statcache *
win_cache(nf_store **st)
{
	char **pp = xcalloc(NWIN, sizeof(*pp));
	nf_statcache *sc;

	ck_assert_int_eq(nf_store_open(st, dbpath, true), 0);
	sc = nf_store_statcache(*st);
	sc->begin(sc);
	for (int i = 0; i < NWIN; i++) {
		nf_statkey k = win_key(i);
		char sha[65];

		pp[i] = win_path(i);
		sha_of(sha, i);
		sc->put(sc, pp[i], &k, sha);
	}
	sc->end(sc);
	nf_store_close(*st);
	ck_assert_int_eq(nf_store_open(st, dbpath, true), 0);
	sc = nf_store_statcache(*st);
	nf_store_statcache_preload(*st, (const char *const *)pp, NWIN);
	for (int i = 0; i < NWIN; i++)
		free(pp[i]);
	free(pp);
	return sc;
}

static void
ck_win_get(nf_statcache *sc, int i)
{
	char *p = win_path(i), sha[65], got_sha[65];
	nf_statkey want = win_key(i), seen;

	sha_of(sha, i);
	ck_assert_msg(sc->get(sc, p, &seen, got_sha), "%s", p);
	ck_assert_int_eq(seen.size, want.size);
	ck_assert_int_eq(seen.mtime_ns, want.mtime_ns);
	ck_assert_int_eq(seen.inode, want.inode);
	ck_assert_int_eq(seen.ctime_ns, want.ctime_ns);
	ck_assert_str_eq(got_sha, sha);
	free(p);
}

/* Looked up in the order the rows were written (a rerun's): every get is answered from a
 * window, and a few thousand rows are held at any time, not one per path (issue 15: 11 MB
 * at 100 000 outputs). */
START_TEST(test_statcache_windows_in_order)
{
	nf_store *st = NULL;
	nf_statcache *sc = win_cache(&st);
	unsigned long asked = nf_store_statcache_asked(st);
	size_t most = 0;

	for (int i = 0; i < NWIN; i++) {
		ck_win_get(sc, i);
		if (nf_store_statcache_held(st) > most)
			most = nf_store_statcache_held(st);
	}
	ck_assert_uint_eq(nf_store_statcache_asked(st) - asked, 0);
	ck_assert_uint_gt(most, 0);
	ck_assert_uint_le(most, NWIN / 3);
	nf_store_close(st);
}
END_TEST

/* In another order (backwards, then every seventh): the same answers, from the windows or
 * the table; absent paths miss; still a few thousand rows held. */
START_TEST(test_statcache_windows_other_order)
{
	nf_store *st = NULL;
	nf_statcache *sc = win_cache(&st);
	nf_statkey seen;
	char got_sha[65];

	for (int i = NWIN - 1; i >= 0; i--)
		ck_win_get(sc, i);
	for (int k = 0; k < NWIN; k++)
		ck_win_get(sc, (k * 7) % NWIN);
	ck_assert(!sc->get(sc, "/w/win/none", &seen, got_sha));
	ck_assert_uint_le(nf_store_statcache_held(st), NWIN / 3);
	nf_store_close(st);
}
END_TEST

/* A row a window holds follows this cache's puts (and not another handle's, as a preloaded
 * row); a path no window holds is asked of the table, which has another handle's rows. */
START_TEST(test_statcache_windows_put)
{
	nf_store *st = NULL, *other = NULL;
	nf_statcache *sc = win_cache(&st), *osc;
	nf_statkey k1 = { 1, 2, 3, 4 }, k2 = { 5, 6, 7, 8 }, seen;
	char sha1[65], sha2[65], got_sha[65];
	char *first = win_path(0), *last = win_path(NWIN - 1);
	unsigned long asked = nf_store_statcache_asked(st);

	sha_of(sha1, 1);
	sha_of(sha2, 2);
	sc->put(sc, first, &k1, sha1);
	ck_assert_int_eq(nf_store_open(&other, dbpath, true), 0);
	osc = nf_store_statcache(other);
	osc->put(osc, first, &k2, sha2);
	osc->put(osc, last, &k2, sha2);
	ck_assert(sc->get(sc, first, &seen, got_sha));
	ck_assert_int_eq(seen.inode, 3);
	ck_assert_str_eq(got_sha, sha1);
	ck_assert_uint_eq(nf_store_statcache_asked(st) - asked, 0);
	ck_assert(sc->get(sc, last, &seen, got_sha));
	ck_assert_int_eq(seen.inode, 7);
	ck_assert_str_eq(got_sha, sha2);
	ck_assert_uint_eq(nf_store_statcache_asked(st) - asked, 1);
	nf_store_close(other);
	nf_store_close(st);
	free(first);
	free(last);
}
END_TEST

/* The CPU per phase from the run's attempts read in one range: each phase's the sum of its
 * nodes' attempts (two attempts for some, none for cached ones), a gate's and another
 * run's attempts left out. */
START_TEST(test_phase_totals_attempts)
{
	enum { N = 40 };
	nf_store *st = NULL;
	static const nf_stage_more train = { .phase = "train" }, prep = { .phase = "prep" };
	nf_stage sa = { .kind = NF_STAGE, .name = "a", .more = &train };
	nf_stage sb = { .kind = NF_STAGE, .name = "b", .more = &prep };
	nf_stage sc = { .kind = NF_STAGE, .name = "c" };
	nf_stage sg = { .kind = NF_GATE, .name = "g" };
	nf_node nodes[N];
	char names[N][16];
	nf_graph g;
	int64_t runs[2];
	int64_t want[2][3] = { { 0 } };   /* per run: train, prep, other */
	const char *pn[3] = { "train", "prep", "other" };

	memset(nodes, 0, sizeof(nodes));
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "n%02d", i);
		nodes[i] = (nf_node){ .id = (size_t)i, .name = names[i],
				      .stage = i == N - 1 ? &sg : i % 3 == 0 ? &sa : i % 3 == 1 ? &sb : &sc };
	}
	g = (nf_graph){ .nodes = nodes, .nnodes = N };
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	for (int r = 0; r < 2; r++) {
		nf_run_info info = { .pipeline = (char *)"p", .file = (char *)"p.dag", .trigger = (char *)"manual" };

		ck_assert_int_eq(nf_store_run_begin(st, &info), 0);
		ck_assert_int_eq(nf_store_nodes_add(st, info.id, &g), 0);
		runs[r] = info.id;
		for (int i = 0; i < N; i++) {
			int natt = i % 5 == 0 ? 0 : i % 4 == 0 ? 2 : 1;

			if (natt == 0) {
				ck_assert_int_eq(nf_store_node_state(st, info.id, names[i], NF_ST_CACHED, 0, NULL, NULL, 0,
								     NULL, 5), 0);
				continue;
			}
			for (int a = 1; a <= natt; a++) {
				nf_job_result res = { .exited = true, .exit_code = a == natt ? 0 : 1,
						      .user_ms = 10 * i + a + r * 1000, .sys_ms = i + 100 * a };

				ck_assert_int_eq(nf_store_node_state(st, info.id, names[i], NF_ST_RUNNING, a, NULL, NULL,
								     0, NULL, 10), 0);
				ck_assert_int_eq(nf_store_node_state(st, info.id, names[i],
								     a == natt ? NF_ST_SUCCEEDED : NF_ST_FAILED, a, &res,
								     NULL, 0, NULL, 20), 0);
				if (i != N - 1)
					want[r][i % 3] += res.user_ms + res.sys_ms;
			}
		}
		ck_assert_int_eq(nf_store_flush(st), 0);
	}
	for (int r = 0; r < 2; r++) {
		nf_phase_row *rows = NULL;
		size_t n = 0;

		ck_assert_int_eq(nf_store_phase_totals(st, runs[r], &rows, &n), 0);
		ck_assert_uint_eq(n, 3);
		for (size_t i = 0; i < n; i++)
			for (int k = 0; k < 3; k++)
				if (!strcmp(rows[i].phase, pn[k]))
					ck_assert_int_eq(rows[i].cpu_ms, want[r][k]);
		nf_phase_row_list_free(rows, n);
	}
	nf_store_close(st);
}
END_TEST

/* A run whose node ids are far apart (another run's many nodes between them): its
 * attempts read node by node, the same sums. */
START_TEST(test_phase_totals_wide_ids)
{
	enum { NB = 1200 };
	nf_store *st = NULL;
	static const nf_stage_more train = { .phase = "train" };
	nf_stage sa = { .kind = NF_STAGE, .name = "a", .more = &train };
	nf_node first = { .id = 0, .stage = &sa, .name = "x" }, second = { .id = 0, .stage = &sa, .name = "y" };
	nf_node *many = xcalloc(NB, sizeof(*many));
	char (*names)[16] = xcalloc(NB, sizeof(*names));
	nf_graph g1 = { .nodes = &first, .nnodes = 1 }, g2 = { .nodes = &second, .nnodes = 1 };
	nf_graph gb;
	nf_run_info a = { .pipeline = (char *)"p", .file = (char *)"p.dag", .trigger = (char *)"manual" };
	nf_run_info b = a;
	nf_job_result rx = { .exited = true, .user_ms = 7, .sys_ms = 3 }, ry = { .exited = true, .user_ms = 20 };
	nf_phase_row *rows = NULL;
	size_t n = 0;

	for (int i = 0; i < NB; i++) {
		snprintf(names[i], sizeof(names[i]), "b%04d", i);
		many[i] = (nf_node){ .id = (size_t)i, .stage = &sa, .name = names[i] };
	}
	gb = (nf_graph){ .nodes = many, .nnodes = NB };
	ck_assert_int_eq(nf_store_open(&st, dbpath, true), 0);
	ck_assert_int_eq(nf_store_run_begin(st, &a), 0);
	ck_assert_int_eq(nf_store_nodes_add(st, a.id, &g1), 0);
	ck_assert_int_eq(nf_store_run_begin(st, &b), 0);
	ck_assert_int_eq(nf_store_nodes_add(st, b.id, &gb), 0);
	ck_assert_int_eq(nf_store_nodes_add(st, a.id, &g2), 0);
	ck_assert_int_eq(nf_store_node_state(st, a.id, "x", NF_ST_SUCCEEDED, 1, &rx, NULL, 0, NULL, 5), 0);
	ck_assert_int_eq(nf_store_node_state(st, a.id, "y", NF_ST_SUCCEEDED, 1, &ry, NULL, 0, NULL, 5), 0);
	ck_assert_int_eq(nf_store_node_state(st, b.id, "b0007", NF_ST_SUCCEEDED, 1, &ry, NULL, 0, NULL, 5), 0);
	ck_assert_int_eq(nf_store_flush(st), 0);
	ck_assert_int_eq(nf_store_phase_totals(st, a.id, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rows[0].phase, "train");
	ck_assert_int_eq(rows[0].nodes, 2);
	ck_assert_int_eq(rows[0].cpu_ms, 30);
	nf_phase_row_list_free(rows, n);
	nf_store_close(st);
	free(many);
	free(names);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("store_batch");
	TCase *tc = tcase_create("statcache");

	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_statcache_preload_few);
	tcase_add_test(tc, test_statcache_preload_most);
	tcase_add_test(tc, test_statcache_preload_memory_and_put);
	tcase_add_test(tc, test_statcache_preload_empty);
	tcase_add_test(tc, test_statcache_windows_in_order);
	tcase_add_test(tc, test_statcache_windows_other_order);
	tcase_add_test(tc, test_statcache_windows_put);
	suite_add_tcase(s, tc);
	tc = tcase_create("phases");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_phase_totals_attempts);
	tcase_add_test(tc, test_phase_totals_wide_ids);
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
