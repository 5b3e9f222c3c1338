/* check_memsize.c: what a 100 000-stage run holds per stage stays small (issue 15): the
 * sizes of the per-stage and per-node structs are bounded, and the streaming Merkle root
 * (merkle.c), which spares holding a run's record hashes, is the one the chain defines. */
#include "config.h"
#include "ntflow/dag.h"
#include "ntflow/gov.h"
#include "ntflow/graph.h"
#include "../../src/run/run-internal.h"

#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds, in bytes, on 64-bit hosts; growing past one is a decision for docs/scaling.md. */
#define STAGE_MAX 88
#define NODE_MAX 64
#define RUN_NODE_MAX 48

START_TEST(test_struct_sizes)
{
	if (sizeof(void *) != 8)
		return;
	ck_assert_msg(sizeof(nf_stage) <= STAGE_MAX, "nf_stage is %zu bytes (at most %d): put a rarely"
		      " written attribute in nf_stage_more", sizeof(nf_stage), STAGE_MAX);
	ck_assert_msg(sizeof(nf_node) <= NODE_MAX, "nf_node is %zu bytes (at most %d)", sizeof(nf_node), NODE_MAX);
	/* the run's own record of each node; what a node holds only while under way is in its
	 * nf_run_flight */
	ck_assert_msg(sizeof(nf_run_node) <= RUN_NODE_MAX, "nf_run_node is %zu bytes (at most %d)", sizeof(nf_run_node),
		      RUN_NODE_MAX);
	/* about ten a stage */
	ck_assert_uint_eq(sizeof(nf_loc), 8);
	/* the graph's edge lists hold 32-bit ids */
	ck_assert_uint_eq(sizeof(*((nf_node *)0)->deps), 4);
	ck_assert_uint_eq(sizeof(*((nf_graph *)0)->order), 4);
}
END_TEST

START_TEST(test_more_shared_when_unwritten)
{
	nf_stage s;
	nf_arena *a = nf_arena_new();
	nf_stage_more *m;

	memset(&s, 0, sizeof(s));
	ck_assert_ptr_eq(nf_more(&s), &nf_stage_more_none);
	ck_assert_uint_eq(nf_more(&s)->nforeach, 0);
	ck_assert_ptr_null(nf_more(&s)->description);
	m = nf_stage_more_mut(&s, a);
	ck_assert_ptr_ne(m, &nf_stage_more_none);
	m->nplots = 2;
	ck_assert_ptr_eq(nf_stage_more_mut(&s, a), m);
	ck_assert_uint_eq(nf_more(&s)->nplots, 2);
	ck_assert_uint_eq(nf_stage_more_none.nplots, 0);
	nf_arena_free(a);
}
END_TEST

/* A file of plain stages: none gets its own nf_stage_more. */
START_TEST(test_plain_stages_share_more)
{
	const char *src = "stage \"a\" {\n  run = \"true\"\n  outputs = [\"x\"]\n}\n"
			  "stage \"b\" {\n  run = \"true\"\n  needs = [\"a\"]\n}\n"
			  "stage \"c\" {\n  description = \"d\"\n  run = \"true\"\n}\n";
	nf_diag_list diags = NF_DIAG_LIST_INIT;
	nf_dag *dag = NULL;

	ck_assert_int_eq(nf_dag_parse(&dag, "t.dag", src, strlen(src), &diags), 0);
	ck_assert_uint_eq(dag->nstages, 3);
	ck_assert_ptr_null(dag->stages[0].more);
	ck_assert_ptr_null(dag->stages[1].more);
	ck_assert_ptr_nonnull(dag->stages[2].more);
	ck_assert_str_eq(nf_more(&dag->stages[2])->description, "d");
	nf_dag_free(dag);
	nf_diag_list_release(&diags);
}
END_TEST

static void
leaf_hex(char out[65], size_t i)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char in[32];
	int n = snprintf(in, sizeof(in), "leaf %zu", i);

	EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	for (int k = 0; k < 32; k++)
		snprintf(out + 2 * k, 3, "%02x", md[k]);
}

/* Every count from 0 to 1000 (odd ones, powers of two and their neighbours among them). */
START_TEST(test_merkle_streaming_equals_batch)
{
	enum { N = 1000 };
	char (*hex)[65] = xcalloc(N, sizeof(*hex));
	const char **hs = xcalloc(N, sizeof(*hs));
	char want[65], got[65];
	nf_merkle m;

	for (size_t i = 0; i < N; i++) {
		leaf_hex(hex[i], i);
		hs[i] = hex[i];
	}
	for (size_t n = 0; n <= N; n++) {
		nf_merkle_init(&m);
		for (size_t i = 0; i < n; i++)
			ck_assert_int_eq(nf_merkle_add_hex(&m, hs[i]), 0);
		ck_assert_int_eq(nf_audit_merkle_root(want, hs, n), 0);
		nf_merkle_root(&m, got);
		ck_assert_msg(strcmp(want, got) == 0, "%zu leaves: streaming %s, batch %s", n, got, want);
	}
	free(hs);
	free(hex);
}
END_TEST

START_TEST(test_merkle_bad_hash)
{
	nf_merkle m;
	char h[66];

	nf_merkle_init(&m);
	ck_assert_int_eq(nf_merkle_add_hex(&m, ""), NF_ECORRUPT);
	ck_assert_int_eq(nf_merkle_add_hex(&m, NULL), NF_ECORRUPT);
	memset(h, 'a', 64);
	h[64] = '\0';
	h[10] = 'A';   /* upper case is not the chain's form */
	ck_assert_int_eq(nf_merkle_add_hex(&m, h), NF_ECORRUPT);
	h[10] = 'a';
	h[64] = 'b';
	h[65] = '\0';   /* 65 digits */
	ck_assert_int_eq(nf_merkle_add_hex(&m, h), NF_ECORRUPT);
	ck_assert_uint_eq(m.n, 0);
	h[64] = '\0';
	ck_assert_int_eq(nf_merkle_add_hex(&m, h), 0);
	ck_assert_uint_eq(m.n, 1);
}
END_TEST

/* A loc names its file by number: the same path, wherever its string lives, is one
 * number; none is 0; a column past 65535 is held as 65535. */
START_TEST(test_loc_files)
{
	char copy[] = "dags/a.dag";
	nf_loc a = nf_loc_at("dags/a.dag", 3, 7), b = nf_loc_at(copy, 4, 1), c = nf_loc_at("dags/b.dag", 1, 1);
	nf_loc none = nf_loc_at(NULL, 0, 0), wide = nf_loc_at("dags/a.dag", 1, 70000);

	ck_assert_uint_eq(a.file, b.file);
	ck_assert_uint_ne(a.file, c.file);
	ck_assert_str_eq(nf_loc_file(a), "dags/a.dag");
	ck_assert_str_eq(nf_loc_file(c), "dags/b.dag");
	copy[0] = 'x';   /* the table keeps its own copy */
	ck_assert_str_eq(nf_loc_file(b), "dags/a.dag");
	ck_assert_int_eq(a.line, 3);
	ck_assert_int_eq(a.col, 7);
	ck_assert_uint_eq(none.file, 0);
	ck_assert_ptr_null(nf_loc_file(none));
	ck_assert_int_eq(wide.col, 65535);
}
END_TEST

/* Digests held as bytes (a node's output digest, a Merkle leaf) write back as the same text;
 * text that would not (upper case, short) is refused, and so kept as text. */
START_TEST(test_hex_round_trip)
{
	const char *h = "00ff10a5b7c9d2e3f4a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b";
	unsigned char raw[32];
	char back[65];

	ck_assert_int_eq(nf_hex_decode(raw, sizeof(raw), h), 0);
	ck_assert_uint_eq(raw[0], 0x00);
	ck_assert_uint_eq(raw[1], 0xff);
	nf_hex_encode(back, raw, sizeof(raw));
	ck_assert_str_eq(back, h);
	ck_assert_int_eq(nf_hex_decode(raw, sizeof(raw), "00FF10a5b7c9d2e3f4a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b"), -1);
	ck_assert_int_eq(nf_hex_decode(raw, sizeof(raw), "00ff"), -1);
	ck_assert_int_eq(nf_hex_decode(raw, sizeof(raw), ""), -1);
}
END_TEST

/* The 16-byte slots recompute a key's hash when the map grows: every key still found. */
START_TEST(test_strmap_grow)
{
	enum { N = 5000 };
	nf_strmap *map = nf_strmap_new(1);
	char (*keys)[16] = xcalloc(N, sizeof(*keys));

	for (size_t i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "s%zu_%zu", i / 100, i % 100);
		ck_assert_ptr_null(nf_strmap_put(map, keys[i], &keys[i]));
	}
	ck_assert_uint_eq(nf_strmap_count(map), N);
	for (size_t i = 0; i < N; i++)
		ck_assert_ptr_eq(nf_strmap_get(map, keys[i]), &keys[i]);
	ck_assert_ptr_null(nf_strmap_get(map, "s50_0"));
	ck_assert_ptr_eq(nf_strmap_put(map, keys[7], NULL), &keys[7]);
	ck_assert_uint_eq(nf_strmap_count(map), N);
	nf_strmap_free(map);
	free(keys);
}
END_TEST

static Suite *
memsize_suite(void)
{
	Suite *s = suite_create("memsize");
	TCase *tc = tcase_create("memsize");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_struct_sizes);
	tcase_add_test(tc, test_more_shared_when_unwritten);
	tcase_add_test(tc, test_plain_stages_share_more);
	tcase_add_test(tc, test_merkle_streaming_equals_batch);
	tcase_add_test(tc, test_merkle_bad_hash);
	tcase_add_test(tc, test_loc_files);
	tcase_add_test(tc, test_hex_round_trip);
	tcase_add_test(tc, test_strmap_grow);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(memsize_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
